"""`/hub invite <email|username> [--team <team>] [--role <role>]`: invite someone to the org.

The plan asks Docker Hub for a dry run of the invite, which changes nothing and says what it would
do with each invitee; the approval message shows that verdict.
"""

from __future__ import annotations

from handlers import blocks as bk
from handlers.changes.fields import MemberRef, Role, Team
from handlers.changes.preconditions import is_owners_team, planned_team
from handlers.context import HandlerContext
from handlers.grammar import member_ref, positional, reject_unknown_options, role, take_option
from handlers.members import invite_line, matching_invites
from handlers.requests.kind import ChangeKind, ChangeRefused, Outcome, Params, Plan
from hub import paths
from hub.models import BulkInviteResult

DRY_RUN_STATUS = {
    "invited": "would be invited",
    "existing_org_member": "is already a member of the org",
    "invalid_email_or_docker_id": "is not a valid email or Docker ID (says Docker Hub)",
}


class InviteParams(Params):
    invitee: MemberRef
    team: Team | None = None
    role: Role | None = None
    team_id: int | None = None
    """The team's id when planned: the invite goes into that team only (None: no team, or stored before)."""


def status_words(status: str) -> str:
    return DRY_RUN_STATUS.get(status, f"Docker Hub says {bk.code(status, 60)}")


async def _refuse_if_pending(ctx: HandlerContext, invitee: str) -> None:
    # A second invite for a pending invitee would at best resend the first; say what exists instead.
    pending = matching_invites(await ctx.hub.list_invites(), invitee)
    if pending:
        raise ChangeRefused(
            f"{bk.code(invitee)} already has a pending invite ({invite_line(pending[0])}). "
            f"To invite them differently, cancel it first: {bk.code(f'/hub invite cancel {invitee}', 200)}"
        )


def _refuse_status(ctx: HandlerContext, result: BulkInviteResult, team: str | None) -> None:
    """Refuse unless Docker Hub says this invitee is (or would be) invited."""
    if result.status == "invited":
        return
    who = bk.code(result.invitee)
    if result.status == "existing_org_member":
        add = bk.code(f"/hub team add {team or '<team>'} {result.invitee}", 200)
        raise ChangeRefused(
            f"{who} is already a member of *{bk.escape(ctx.instance)}*; to put them in a team, use {add}"
        )
    raise ChangeRefused(f"{who} {status_words(result.status)}; nothing was sent.")


class InviteChange(ChangeKind[InviteParams]):
    name = "invite"
    command = "invite"
    usage = "invite <email|username> [--team <team>] [--role <role>]"
    description = "Invite someone to the org"
    examples = ("/hub invite ada@acme.example --team backend",)
    params_model = InviteParams

    def parse(self, args: list[str]) -> InviteParams:
        spec = self.syntax
        args, invite_team = take_option(args, "--team", spec)
        args, invite_role = take_option(args, "--role", spec)
        reject_unknown_options(spec, args)
        (invitee,) = positional(spec, args, 1, "one email or username")
        return InviteParams(
            invitee=member_ref(invitee),
            team=paths.team(invite_team) if invite_team is not None else None,
            role=role(invite_role) if invite_role is not None else None,
        )

    def destructive(self, params: InviteParams) -> bool:
        # An owner invite hands out the owner role on acceptance: as destructive as `role … owner`.
        return params.role == "owner" or is_owners_team(params.team)

    async def _check(self, ctx: HandlerContext, params: InviteParams) -> InviteParams:
        group = await planned_team(ctx, params.team, params.team_id) if params.team is not None else None
        await _refuse_if_pending(ctx, params.invitee)
        return InviteParams(
            invitee=params.invitee,
            team=group.name if group is not None else None,
            role=params.role,
            team_id=group.id if group is not None else None,
        )

    async def plan(self, ctx: HandlerContext, params: InviteParams) -> Plan:
        checked = await self._check(ctx, params)
        invitee, team, role = checked.invitee, checked.team, checked.role
        results = await ctx.hub.bulk_invite([invitee], team=team, role=role, dry_run=True)
        if not results:
            raise ChangeRefused(f"Docker Hub's dry run said nothing about {bk.code(invitee)}; try again later.")
        details = [f"{bk.code(result.invitee)} {status_words(result.status)}" for result in results]
        for result in results:
            _refuse_status(ctx, result, team)
        summary = f"Invite {bk.code(invitee)} to *{bk.escape(ctx.instance)}*"
        if team is not None:
            summary += f", into team *{bk.escape(team)}*"
        if role is not None:
            summary += f", as {role}"
        return Plan(summary=summary, params=checked, details=details)

    async def execute(self, ctx: HandlerContext, params: InviteParams) -> Outcome:
        checked = await self._check(ctx, params)
        invitee, team, role = checked.invitee, checked.team, checked.role
        results = await ctx.hub.bulk_invite([invitee], team=team, role=role)
        result = next((r for r in results if r.invitee.lower() == invitee.lower()), None)
        if result is None:
            raise ChangeRefused(f"Docker Hub's answer did not mention {bk.code(invitee)}; see `/hub invites`.")
        # Docker Hub checks membership itself when it invites: a member who joined since the plan is
        # reported here, and nothing is sent.
        _refuse_status(ctx, result, team)
        invite_id = result.invite.id if result.invite is not None else None
        return Outcome(
            f"Invited {bk.code(invitee)} to *{bk.escape(ctx.instance)}*",
            {"invitee": invitee, "team": team, "role": role, "status": result.status, "invite_id": invite_id},
        )

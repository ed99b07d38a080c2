"""`/hub invite <email|username> … [--team <team>] [--role <role>]`: invite people to the org.

Up to 100 invitees in one request, through Docker Hub's bulk invite (`POST /v2/invites/bulk`). The
plan asks for a dry run of it, which changes nothing and says what it would do with each invitee;
the approval message shows that verdict per invitee and names whoever cannot be invited (already a
member, a pending invite, not a valid email or Docker ID), who are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, model_validator

from handlers import blocks as bk
from handlers.changes import bulk
from handlers.changes.fields import MemberRef, Role, Team
from handlers.changes.preconditions import is_owners_team, planned_team
from handlers.context import HandlerContext
from handlers.grammar import member_ref, reject_unknown_options, role, take_option
from handlers.members import invite_line, matching_invites
from handlers.requests.kind import ChangeKind, ChangeRefused, Outcome, Params, Plan
from hub import paths
from hub.errors import HubError
from hub.models import BulkInviteResult, Invite, OrgGroup

DRY_RUN_STATUS = {
    "invited": "would be invited",
    "existing_org_member": "is already a member of the org",
    "invalid_email_or_docker_id": "is not a valid email or Docker ID (says Docker Hub)",
}


NOT_INVITEES = frozenset({"resend", "list", "show", "delete", "remove", "revoke", "accept", "decline"})
"""Words that read as an `invite` subcommand, not as a Docker ID: `/hub invite resend ada@…` is "no such
command" rather than an invite for someone called resend (such a person is invited by email)."""


class InviteParams(Params):
    invitees: list[MemberRef] = Field(min_length=1, max_length=bulk.MAX_ITEMS)
    team: Team | None = None
    role: Role | None = None
    team_id: int | None = None
    """The team's id when planned: the invite goes into that team only (None: no team, or stored before)."""

    @model_validator(mode="before")
    @classmethod
    def _one_invitee(cls, data: Any) -> Any:
        # Requests stored before an invite took several people named one `invitee`.
        return bulk.single_or_list(data, "invitee", "invitees")


def status_words(status: str) -> str:
    return DRY_RUN_STATUS.get(status, f"Docker Hub says {bk.code(status, 60)}")


def _pending_reason(invitee: str, pending: Invite) -> str:
    # A second invite for a pending invitee would at best resend the first; say what exists instead.
    return (
        f"{bk.code(invitee)} already has a pending invite ({invite_line(pending)}). "
        f"To invite them differently, cancel it first: {bk.code(f'/hub invite cancel {invitee}', 200)}"
    )


def _status_reason(ctx: HandlerContext, result: BulkInviteResult, team: str | None) -> str | None:
    """Why Docker Hub would not invite this invitee; None when it is (or would be) invited."""
    if result.status == "invited":
        return None
    who = bk.code(result.invitee)
    if result.status == "existing_org_member":
        add = bk.code(f"/hub team add {team or '<team>'} {result.invitee}", 200)
        return f"{who} is already a member of *{bk.escape(ctx.instance)}*; to put them in a team, use {add}"
    return f"{who} {status_words(result.status)}; nothing was sent."


def _by_invitee(results: list[BulkInviteResult]) -> dict[str, BulkInviteResult]:
    return {result.invitee.strip().lower(): result for result in results}


class InviteChange(ChangeKind[InviteParams]):
    name = "invite"
    command = "invite"
    usage = "invite <email|username> … [--team <team>] [--role <role>]"
    description = "Invite people to the org (up to 100 at once)"
    examples = ("/hub invite ada@acme.example --team backend", "/hub invite ada@acme.example grace@acme.example")
    params_model = InviteParams

    def parse(self, args: list[str]) -> InviteParams:
        spec = self.syntax
        args, invite_team = take_option(args, "--team", spec)
        args, invite_role = take_option(args, "--role", spec)
        reject_unknown_options(spec, args)
        if len(args) > 1 and args[0].lower() in NOT_INVITEES:
            raise self.usage_error(f"invite {args[0].lower()} is not a command")
        return InviteParams(
            invitees=bulk.parse_items(spec, args, member_ref, "one email or username"),
            team=paths.team(invite_team) if invite_team is not None else None,
            role=role(invite_role) if invite_role is not None else None,
        )

    def destructive(self, params: InviteParams) -> bool:
        # An owner invite hands out the owner role on acceptance: as destructive as `role … owner`.
        return params.role == "owner" or is_owners_team(params.team)

    async def _team(self, ctx: HandlerContext, params: InviteParams) -> OrgGroup | None:
        return await planned_team(ctx, params.team, params.team_id) if params.team is not None else None

    async def _pending(self, ctx: HandlerContext, invitees: list[str]) -> dict[str, Invite]:
        invites = await ctx.hub.list_invites()
        return {invitee: found[0] for invitee in invitees if (found := matching_invites(invites, invitee))}

    async def plan(self, ctx: HandlerContext, params: InviteParams) -> Plan:
        group = await self._team(ctx, params)
        team = group.name if group is not None else None
        pending = await self._pending(ctx, params.invitees)
        skipped = [
            bulk.Skipped(invitee, _pending_reason(invitee, pending[invitee]))
            for invitee in params.invitees
            if invitee in pending
        ]
        asked = [invitee for invitee in params.invitees if invitee not in pending]
        verdicts: list[str] = []
        invite: list[str] = []
        if asked:
            results = _by_invitee(await ctx.hub.bulk_invite(asked, team=team, role=params.role, dry_run=True))
            for invitee in asked:
                result = results.get(invitee.lower())
                if result is None:
                    skipped.append(
                        bulk.Skipped(
                            invitee, f"Docker Hub's dry run said nothing about {bk.code(invitee)}; try again later."
                        )
                    )
                    continue
                verdicts.append(f"{bk.code(result.invitee)} {status_words(result.status)}")
                reason = _status_reason(ctx, result, team)
                if reason is None:
                    invite.append(invitee)
                else:
                    skipped.append(bulk.Skipped(invitee, reason))
        bulk.report(len(params.invitees), len(params.invitees))
        if not invite:
            # In the order asked, as a lone invitee's refusal reads.
            order = {invitee: index for index, invitee in enumerate(params.invitees)}
            raise ChangeRefused(bulk.refuse_all(sorted(skipped, key=lambda s: order[s.item])))
        where = ""
        if team is not None:
            where += f", into team *{bk.escape(team)}*"
        if params.role is not None:
            where += f", as {params.role}"
        if len(invite) == 1:
            summary = f"Invite {bk.code(invite[0])} to *{bk.escape(ctx.instance)}*{where}"
        else:
            summary = f"Invite {len(invite)} people to *{bk.escape(ctx.instance)}*{where}"
        details = bulk.limited_lines(verdicts, 1200) if len(verdicts) > 1 else verdicts
        if len(verdicts) > 1:
            details.insert(0, "Docker Hub's dry run:")
        # Invitees the dry run refused are in its verdicts already; name only the others twice.
        details += bulk.skipped_lines(skipped, 1000)
        return Plan(
            summary=summary,
            params=InviteParams(
                invitees=invite, team=team, role=params.role, team_id=group.id if group is not None else None
            ),
            details=details,
        )

    async def execute(self, ctx: HandlerContext, params: InviteParams) -> Outcome:
        return await self._run(ctx, params, params.invitees, [])

    async def execute_again(self, ctx: HandlerContext, params: InviteParams, previous: Mapping[str, Any]) -> Outcome:
        return await bulk.retry_failed(
            previous, lambda: self.execute(ctx, params), lambda items, earlier: self._run(ctx, params, items, earlier)
        )

    async def _run(
        self, ctx: HandlerContext, params: InviteParams, invitees: list[str], earlier: list[bulk.ItemOutcome]
    ) -> Outcome:
        group = await self._team(ctx, params)
        team = group.name if group is not None else None
        lone = len(invitees) + len(earlier) == 1
        pending = await self._pending(ctx, invitees)
        if lone and pending:
            raise ChangeRefused(_pending_reason(invitees[0], pending[invitees[0]]))
        outcomes = {
            invitee: bulk.ItemOutcome(invitee, bulk.ItemStatus.ALREADY, f"{bk.code(invitee)} has a pending invite")
            for invitee in pending
        }
        send = [invitee for invitee in invitees if invitee not in pending]
        if send:
            # One request for all of them: Docker Hub's bulk invite checks each invitee itself (a member
            # who joined since the plan is reported, and nothing is sent to them).
            try:
                results = _by_invitee(await ctx.hub.bulk_invite(send, team=team, role=params.role))
            except HubError as error:
                if lone:
                    raise
                # One request for all: its failure is each one's, and a Retry sends them again.
                results = {}
                for invitee in send:
                    outcomes[invitee] = bulk.ItemOutcome(invitee, bulk.ItemStatus.FAILED, bk.escape(error.message))
                send = []
            for invitee in send:
                result = results.get(invitee.lower())
                if result is None:
                    outcomes[invitee] = bulk.ItemOutcome(
                        invitee,
                        bulk.ItemStatus.FAILED,
                        f"Docker Hub's answer did not mention {bk.code(invitee)}; see `/hub invites`.",
                    )
                    continue
                reason = _status_reason(ctx, result, team)
                if reason is not None:
                    outcomes[invitee] = bulk.ItemOutcome(
                        invitee, bulk.ItemStatus.FAILED, reason, {"hub_status": result.status}
                    )
                else:
                    invite_id = result.invite.id if result.invite is not None else None
                    outcomes[invitee] = bulk.ItemOutcome(
                        invitee, bulk.ItemStatus.DONE, extra={"hub_status": result.status, "invite_id": invite_id}
                    )
        bulk.report(len(invitees), len(invitees))

        async def recorded(invitee: str) -> bulk.ItemOutcome:
            return outcomes[invitee]

        def one(outcome: bulk.ItemOutcome) -> str:
            return f"Invited {bk.code(outcome.item)} to *{bk.escape(ctx.instance)}*"

        return await bulk.execute_items(
            invitees,
            recorded,
            earlier,
            what=f"Invited to *{bk.escape(ctx.instance)}*",
            shown=bk.code,
            fields={"team": team, "role": params.role},
            one=one,
        )

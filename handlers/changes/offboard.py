"""Offboarding: `/hub offboard <email|username>` removes a person from the org and cancels their invites.

The approval message lists everything found for the person (membership with role and teams, pending
invites); on approval hubkeeper removes them from the org, which removes them from every team too,
then cancels each invite, and reports exactly what it did. A failure part-way never hides what was
already done: every step is tried, and PartlyApplied lists what was and was not done. A Retry
(which plans nothing, it re-reads the org) finishes whatever is left.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import Field, field_validator

from handlers import blocks as bk
from handlers.changes.preconditions import refuse_last_owner
from handlers.context import HandlerContext
from handlers.grammar import member_ref, positional, reject_unknown_options
from handlers.requests.kind import (
    Affected,
    ChangeKind,
    ChangeRefused,
    Outcome,
    Params,
    PartlyApplied,
    Plan,
    Refusal,
    record_step,
)
from hub.errors import BadRequest, HubError, InvalidInput, NotFound
from hub.models import Invite, OrgMember


class OffboardParams(Params):
    who: str = ""
    """The email or Docker ID as asked."""
    username: str | None = None
    """The org member the plan found (None: pending invites only)."""
    teams: list[str] = Field(default_factory=list)
    invite_ids: list[str] = Field(default_factory=list)

    @field_validator("who")
    @classmethod
    def _who(cls, value: str) -> str:
        who = value.strip()
        if not who:
            raise Refusal("Say who to offboard: `/hub offboard email-or-username`.")
        try:
            return member_ref(who)
        except InvalidInput as error:
            raise Refusal(bk.escape(error.message)) from None


@dataclass(frozen=True)
class Found:
    """What the org holds for one person right now."""

    who: str
    member: OrgMember | None
    invites: list[Invite]


async def _find(ctx: HandlerContext, who: str, member: OrgMember | None = None) -> Found:
    """The member `who` names (unless given) and every pending invite for them."""
    if member is None:
        member = await ctx.hub.find_member(who)
        if member is not None and member.is_invitee:
            member = None  # a pending invite listed among members; it is handled as an invite below
    # Invites name an email or a Docker ID; the person's other identifier counts too, so offboarding
    # by username also cancels an invite sent to their email (and the other way round).
    names = {who.lower()}
    if member is not None:
        names |= {name.lower() for name in (member.username, member.email) if name}
    invites = [invite for invite in await ctx.hub.list_invites() if invite.invitee.lower() in names]
    return Found(who, member, invites)


def _teams(member: OrgMember) -> str:
    return ", ".join(f"*{bk.escape(team)}*" for team in sorted(member.groups, key=str.lower)) or "no teams"


def _invite_line(invite: Invite) -> str:
    team = f"team *{bk.escape(invite.team)}*" if invite.team else "no team"
    by = f", invited by *{bk.escape(invite.inviter_username)}*" if invite.inviter_username else ""
    on = f" on {bk.date(invite.created_at)}" if invite.created_at else ""
    return f"Pending invite for {bk.code(invite.invitee)} ({team}{by}{on})"


def _details(ctx: HandlerContext, found: Found) -> list[str]:
    lines: list[str] = []
    if found.member is not None:
        member = found.member
        email = f" ({bk.code(member.email)})" if member.email else ""
        lines.append(
            f"Org member *{bk.escape(member.username)}*{email}: role *{bk.escape(member.role_key)}*, "
            f"teams: {_teams(member)}. Removing them from the org removes them from every team."
        )
        if ctx.hub.connection.pat_username and ctx.hub.connection.pat_username.lower() == member.username.lower():
            lines.append(
                ":warning: hubkeeper's own PAT belongs to this account: its repository operations stop working "
                "once the account leaves the org."
            )
    else:
        lines.append(f"No org member matches {bk.code(found.who)}.")
    lines += [_invite_line(invite) for invite in found.invites]
    return lines


def _summary(org: str, found: Found) -> str:
    parts: list[str] = []
    if found.member is not None:
        teams = bk.plural(len(found.member.groups), "team")
        parts.append(f"remove *{bk.escape(found.member.username)}* from the org (and so from {teams})")
    if found.invites:
        parts.append(f"cancel {bk.plural(len(found.invites), 'pending invite')}")
    return f"Offboard {bk.code(found.who)} from *{bk.escape(org)}*: {' and '.join(parts)}"


class Offboard(ChangeKind[OffboardParams]):
    """`offboard`: remove someone from the org and cancel their pending invites."""

    name = "offboard"
    command = "offboard"
    usage = "offboard <email|username> --reason <text…>"
    description = "Remove a leaver: org, teams, invites"
    examples = ("/hub offboard ivanpetrov --reason last day today",)
    reason_required = True
    params_model = OffboardParams

    def parse(self, args: list[str]) -> OffboardParams:
        reject_unknown_options(self.syntax, args)
        (who,) = positional(self.syntax, args, 1, "one email or username")
        return OffboardParams(who=member_ref(who))

    def destructive(self, params: OffboardParams) -> bool:
        return True

    async def plan(self, ctx: HandlerContext, params: OffboardParams) -> Plan:
        who = params.who
        found = await _find(ctx, who)
        if found.member is None and not found.invites:
            raise ChangeRefused(
                f"Nobody in *{bk.escape(ctx.hub.org)}* matches {bk.code(who)}: no org member and no pending invite. "
                "Check the spelling; `/hub members` and `/hub invites` list who is there."
            )
        if found.member is not None and found.member.role_key == "owner":
            await refuse_last_owner(ctx, found.member.username, "be offboarded")
        return Plan(
            summary=_summary(ctx.hub.org, found),
            details=_details(ctx, found),
            params=OffboardParams(
                who=who,
                username=found.member.username if found.member is not None else None,
                teams=list(found.member.groups) if found.member is not None else [],
                invite_ids=[invite.id for invite in found.invites],
            ),
        )

    def affected(self, params: OffboardParams, result: Mapping[str, Any]) -> list[Affected]:
        email = result.get("email")
        # Only a removed member is told (an invite cancelled gave no access); the listing no longer has them.
        if not result.get("removed") or not isinstance(email, str) or not email:
            return []
        return [Affected("you were offboarded: removed from the organization and all its teams", email=email)]

    async def execute(self, ctx: HandlerContext, params: OffboardParams) -> Outcome:
        who = params.who
        planned = params.username or None
        found = await _find(ctx, who)
        if planned is not None and found.member is None and "@" in who:
            # The approved account may have changed its email since: look it up by username as well.
            by_name = await ctx.hub.find_member(planned)
            if by_name is not None and not by_name.is_invitee:
                found = await _find(ctx, who, by_name)
        member = found.member
        if member is not None and member.username.lower() != (planned or "").lower():
            # The approval named one account (or none); someone else answers to it now: ask again for them.
            raise ChangeRefused(
                f"This was approved for {'*' + bk.escape(planned) + '*' if planned else 'pending invites only'}, "
                f"but {bk.code(who)} is now org member *{bk.escape(member.username)}*. Nothing was changed; ask again."
            )
        if member is not None and member.role_key == "owner":
            await refuse_last_owner(ctx, member.username, "be offboarded")
        done: list[str] = []
        failed: list[str] = []
        result: dict[str, Any] = {"who": who, "removed": None, "cancelled": [], "failed": []}
        # Membership first: it is what gives access; a pending invite gives none until accepted.
        if member is not None:
            name = f"*{bk.escape(member.username)}*"
            try:
                await ctx.hub.remove_member(member.username)
                done.append(f"removed {name} from the org (and so from {_teams(member)})")
                result["removed"] = member.username
                result["email"] = member.email
                await record_step(ctx, done[-1])
            except NotFound:
                done.append(f"{name} was no longer an org member")
            except BadRequest as error:
                failed.append(f"removing {name} from the org: Docker Hub refused ({bk.escape(error.message)})")
            except HubError as error:
                failed.append(f"removing {name} from the org: {bk.escape(error.message)}")
        elif planned is not None:
            done.append(f"*{bk.escape(planned)}* was no longer an org member")
        for invite in found.invites:
            line = f"the invite for {bk.code(invite.invitee)}"
            try:
                await ctx.hub.cancel_invite(invite.id)
                done.append(f"cancelled {line}")
                result["cancelled"].append(invite.id)
                await record_step(ctx, done[-1])
            except NotFound:
                done.append(f"{line} was already gone")
            except HubError as error:
                failed.append(f"cancelling {line}: {bk.escape(error.message)}")
        if failed:
            # Every step was tried; the error keeps what did happen next to what did not.
            raise PartlyApplied(f"Offboarding {bk.code(who)}", done, failed)
        if not done:
            return Outcome(
                summary=f"Nothing left to do: {bk.code(who)} is neither an org member nor invited any more.",
                result=result,
            )
        return Outcome(summary=f"Offboarded {bk.code(who)}: {'; '.join(done)}.", result=result)

"""`/hub invites`: pending invites, oldest first, because the old ones are what need a decision.

Also the `invite` and `invite_cancel` change kinds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from handlers import blocks as bk
from handlers import commands
from handlers.context import Block, HandlerContext, Reply
from handlers.members import invite_line, matching_invites
from handlers.requests.kind import ChangeRefused, Outcome, Plan, register
from handlers.teams import existing_team, optional_param, param
from hub import paths
from hub.errors import NotFound
from hub.models import BulkInviteResult, Invite

STALE_AFTER = timedelta(days=30)


def invite_row(invite: Invite, now: datetime) -> str:
    inviter = f"by *{bk.escape(invite.inviter_username)}*" if invite.inviter_username else "inviter unknown"
    team = f"team *{bk.escape(invite.team)}*" if invite.team else "no team"
    role = f" · as {bk.escape(invite.role.lower())}" if invite.role else ""
    if invite.created_at is None:
        waiting = "age unknown"
    else:
        waiting = f"{bk.age(invite.created_at, now)} ({bk.date(invite.created_at)})"
        if now - invite.created_at >= STALE_AFTER:
            waiting += " :hourglass:"
    return f"• {bk.code(invite.invitee)} — {waiting} · {inviter} · {team}{role}"


def _oldest_first(invite: Invite) -> tuple[bool, datetime]:
    # Unknown ages go last: we cannot say they are old.
    created = invite.created_at
    return (created is None, created or datetime.max.replace(tzinfo=UTC))


def render_invites(org: str, invites: Sequence[Invite], now: datetime | None = None) -> Reply:
    now = now or datetime.now(UTC)
    ordered = sorted(invites, key=_oldest_first)
    head: list[Block] = [bk.header(f"Pending invites in {bk.clip(org, 100)}")]
    if not ordered:
        head.append(bk.section(f"No pending invites in *{bk.escape(org)}*."))
        return bk.reply(head)
    stale = sum(1 for i in ordered if i.created_at is not None and now - i.created_at >= STALE_AFTER)
    summary = f"{bk.plural(len(ordered), 'pending invite')}, oldest first"
    if stale:
        summary += f" · :hourglass: {stale:,} waiting more than {STALE_AFTER.days} days"
    head.append(bk.context(summary))
    blocks = bk.list_blocks(head, [invite_row(i, now) for i in ordered], not_shown="{n} newer invites not shown")
    return bk.reply(blocks)


async def invites(ctx: HandlerContext) -> Reply:
    return render_invites(ctx.instance, await ctx.hub.list_invites(), datetime.now(UTC))


# -- changes: invite, cancel an invite ---------------------------------------------------------

DRY_RUN_STATUS = {
    "invited": "would be invited",
    "existing_org_member": "is already a member of the org",
    "invalid_email_or_docker_id": "is not a valid email or Docker ID (says Docker Hub)",
}


def _status_words(status: str) -> str:
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
    raise ChangeRefused(f"{who} {_status_words(result.status)}; nothing was sent.")


class InviteChange:
    name = "invite"

    async def _check(self, ctx: HandlerContext, params: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
        invitee = param(params, "invitee", commands.member_ref)
        team = optional_param(params, "team", paths.team)
        role = optional_param(params, "role", commands.role)
        if team is not None:
            team = (await existing_team(ctx, team)).name
        await _refuse_if_pending(ctx, invitee)
        return invitee, team, role

    async def plan(self, ctx: HandlerContext, params: Mapping[str, Any]) -> Plan:
        invitee, team, role = await self._check(ctx, params)
        # The dry run is Docker Hub's own verdict on each invitee; it changes nothing (API-NOTES §9).
        results = await ctx.hub.bulk_invite([invitee], team=team, role=role, dry_run=True)
        if not results:
            raise ChangeRefused(f"Docker Hub's dry run said nothing about {bk.code(invitee)}; try again later.")
        details = [f"{bk.code(result.invitee)} {_status_words(result.status)}" for result in results]
        for result in results:
            _refuse_status(ctx, result, team)
        summary = f"Invite {bk.code(invitee)} to *{bk.escape(ctx.instance)}*"
        if team is not None:
            summary += f", into team *{bk.escape(team)}*"
        if role is not None:
            summary += f", as {role}"
        return Plan(
            summary=summary,
            params={"invitee": invitee, "team": team, "role": role},
            # An owner invite hands out the owner role on acceptance: as destructive as `role … owner`.
            destructive=role == "owner",
            details=details,
        )

    async def execute(self, ctx: HandlerContext, params: Mapping[str, Any]) -> Outcome:
        invitee, team, role = await self._check(ctx, params)
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


def _invite_ids(params: Mapping[str, Any]) -> list[str] | None:
    raw = params.get("invite_ids")
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw:
        raise ChangeRefused("The request's invite ids are not valid; ask again.")
    return [param({"invite id": value}, "invite id", paths.invite_id) for value in raw]


def _matching(invites: Sequence[Invite], invitee: str) -> list[Invite]:
    """The pending invites `invitee` names: by id, else by email or Docker ID."""
    by_id = [invite for invite in invites if invite.id.lower() == invitee.lower()]
    return by_id or matching_invites(invites, invitee)


class InviteCancel:
    name = "invite_cancel"

    async def plan(self, ctx: HandlerContext, params: Mapping[str, Any]) -> Plan:
        invitee = param(params, "invitee", commands.invite_ref)
        found = _matching(await ctx.hub.list_invites(), invitee)
        if not found:
            raise ChangeRefused(
                f"There is no pending invite for {bk.code(invitee)} in *{bk.escape(ctx.instance)}*; "
                "`/hub invites` lists them."
            )
        now = datetime.now(UTC)
        details = [f"{bk.code(invite.invitee)}: {invite_line(invite, now)}" for invite in found]
        noun = "the pending invite" if len(found) == 1 else f"{len(found)} pending invites"
        return Plan(
            summary=f"Cancel {noun} for {bk.code(found[0].invitee)} to *{bk.escape(ctx.instance)}*",
            params={"invitee": invitee, "invite_ids": [invite.id for invite in found]},
            destructive=True,
            details=details,
        )

    async def execute(self, ctx: HandlerContext, params: Mapping[str, Any]) -> Outcome:
        invitee = param(params, "invitee", commands.invite_ref)
        pending = await ctx.hub.list_invites()
        approved = _invite_ids(params)
        # Only the invites that were approved: one sent since then was not part of the request.
        if approved is None:
            targets = _matching(pending, invitee)
        else:
            targets = [invite for invite in pending if invite.id in approved]
        if not targets:
            raise ChangeRefused(
                f"The invite for {bk.code(invitee)} is no longer pending (accepted or cancelled since); nothing to do."
            )
        cancelled: list[str] = []
        gone: list[str] = []
        for invite in targets:
            try:
                await ctx.hub.cancel_invite(invite.id)
            except NotFound:
                # Accepted or cancelled between the read and the delete: the goal holds, say so.
                gone.append(invite.id)
            else:
                cancelled.append(invite.id)
        if not cancelled:
            raise ChangeRefused(f"The invite for {bk.code(invitee)} was no longer pending; nothing to do.")
        noun = "the invite" if len(cancelled) == 1 else f"{len(cancelled)} invites"
        return Outcome(
            f"Cancelled {noun} for {bk.code(targets[0].invitee)} to *{bk.escape(ctx.instance)}*",
            {"invitee": invitee, "cancelled": cancelled, "already_gone": gone},
        )


register(InviteChange())
register(InviteCancel())

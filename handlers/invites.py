"""`/hub invites`: pending invites, oldest first, because the old ones are what need a decision."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from handlers import blocks as bk
from handlers.context import Block, HandlerContext, Reply
from handlers.grammar import Syntax
from handlers.lookup import without_arguments
from hub.models import Invite

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


@dataclass(frozen=True)
class Invites:
    pass


INVITES = without_arguments(
    Syntax("invites", "invites", "Pending invites with their age, inviter and team", ("/hub invites",)),
    Invites,
    invites,
)

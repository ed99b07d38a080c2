"""Telling the person a change is about (HUBKEEPER_NOTIFY_AFFECTED, on by default).

When a change about someone is done — added to or removed from a team, role changed, removed,
offboarded, access granted — and when time-bound access is about to end (10 minutes before) and has
ended, that person gets a DM saying what changed, who approved it and why. Each change kind says
whom it affects (`ChangeKind.affected`); this module finds them on Slack: their email from Docker
Hub's member listing (or as the kind recorded it, for someone no longer in the org), then the Slack
user with that email. Someone Slack does not know is not told, and nothing else happens.

`follow` is a follower of done changes (Approvals' `after_done`); `warn_ending` and `grant_ended`
belong to the time-bound grant sweep. A failure here never touches the change: it is done and
recorded before anyone is told.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from handlers import blocks as bk
from handlers.context import HandlerContext
from handlers.onboarding import OnboardingStore
from handlers.requests import kinds
from handlers.requests.kind import Affected, ChangeRefused
from handlers.requests.lifecycle import ChangeRequest, RequestStore, TimedGrant
from hub.errors import HubError, InvalidInput

logger = logging.getLogger("hubkeeper.affected")

WARN_BEFORE = timedelta(minutes=10)
"""How long before time-bound access ends its holder is warned."""


@dataclass
class AffectedPeople:
    contexts: Callable[[str], HandlerContext | None]
    """instance → a context acting as hubkeeper (its Hub client, directory and messenger)."""
    store: RequestStore
    notices: OnboardingStore
    """Where a warning is claimed, so that it is sent once across sweeps and replicas."""
    enabled: bool = True

    # -- done changes ------------------------------------------------------------------------------

    async def follow(self, request: ChangeRequest) -> None:
        """Tell each person a done change is about."""
        if not self.enabled:
            return
        kind = kinds.by_name(request.kind)
        ctx = self.contexts(request.instance)
        if kind is None or ctx is None:
            return
        try:
            people = kind.affected(kind.load(request.params), request.result or {})
        except ChangeRefused:
            return
        for person in people:
            await self._tell(ctx, person, _decided(request, person.change))

    # -- time-bound access -------------------------------------------------------------------------

    async def warn_ending(self, now: datetime) -> list[TimedGrant]:
        """Warn whoever holds time-bound access that ends within WARN_BEFORE; once per grant."""
        if not self.enabled:
            return []
        warned: list[TimedGrant] = []
        for grant in await self.store.active_timed_grants():
            if not now < grant.expires_at <= now + WARN_BEFORE:
                continue
            ctx = self.contexts(grant.instance)
            if ctx is None or not await self.notices.claim_notice(grant.instance, f"grant-ending:{grant.id}", now):
                continue
            minutes = max(1, round((grant.expires_at - now).total_seconds() / 60))
            change = (
                f"your time-bound access through team *{bk.escape(grant.team)}* ends in {minutes} minute"
                f"{'s' if minutes != 1 else ''} ({grant.expires_at:%H:%M} UTC)"
            )
            request = await self.store.get(grant.request_id)
            text = _decided(request, change) if request is not None else _sentence(change)
            text += "\nAsk again with `/hub request` if you need it for longer."
            await self._tell(ctx, Affected(change, username=grant.username), text)
            warned.append(grant)
        return warned

    async def grant_ended(self, grant: TimedGrant) -> None:
        """Time-bound access has ended (the sweep removed it): tell its holder, unless that is the requester,
        whom the sweep has told already."""
        if not self.enabled:
            return
        ctx = self.contexts(grant.instance)
        if ctx is None:
            return
        change = f"your time-bound access through team *{bk.escape(grant.team)}* has ended"
        request = await self.store.get(grant.request_id)
        text = _decided(request, change) if request is not None else _sentence(change)
        await self._tell(ctx, Affected(change, username=grant.username), text, skip=grant.requester)

    # -- finding and telling -----------------------------------------------------------------------

    async def _tell(self, ctx: HandlerContext, person: Affected, text: str, *, skip: str | None = None) -> None:
        try:
            user = await self._slack_user(ctx, person)
            if user is None or user == skip:
                return
            await ctx.messenger.dm(user, bk.message(f"*{bk.escape(ctx.instance)}*: {text}"))
        except Exception:  # the change is done and recorded; a lost DM is logged, never raised
            logger.exception("could not tell the person a change in %s is about", ctx.instance)

    async def _slack_user(self, ctx: HandlerContext, person: Affected) -> str | None:
        email = person.email
        if not email and person.username:
            try:
                member = await ctx.hub.find_member(person.username)
            except (HubError, InvalidInput) as error:
                logger.info("could not read the email of %s: %s", person.username, error)
                return None
            email = member.email if member is not None else None
        if not email:
            return None
        return await ctx.directory.user_by_email(email)


def _sentence(change: str) -> str:
    return change[:1].upper() + change[1:] + "."


def _decided(request: ChangeRequest | None, change: str) -> str:
    """What changed, who approved it and why."""
    text = _sentence(change)
    if request is None:
        return text
    approvers = _mentions(request.approvers) or (f"<@{request.decided_by}>" if request.decided_by else "")
    lines = [text]
    if approvers:
        lines.append(f"Approved by {approvers} (asked by <@{request.requester}>).")
    if request.reason:
        lines.append(f"Why: {bk.escape(bk.clip(request.reason, 500))}")
    return "\n".join(lines)


def _mentions(users: Sequence[str]) -> str:
    return ", ".join(f"<@{user}>" for user in users)

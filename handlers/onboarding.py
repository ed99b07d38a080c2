"""Onboarding that finishes itself: after `/hub onboard` is approved and its invite sent, hubkeeper
waits for the invite to be accepted, then puts the newcomer in the rest of their teams.

The `onboard` kind (handlers/changes/onboard.py) sends the invite and records a pending onboarding.
`sweep_onboardings` (run by the scheduler's sweep, on every replica) looks at each pending one:

- the invitee is now an org member (found by the invited email): the onboarding is *claimed* — a
  compare-and-set in the store, so exactly one replica completes it — the member is added to every
  team they are not in yet, and the requester (and the newcomer, when Slack knows their email) is told;
- the invite is no longer pending and nobody joined (cancelled or expired): the onboarding has ended,
  and the requester is told;
- otherwise it keeps waiting.

A Docker Hub failure while completing gives the claim back, so the next sweep tries again; adding
someone to a team they are already in is skipped, so nothing is done twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from handlers import blocks as bk
from handlers.context import HandlerContext
from handlers.requests.lifecycle import SYSTEM, AuditEvent
from hub.errors import HubError, InvalidInput, NotFound
from hub.models import Invite, OrgMember

logger = logging.getLogger("hubkeeper.onboarding")

CLAIM_TIMEOUT = timedelta(minutes=10)
"""A completion claimed longer ago than this was interrupted (the replica stopped): another may take it."""


class OnboardingStatus(StrEnum):
    PENDING = "pending"
    """The invite is sent; waiting for it to be accepted."""
    COMPLETING = "completing"
    """Claimed by one replica, which is adding the newcomer to their teams."""
    COMPLETED = "completed"
    ENDED = "ended"
    """The invite went away without anyone joining (cancelled or expired)."""
    CANCELLED = "cancelled"
    """Stopped with `/hub onboard cancel`."""


WAITING = frozenset({OnboardingStatus.PENDING, OnboardingStatus.COMPLETING})


@dataclass(frozen=True)
class Onboarding:
    id: str
    instance: str
    request_id: str
    email: str
    teams: tuple[str, ...]
    """The first one is the invite's team; the others are added once the invite is accepted."""
    role: str | None
    requester: str
    invite_id: str | None
    status: OnboardingStatus
    created_at: datetime
    updated_at: datetime
    username: str | None = None
    """The Docker ID they joined as (once completed)."""
    note: str | None = None
    claimed_by: str | None = None
    claimed_at: datetime | None = None


class OnboardingStore(Protocol):
    """Pending onboardings and once-only notices; every method is safe across replicas."""

    async def start(
        self,
        *,
        instance: str,
        request_id: str,
        email: str,
        teams: Sequence[str],
        role: str | None,
        requester: str,
        invite_id: str | None,
        now: datetime,
    ) -> Onboarding:
        """Record a pending onboarding for an executed request; the one already recorded for it, if any."""
        ...

    async def waiting(
        self, *, instance: str | None = None, requester: str | None = None, limit: int = 200
    ) -> list[Onboarding]:
        """Pending and completing onboardings, oldest first."""
        ...

    async def waiting_for(self, instance: str, email: str) -> Onboarding | None:
        """The waiting onboarding of this email (case-insensitive) on this instance."""
        ...

    async def claim(self, onboarding_id: str, claimed_by: str, now: datetime) -> Onboarding | None:
        """pending (or completing with a claim older than CLAIM_TIMEOUT) → completing; None for every caller
        but one."""
        ...

    async def release(self, onboarding_id: str, claimed_by: str, now: datetime) -> bool:
        """Our own completing → pending, after a failure, so a later sweep tries again."""
        ...

    async def finish(
        self,
        onboarding_id: str,
        expected: OnboardingStatus,
        new: OnboardingStatus,
        *,
        now: datetime,
        username: str | None = None,
        note: str | None = None,
    ) -> Onboarding | None:
        """Compare-and-set `expected` → `new` (completed, ended or cancelled); None when it was not in `expected`."""
        ...

    async def claim_notice(self, instance: str, key: str, now: datetime) -> bool:
        """True for exactly one caller per (instance, key): that caller sends the notice."""
        ...


# -- words ---------------------------------------------------------------------------------------


def teams_words(teams: Sequence[str]) -> str:
    return ", ".join(f"*{bk.escape(team)}*" for team in teams)


def waiting_line(onboarding: Onboarding, *, show_requester: bool = True) -> str:
    """One line for App Home and the digest."""
    who = f" · asked by <@{onboarding.requester}>" if show_requester else ""
    role = f" as {onboarding.role}" if onboarding.role else ""
    return (
        f"• {bk.code(onboarding.email, 100)} → {teams_words(onboarding.teams)}{role} "
        f"(invited {onboarding.created_at:%Y-%m-%d}{who})"
    )


# -- the sweep -----------------------------------------------------------------------------------


async def sweep_onboardings(
    store: OnboardingStore,
    contexts: Callable[[str], HandlerContext | None],
    *,
    now: datetime,
    claimed_by: str,
) -> list[Onboarding]:
    """Complete the onboardings whose invite was accepted and end those whose invite went away.

    Returns the onboardings this call finished (completed or ended).
    """
    finished: list[Onboarding] = []
    by_instance: dict[str, list[Onboarding]] = {}
    for onboarding in await store.waiting():
        by_instance.setdefault(onboarding.instance, []).append(onboarding)
    for instance, waiting in by_instance.items():
        ctx = contexts(instance)
        if ctx is None:
            logger.warning("%d onboarding(s) for unknown instance %r left waiting", len(waiting), instance)
            continue
        try:
            # Invites first, members second: someone who accepts in between is found as a member.
            invites = await ctx.hub.list_invites()
        except HubError as error:
            logger.warning("could not read the invites of %s: %s", instance, error)
            continue
        for onboarding in waiting:
            try:
                done = await _step(store, ctx, onboarding, invites, now=now, claimed_by=claimed_by)
            except HubError as error:
                logger.warning("onboarding %s could not go on: %s", onboarding.id, error)
                continue
            if done is not None:
                finished.append(done)
    return finished


async def _step(
    store: OnboardingStore,
    ctx: HandlerContext,
    onboarding: Onboarding,
    invites: Sequence[Invite],
    *,
    now: datetime,
    claimed_by: str,
) -> Onboarding | None:
    if onboarding.status is OnboardingStatus.COMPLETING and (
        onboarding.claimed_at is not None and now - onboarding.claimed_at < CLAIM_TIMEOUT
    ):
        return None  # another replica is completing it right now
    member = await _joined(ctx, onboarding.email)
    if member is not None:
        return await _complete(store, ctx, onboarding, member, now=now, claimed_by=claimed_by)
    if _still_invited(onboarding, invites):
        return None
    if onboarding.status is not OnboardingStatus.PENDING:
        return None
    ended = await store.finish(
        onboarding.id,
        OnboardingStatus.PENDING,
        OnboardingStatus.ENDED,
        now=now,
        note="the invite went away and no member has the invited email",
    )
    if ended is None:
        return None  # another replica ended (or completed) it first
    await _audit(ctx, "onboarding.ended", ended, {"email": ended.email, "teams": list(ended.teams)})
    await _dm(
        ctx,
        ended.requester,
        f"The onboarding of {bk.code(ended.email, 100)} into {teams_words(ended.teams)} in "
        f"*{bk.escape(ctx.instance)}* has ended: the invite is no longer pending (cancelled or expired) and no "
        f"member of *{bk.escape(ctx.instance)}* has that email. If they joined with an account under another "
        f"email, add them with `/hub team add`; otherwise ask again with `/hub onboard`.",
    )
    return ended


async def _joined(ctx: HandlerContext, email: str) -> OrgMember | None:
    try:
        member = await ctx.hub.find_member(email)
    except InvalidInput:
        return None
    return None if member is None or member.is_invitee else member


def _still_invited(onboarding: Onboarding, invites: Sequence[Invite]) -> bool:
    email = onboarding.email.lower()
    return any(invite.id == onboarding.invite_id or invite.invitee.lower() == email for invite in invites)


async def _complete(
    store: OnboardingStore,
    ctx: HandlerContext,
    onboarding: Onboarding,
    member: OrgMember,
    *,
    now: datetime,
    claimed_by: str,
) -> Onboarding | None:
    claimed = await store.claim(onboarding.id, claimed_by, now)
    if claimed is None:
        return None  # another replica has it
    current = {team.lower() for team in member.groups}
    added: list[str] = []
    missing: list[str] = []
    try:
        for team in claimed.teams:
            if team.lower() in current:
                continue
            try:
                await ctx.hub.add_group_member(team, member.username, check_membership=False)
            except NotFound:
                missing.append(team)  # the team was deleted since the approval
            else:
                added.append(team)
    except BaseException:
        # Docker Hub failed half-way (or we are stopping): give the claim back; what was added stays,
        # and the next sweep adds only the rest.
        await store.release(claimed.id, claimed_by, now)
        raise
    note = f"added to {', '.join(added) or 'no further team'}" + (
        f"; teams no longer there: {', '.join(missing)}" if missing else ""
    )
    done = await store.finish(
        claimed.id,
        OnboardingStatus.COMPLETING,
        OnboardingStatus.COMPLETED,
        now=now,
        username=member.username,
        note=note,
    )
    if done is None:
        return None
    await _audit(
        ctx,
        "onboarding.completed",
        done,
        {"email": done.email, "username": member.username, "teams_added": added, "teams_missing": missing},
    )
    joined = [team for team in done.teams if team not in missing]
    gone = f" Teams that no longer exist: {teams_words(missing)}." if missing else ""
    await _dm(
        ctx,
        done.requester,
        f"{bk.code(done.email, 100)} accepted the invite to *{bk.escape(ctx.instance)}* as "
        f"*{bk.escape(member.username)}* and is now in {teams_words(joined) or 'no team'}.{gone}",
    )
    newcomer = await _slack_user(ctx, done.email, member.email)
    if newcomer is not None:
        await _dm(
            ctx,
            newcomer,
            f"Welcome to *{bk.escape(ctx.instance)}* on Docker Hub! Your account *{bk.escape(member.username)}* "
            f"is now in {teams_words(joined) or 'no team yet'}, as <@{done.requester}> asked.",
        )
    return done


async def _slack_user(ctx: HandlerContext, *emails: str | None) -> str | None:
    for email in dict.fromkeys(e.lower() for e in emails if e):
        try:
            found = await ctx.directory.user_by_email(email)
        except Exception:  # Slack failing must not undo a completed onboarding; the requester was told
            logger.exception("could not look up a Slack user by email")
            return None
        if found is not None:
            return found
    return None


async def _dm(ctx: HandlerContext, user: str, text: str) -> None:
    try:
        await ctx.messenger.dm(user, bk.message(text))
    except Exception:  # the onboarding is recorded either way; a lost DM must not stop the sweep
        logger.exception("could not DM %s about an onboarding", user)


async def _audit(ctx: HandlerContext, event: str, onboarding: Onboarding, detail: dict[str, object]) -> None:
    await ctx.store.append_audit(
        AuditEvent(
            event=event, actor=SYSTEM, instance=onboarding.instance, request_id=onboarding.request_id, detail=detail
        )
    )

"""The scheduled digest: what changed in the org, pending invites, stale members, and the buttons to act.

Posting is exactly once per (instance, digest, period) however many replicas fire: each first inserts a
claim row with a unique key (`DigestStore.claim`), and only the one whose insert the database accepted
fetches from Docker Hub and posts. The period is the run's date in the digest's time zone, so replicas a
few seconds apart agree on it.

The main message holds the summaries; the long lists and their buttons go to thread replies, each within
Slack's limits. The store's interface lives here, where the behaviour is; `bot/store/digest_store.py`
implements it. Content and rendering are in `handlers.digest.model` and `handlers.digest.render`.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from handlers import blocks as bk
from handlers import concurrently
from handlers.activity.events import is_watched
from handlers.activity.feed import ActivityStore, classified_events
from handlers.changes.invite_cancel import InviteCancelParams
from handlers.changes.member_remove import MemberRemoveParams
from handlers.context import HandlerContext, Reply
from handlers.digest.model import (
    Digest,
    RosterSnapshot,
    build_digest,
    period_key,
)
from handlers.digest.render import (
    InviteButton,
    MemberButton,
    SectionFile,
    render_all,
    render_digest,
    snooze_note,
)
from handlers.onboarding import waiting_line
from handlers.requests import kinds
from handlers.requests.kind import ChangeKind, Params
from handlers.requests.lifecycle import AuditEvent
from handlers.stale import STALE_AFTER_DAYS
from hub.client import HubClient
from hub.errors import HubError
from hub.models import OrgMember

logger = logging.getLogger("hubkeeper.digest")

DEFAULT_SCHEDULE = "0 9 * * MON"
"""`HUBKEEPER_DIGEST_SCHEDULE`'s default (cron, in `HUBKEEPER_TIMEZONE`)."""
SCHEDULED = "weekly"
"""The `digest` name of the scheduled run in the claim key."""
ON_DEMAND = "on_demand"
REQUEST_REASON = "From the digest"
MAX_KEEP_DAYS = 365
PACE_SECONDS = 1.0
"""Slack's chat.postMessage allows about one message a second per channel: thread replies wait this long."""
CLAIM_LEASE = timedelta(minutes=5)
"""A claim that has not posted after this long is taken to belong to a replica that died: another run may
take it over. Building a digest takes seconds to a minute or two; the holder renews its claim just before
posting (`DigestStore.hold`), so a slow run that was overtaken does not post as well."""


class Outcome(enum.Enum):
    POSTED = "posted"
    ALREADY_POSTED = "already posted"
    HELD = "held by another run"
    """Claimed by a run that has not posted yet (building it, or dead: retry after the lease)."""
    FAILED = "failed"
    PRINTED = "printed"
    """A dry run: nothing claimed or posted."""


class DigestStore(Protocol):
    async def claim(
        self,
        instance: str,
        digest: str,
        period_key: str,
        claimed_by: str,
        now: datetime,
        *,
        lease: timedelta | None = None,
    ) -> bool:
        """Insert the run's claim; True for exactly one caller per key, False when it exists already
        (unless, with a `lease`, it is unposted and older than the lease: then one caller takes it over)."""
        ...

    async def hold(self, instance: str, digest: str, period_key: str, claimed_by: str, now: datetime) -> bool:
        """Renew our unposted claim; False when another run took it over."""
        ...

    async def posted(self, instance: str, digest: str, period_key: str) -> tuple[str, str] | None:
        """(channel, ts) of the run of this key that posted, if one did."""
        ...

    async def release(self, instance: str, digest: str, period_key: str, claimed_by: str) -> bool:
        """Drop our own claim of a run that never posted, so a later run of the period may post."""
        ...

    async def record_post(self, instance: str, digest: str, period_key: str, *, channel: str, ts: str) -> None: ...

    async def latest_snapshot(self, instance: str) -> RosterSnapshot | None: ...

    async def save_snapshot(self, instance: str, data: Mapping[str, Mapping[str, Any]], now: datetime) -> None: ...

    async def snooze(self, instance: str, username: str, until: datetime, decided_by: str, now: datetime) -> None: ...

    async def active_snoozes(self, instance: str, now: datetime) -> dict[str, datetime]:
        """username → when their Keep ends, for the Keeps still running at `now`."""
        ...


class OrgView(Protocol):
    """What building and posting a digest reads: the instance and its Docker Hub client. A handler
    context is one; the CLI, which has no Slack, passes an `Org`."""

    @property
    def hub(self) -> HubClient: ...

    @property
    def instance(self) -> str: ...


@dataclass(frozen=True)
class Org:
    hub: HubClient
    instance: str


class ThreadPoster(Protocol):
    """Posting with an optional thread: what `Messenger.post` becomes with a `thread_ts` parameter."""

    async def post(self, channel: str, reply: Reply, thread_ts: str | None = None) -> str:
        """Post to a channel, or into the thread of `thread_ts`; returns the message ts."""
        ...

    async def upload_in_thread(self, channel: str, thread_ts: str, filename: str, content: bytes, title: str) -> None:
        """Attach a file to the thread of `thread_ts`."""
        ...


# -- building and posting --------------------------------------------------------------------------


async def gather_digest(
    ctx: OrgView,
    store: DigestStore,
    *,
    now: datetime,
    stale_after_days: int,
    period: str,
    activity: ActivityStore | None = None,
) -> Digest:
    """Read the org from Docker Hub and the last snapshot and Keeps from the store, and build the digest.

    With `activity` (the feed's store), the digest also lists what changed outside hubkeeper since the
    last digest: the audit log's member, invite and team events that none of hubkeeper's changes made.
    """
    members, invites, groups = await concurrently.three(_members(ctx), ctx.hub.list_invites(), ctx.hub.list_groups())
    previous = await store.latest_snapshot(ctx.instance)
    snoozes = await store.active_snoozes(ctx.instance, now)
    built = build_digest(
        members,
        invites,
        groups,
        previous,
        snoozes,
        now,
        stale_after_days,
        instance=ctx.instance,
        org=ctx.hub.org,
        period=period,
    )
    # Onboardings live in hubkeeper's store, which only a handler context carries (the CLI has none).
    waiting = ctx.onboardings if isinstance(ctx, HandlerContext) else None
    if waiting is not None:
        built = replace(built, onboardings=tuple(waiting_line(o) for o in await waiting.waiting(instance=ctx.instance)))
    if activity is None or previous is None:
        return built
    try:
        events = await classified_events(ctx.hub, activity, ctx.instance, since=previous.taken_at, now=now)
    except HubError as error:
        # The rest of the digest stands; the section says why it is missing.
        return replace(built, outside_error=error.message)
    outside = tuple(event for event, made in events if made is None and is_watched(event))
    return replace(built, outside=outside)


async def _members(ctx: OrgView) -> list[OrgMember]:
    return [member async for member in ctx.hub.iter_members()]


def on_demand_period(now: datetime, actor: str) -> str:
    """The claim key of a `/hub digest` (digest `ON_DEMAND`): a double click within the minute posts once."""
    return f"{now.astimezone(UTC):%Y-%m-%dT%H:%M}/{actor}"


def digest_text(main: Reply, thread: list[Reply]) -> str:
    """The digest as a terminal shows it (`hubkeeper digest --dry-run`)."""
    # From the blocks, not `Reply.text`: the main message's fallback is only a one-line summary.
    parts = [bk.unescape(bk.plain_text(reply.blocks)) for reply in (main, *thread)]
    return "\n\n---\n\n".join(parts)


async def post_digest(
    ctx: OrgView,
    store: DigestStore,
    poster: ThreadPoster | None,
    channel: str,
    **options: Any,
) -> bool:
    """`run_digest`, True if this call posted the digest."""
    return await run_digest(ctx, store, poster, channel, **options) is Outcome.POSTED


async def run_digest(
    ctx: OrgView,
    store: DigestStore,
    poster: ThreadPoster | None,
    channel: str,
    *,
    claimed_by: str,
    now: datetime,
    stale_after_days: int = STALE_AFTER_DAYS,
    timezone: str = "UTC",
    digest: str = SCHEDULED,
    period: str | None = None,
    dry_run: bool = False,
    echo: Callable[[str], object] | None = None,
    pace_seconds: float = PACE_SECONDS,
    moves_baseline: bool | None = None,
    activity: ActivityStore | None = None,
    lease: timedelta = CLAIM_LEASE,
) -> Outcome:
    """Post the digest of `ctx.instance` to `channel` unless this period's was claimed already.

    `period` defaults to `period_key(now, timezone)`. A dry run claims nothing, posts nothing and keeps no
    snapshot: it hands the digest's text to `echo` (and needs no `poster`). `claimed_by` names the replica
    (host and pid) in the claim. Only a run that `moves_baseline` (by default the scheduled digest) saves
    the roster snapshot the next digest's "since the last digest" compares with: an on-demand digest
    must not wipe what the weekly one is there to show. Docker Hub and Slack errors propagate, with the
    claim given back.
    """
    key = period or period_key(now, timezone)
    baseline = digest == SCHEDULED if moves_baseline is None else moves_baseline
    if poster is None and not dry_run:
        raise ValueError("run_digest needs a poster unless it is a dry run")
    if dry_run:
        built = await gather_digest(
            ctx, store, now=now, stale_after_days=stale_after_days, period=key, activity=activity
        )
        if echo is not None:
            echo(digest_text(*render_digest(built)))
        return Outcome.PRINTED
    # Claim before reading Docker Hub: with ten replicas, nine stop here without a single Hub request.
    if not await store.claim(ctx.instance, digest, key, claimed_by, now, lease=lease):
        done = await store.posted(ctx.instance, digest, key) is not None
        logger.info(
            "digest %s/%s/%s: claimed by another run (%s)",
            ctx.instance,
            digest,
            key,
            "posted" if done else "not posted yet",
        )
        return Outcome.ALREADY_POSTED if done else Outcome.HELD
    assert poster is not None  # checked above; mypy cannot carry it across the dry-run branch
    started = time.monotonic()
    try:
        built = await gather_digest(
            ctx, store, now=now, stale_after_days=stale_after_days, period=key, activity=activity
        )
        rendered = render_all(built)
        # Building may have outlived the lease and another run taken over: then it posts, not us.
        # `now` moved on by the time building took (the caller's clock, which tests set, stays the reference).
        held_at = now + timedelta(seconds=time.monotonic() - started)
        if not await store.hold(ctx.instance, digest, key, claimed_by, held_at):
            logger.warning(
                "digest %s/%s/%s: our claim was taken over while building; not posting", ctx.instance, digest, key
            )
            return Outcome.HELD
        ts = await poster.post(channel, rendered.main)
    except BaseException:
        # Nothing was posted: give the period back, so a retry (or `/hub digest`) can still post it.
        await store.release(ctx.instance, digest, key, claimed_by)
        raise
    await store.record_post(ctx.instance, digest, key, channel=channel, ts=ts)
    if baseline:
        # Saved once the main message is out: the next digest's "since" is this one.
        await store.save_snapshot(ctx.instance, built.roster, now)
    for index, reply in enumerate(rendered.thread):
        if pace_seconds and index:
            await asyncio.sleep(pace_seconds)
        try:
            await poster.post(channel, reply, thread_ts=ts)
        except Exception:
            # The digest is posted; a missing thread reply is logged rather than posting it all again.
            logger.exception("digest %s/%s/%s: thread reply %d failed", ctx.instance, digest, key, index + 1)
    await _attach(poster, channel, ts, rendered.files, f"{ctx.instance}/{digest}/{key}")
    return Outcome.POSTED


async def _attach(poster: ThreadPoster, channel: str, ts: str, files: list[SectionFile], what: str) -> None:
    """Each shortened section, whole, as a CSV in the thread."""
    for section in files:
        try:
            await poster.upload_in_thread(channel, ts, section.filename, section.content, section.title)
        except Exception:
            logger.exception("digest %s: the CSV %s could not be attached", what, section.filename)


# -- the buttons -----------------------------------------------------------------------------------


async def keep(ctx: HandlerContext, store: DigestStore, username: str, days: int, actor: str) -> Reply:
    """ "Keep": hide a stale member from the digest for `days`, recording who decided."""
    if not 1 <= days <= MAX_KEEP_DAYS:
        return bk.message(f"A Keep lasts from 1 to {MAX_KEEP_DAYS} days.")
    now = datetime.now(UTC)
    until = now + timedelta(days=days)
    await store.snooze(ctx.instance, username, until, actor, now)
    await ctx.store.append_audit(
        AuditEvent(
            event="digest.kept",
            actor=actor,
            instance=ctx.instance,
            detail={"username": username, "until": until.isoformat(), "days": days},
            at=now,
        )
    )
    return bk.message(snooze_note(username, until))


async def resend_invite(ctx: HandlerContext, invite_id: str) -> Reply:
    """ "Resend": Docker Hub sends the invite's email again (no approval: it changes nothing)."""
    try:
        await ctx.hub.resend_invite(invite_id)
    except HubError as error:
        return bk.error_reply(error)
    return bk.message(f"Invite resent in *{bk.escape(ctx.instance)}*.")


def cancel_invite_request(button: InviteButton) -> tuple[ChangeKind[Any], Params, str]:
    """(kind, params, reason) for `Approvals.submit`: cancelling goes through approval."""
    return kinds.named("invite_cancel"), InviteCancelParams(invitee=button.invitee), REQUEST_REASON


def remove_member_request(button: MemberButton) -> tuple[ChangeKind[Any], Params, str]:
    """(kind, params, reason) for `Approvals.submit`: removing goes through approval."""
    return kinds.named("member_remove"), MemberRemoveParams(username=button.username), REQUEST_REASON

"""The activity feed: every few minutes, post the member, invite and team events hubkeeper did not make.

Nothing missed, nothing posted twice, across replicas and restarts:
- Each poll reads the audit log from the stored cursor minus a look-back (Docker Hub may log an
  event a little after it happened), so an event is read at least once and usually several times.
- Each event has a key (a digest of what it says). Posting it takes a claim in the store: an INSERT
  on (instance, key) that exactly one replica wins; the winner posts and records where. A claim
  whose holder died before posting is taken over after a lease; a failed post gives it back.
- The cursor then moves forward with a compare-and-set, to the newest event handled; it only
  bounds what is read, the claims are what keep posts single.
On its very first poll an instance starts from now: history from before hubkeeper watched is not news.

The store's interface lives here, where the behaviour is; `bot/store/` implements it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from handlers import blocks as bk
from handlers.activity.events import canonical, event_key, is_highlighted, is_watched
from handlers.activity.matching import MATCH_WINDOW, ExecutedChange, own_change
from handlers.context import Messenger, Reply
from hub.client import HubClient
from hub.models import AuditLog

logger = logging.getLogger("hubkeeper.activity")

DEFAULT_INTERVAL_SECONDS = 300
LOOKBACK = timedelta(minutes=10)
CLAIM_LEASE = timedelta(minutes=2)
KEEP_HANDLED = timedelta(days=30)


class ActivityStore(Protocol):
    """The audit-log cursor and the events already handled, per instance; safe across replicas."""

    async def activity_cursor(self, instance: str) -> datetime | None: ...

    async def advance_cursor(self, instance: str, expected: datetime | None, new: datetime, *, now: datetime) -> bool:
        """Compare-and-set: move from `expected` (None: no cursor yet) to `new`; False when it had moved."""
        ...

    async def claim_event(
        self,
        instance: str,
        key: str,
        *,
        happened_at: datetime,
        action: str,
        claimed_by: str,
        now: datetime,
        lease: timedelta,
    ) -> bool:
        """True for exactly one caller per (instance, key), unless a claim older than `lease` was never posted."""
        ...

    async def record_event_post(self, instance: str, key: str, *, channel: str, ts: str) -> None: ...

    async def release_event(self, instance: str, key: str, claimed_by: str) -> None:
        """Give back an unposted claim (the post failed), so the next poll tries again."""
        ...

    async def mark_own_event(
        self, instance: str, key: str, *, happened_at: datetime, action: str, request_id: str | None, now: datetime
    ) -> None:
        """Remember an event hubkeeper made (never posted); idempotent."""
        ...

    async def executed_changes(self, instance: str, since: datetime, until: datetime) -> list[ExecutedChange]:
        """hubkeeper's changes to the instance that ran between `since` and `until` (requests executed,
        executing or failed, and the audit lines of policy changes and ended time-bound grants)."""
        ...

    async def forget_events(self, before: datetime) -> int: ...


@dataclass
class PollResult:
    posted: list[AuditLog] = field(default_factory=list)
    own: list[tuple[AuditLog, str | None]] = field(default_factory=list)
    """Events hubkeeper made, with the request that made each (None: a change without a request)."""
    skipped: int = 0
    """Read but not for posting (not a member/invite/team event, or handled before)."""
    failed: bool = False
    started: bool = False
    """True on an instance's first poll, which only sets the cursor."""


def aware(event: AuditLog) -> AuditLog:
    """Docker Hub writes UTC; a time without an offset is read as such."""
    when = event.timestamp
    if when is None or when.tzinfo is not None:
        return event
    return event.model_copy(update={"timestamp": when.replace(tzinfo=UTC)})


async def read_events(hub: HubClient, since: datetime, until: datetime | None = None) -> list[AuditLog]:
    """The audit log from `since`, oldest first (Docker Hub serves newest first)."""
    events = [aware(event) async for event in hub.iter_audit_logs(from_=since, to=until)]
    # Reversed first, so that events within one second keep Docker Hub's order once sorted.
    dated = [event for event in reversed(events) if event.timestamp is not None]
    return sorted(dated, key=lambda event: event.timestamp or since)


def time_text(when: datetime | None) -> str:
    return "an unknown time" if when is None else f"{when.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def render_outside_event(event: AuditLog, instance: str) -> Reply:
    """The audit-channel post: Docker's own description, who did it and when; owners and removals stand out."""
    actor = bk.escape(event.actor or "someone")
    what = bk.escape((event.action_description or canonical(event.action)).strip())
    mark = ":rotating_light: *Changed outside hubkeeper*" if is_highlighted(event) else "*Changed outside hubkeeper*"
    text = f"{mark} in {bk.code(instance, 60)}: *{actor}* {what}"
    return bk.message(
        text, f"{time_text(event.timestamp)} · `{bk.escape(canonical(event.action))}` · Docker Hub audit log"
    )


async def poll_activity(
    hub: HubClient,
    store: ActivityStore,
    instance: str,
    *,
    messenger: Messenger | None,
    channel: str,
    claimed_by: str,
    now: datetime | None = None,
    lookback: timedelta = LOOKBACK,
) -> PollResult:
    """One round of the feed for one instance. HubError propagates (nothing is claimed then)."""
    now = now or datetime.now(UTC)
    result = PollResult()
    cursor = await store.activity_cursor(instance)
    if cursor is None:
        await store.advance_cursor(instance, None, now, now=now)
        result.started = True
        logger.info("%s: watching the audit log from now on", instance)
        return result
    since = cursor - lookback
    events = await read_events(hub, since)
    changes = await store.executed_changes(instance, since - MATCH_WINDOW, now + MATCH_WINDOW)
    newest = cursor
    for event in events:
        when = event.timestamp or now
        if not is_watched(event):
            result.skipped += 1
            newest = max(newest, when)
            continue
        key = event_key(event)
        made = own_change(event, changes)
        if made is not None:
            await store.mark_own_event(
                instance, key, happened_at=when, action=canonical(event.action), request_id=made.request_id, now=now
            )
            result.own.append((event, made.request_id))
            newest = max(newest, when)
            continue
        if messenger is None or not channel:
            result.skipped += 1
            continue
        claimed = await store.claim_event(
            instance,
            key,
            happened_at=when,
            action=canonical(event.action),
            claimed_by=claimed_by,
            now=now,
            lease=CLAIM_LEASE,
        )
        if not claimed:
            result.skipped += 1
            newest = max(newest, when)
            continue
        try:
            ts = await messenger.post(channel, render_outside_event(event, instance))
        except Exception:  # Slack failed: give the claim back and stop here, in order, for the next poll
            logger.exception("%s: could not post an audit-log event to %s", instance, channel)
            await store.release_event(instance, key, claimed_by)
            result.failed = True
            break
        await store.record_event_post(instance, key, channel=channel, ts=ts)
        result.posted.append(event)
        newest = max(newest, when)
    if newest > cursor:
        await store.advance_cursor(instance, cursor, newest, now=now)
    return result


async def activity_report(
    hub: HubClient,
    store: ActivityStore,
    instance: str,
    *,
    since: datetime,
    everything: bool = False,
    now: datetime | None = None,
) -> list[str]:
    """`hubkeeper activity`: one line per event since `since`: time, actor, Docker's description.

    Only member, invite and team events hubkeeper did not make, unless `everything`: then every
    event, each of hubkeeper's marked with the request that made it.
    """
    return [
        _line(event, made)
        for event, made in await classified_events(hub, store, instance, since=since, now=now)
        if everything or (made is None and is_watched(event))
    ]


async def classified_events(
    hub: HubClient, store: ActivityStore, instance: str, *, since: datetime, now: datetime | None = None
) -> list[tuple[AuditLog, ExecutedChange | None]]:
    """Every audit-log event since `since`, oldest first, each with the hubkeeper change that made it
    (None: made outside hubkeeper, or not a member/invite/team event). For the digest's "changed
    outside hubkeeper since the last digest": the watched events whose change is None."""
    now = now or datetime.now(UTC)
    events = await read_events(hub, since)
    changes = await store.executed_changes(instance, since - MATCH_WINDOW, now + MATCH_WINDOW)
    return [(event, own_change(event, changes) if is_watched(event) else None) for event in events]


def _line(event: AuditLog, made: ExecutedChange | None) -> str:
    description = " ".join((event.action_description or canonical(event.action)).split())
    line = f"{time_text(event.timestamp)}  {event.actor or '?'}  {description}"
    if is_highlighted(event):
        line = "! " + line
    if made is not None:
        line += f"  [hubkeeper request {made.request_id}]" if made.request_id else "  [hubkeeper]"
    return line

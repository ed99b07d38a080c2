"""`handlers.activity.feed.ActivityStore` on SQLite or PostgreSQL.

The cursor moves by compare-and-set (an UPDATE that names the position it expects, or the INSERT of
the first one). An event is claimed by an INSERT against the (instance, event_key) unique key, so
one replica posts it; hubkeeper's executed changes are read from the requests and audit_log tables.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.db import READ_ONLY
from bot.store.schema import activity_cursors, activity_events, audit_log, requests
from handlers.activity.matching import ExecutedChange
from handlers.requests.lifecycle import Status

EXECUTED = (Status.EXECUTING.value, Status.DONE.value, Status.FAILED.value, Status.INTERRUPTED.value)
CHANGE_EVENTS = ("policy.change", "grant.expired")
"""Audit lines of changes made without a request of their own."""


class SqlActivityStore:
    """Shares the engine (and database) of `SqlRequestStore`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._reader = engine.execution_options(**{READ_ONLY: True})

    async def activity_cursor(self, instance: str) -> datetime | None:
        async with self._reader.connect() as connection:
            value: datetime | None = (
                await connection.execute(
                    select(activity_cursors.c.position).where(activity_cursors.c.instance == instance)
                )
            ).scalar_one_or_none()
            return value

    async def advance_cursor(self, instance: str, expected: datetime | None, new: datetime, *, now: datetime) -> bool:
        try:
            async with self._engine.begin() as connection:
                if expected is None:
                    await connection.execute(
                        insert(activity_cursors).values(instance=instance, position=new, updated_at=now)
                    )
                    return True
                moved = await connection.execute(
                    update(activity_cursors)
                    .where(activity_cursors.c.instance == instance, activity_cursors.c.position == expected)
                    .values(position=new, updated_at=now)
                )
                return moved.rowcount == 1
        except IntegrityError:
            return False

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
        try:
            async with self._engine.begin() as connection:
                await connection.execute(
                    insert(activity_events).values(
                        instance=instance,
                        event_key=key,
                        happened_at=happened_at,
                        action=action,
                        claimed_by=claimed_by,
                        claimed_at=now,
                    )
                )
            return True
        except IntegrityError:
            pass
        # Held already: take it over only if its holder never posted it and has been silent too long.
        async with self._engine.begin() as connection:
            taken = await connection.execute(
                update(activity_events)
                .where(
                    activity_events.c.instance == instance,
                    activity_events.c.event_key == key,
                    activity_events.c.ts.is_(None),
                    activity_events.c.request_id.is_(None),
                    activity_events.c.claimed_by != "",
                    activity_events.c.claimed_at < now - lease,
                )
                .values(claimed_by=claimed_by, claimed_at=now)
            )
        return taken.rowcount == 1

    async def record_event_post(self, instance: str, key: str, *, channel: str, ts: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(activity_events)
                .where(activity_events.c.instance == instance, activity_events.c.event_key == key)
                .values(channel=channel, ts=ts)
            )

    async def release_event(self, instance: str, key: str, claimed_by: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                delete(activity_events).where(
                    activity_events.c.instance == instance,
                    activity_events.c.event_key == key,
                    activity_events.c.claimed_by == claimed_by,
                    activity_events.c.ts.is_(None),
                )
            )

    async def mark_own_event(
        self, instance: str, key: str, *, happened_at: datetime, action: str, request_id: str | None, now: datetime
    ) -> None:
        try:
            async with self._engine.begin() as connection:
                await connection.execute(
                    insert(activity_events).values(
                        instance=instance,
                        event_key=key,
                        happened_at=happened_at,
                        action=action,
                        claimed_by="",
                        claimed_at=now,
                        request_id=request_id,
                    )
                )
        except IntegrityError:
            pass  # marked before (an earlier poll, another replica)

    async def executed_changes(self, instance: str, since: datetime, until: datetime) -> list[ExecutedChange]:
        async with self._reader.connect() as connection:
            rows = await connection.execute(
                select(
                    requests.c.id, requests.c.kind, requests.c.params, requests.c.result, requests.c.updated_at
                ).where(
                    requests.c.instance == instance,
                    requests.c.status.in_(EXECUTED),
                    requests.c.updated_at >= since,
                    requests.c.updated_at <= until,
                )
            )
            changes = [
                ExecutedChange(
                    kind=str(row.kind),
                    at=row.updated_at,
                    params=_mapping(row.params),
                    result=_mapping(row.result),
                    request_id=str(row.id),
                )
                for row in rows
            ]
            lines = await connection.execute(
                select(audit_log.c.event, audit_log.c.at, audit_log.c.detail, audit_log.c.request_id).where(
                    audit_log.c.instance == instance,
                    audit_log.c.event.in_(CHANGE_EVENTS),
                    audit_log.c.at >= since,
                    audit_log.c.at <= until,
                )
            )
            changes.extend(
                ExecutedChange(
                    kind=str(line.event),
                    at=line.at,
                    params=_mapping(line.detail),
                    request_id=None if line.request_id is None else str(line.request_id),
                )
                for line in lines
            )
        return changes

    async def forget_events(self, before: datetime) -> int:
        async with self._engine.begin() as connection:
            gone = await connection.execute(delete(activity_events).where(activity_events.c.happened_at < before))
        return int(gone.rowcount)


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}

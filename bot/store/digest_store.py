"""`handlers.digest.DigestStore` on SQLite or PostgreSQL: digest claims, roster snapshots, snoozes.

The claim is a plain INSERT against a unique key: whichever replica's insert the database accepts
posts the digest, every other one gets a unique violation and stays quiet. Nothing here reads and
then decides, so it holds with any number of replicas.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.db import READ_ONLY
from bot.store.schema import digest_runs, roster_snapshots, snoozes
from handlers.digest.model import RosterSnapshot

SNAPSHOTS_KEPT = 8
"""Snapshots kept per instance: the digest only compares with the latest; a few more help a post-mortem."""


class SqlDigestStore:
    """Implements `handlers.digest.DigestStore`; shares the engine (and database) of `SqlRequestStore`."""

    def __init__(self, engine: AsyncEngine, *, on_post: Callable[[str, str], None] | None = None) -> None:
        """Use the engine of a migrated database, e.g. `SqlRequestStore.engine`.

        `on_post(instance, outcome)` hears of each post: `posted`, `failed` (the claim given back after
        a failed run) or `skipped` (the period was claimed already); the metrics count them.
        """
        self._engine = engine
        self._reader = engine.execution_options(**{READ_ONLY: True})
        self._on_post = on_post

    def _told(self, instance: str, outcome: str) -> None:
        if self._on_post is not None:
            self._on_post(instance, outcome)

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
        """True for exactly one caller per (instance, digest, period_key), on every replica together.

        With a `lease`, a claim that never got as far as posting and is older than the lease is taken
        over: its replica died between claiming and posting. The takeover is one UPDATE that names the
        stale claim it replaces, so of several replicas taking over at once exactly one wins.
        """
        _require_aware(now)
        try:
            async with self._engine.begin() as connection:
                await connection.execute(
                    insert(digest_runs).values(
                        instance=instance,
                        digest=digest,
                        period_key=period_key,
                        claimed_at=now,
                        claimed_by=claimed_by,
                    )
                )
        except IntegrityError:
            # The unique key: another replica (or an earlier run of this one) has it.
            if lease is not None and await self._take_over(instance, digest, period_key, claimed_by, now, lease):
                return True
            self._told(instance, "skipped")
            return False
        return True

    async def _take_over(
        self, instance: str, digest: str, period_key: str, claimed_by: str, now: datetime, lease: timedelta
    ) -> bool:
        async with self._engine.begin() as connection:
            result = await connection.execute(
                update(digest_runs)
                .where(
                    digest_runs.c.instance == instance,
                    digest_runs.c.digest == digest,
                    digest_runs.c.period_key == period_key,
                    digest_runs.c.ts.is_(None),
                    digest_runs.c.claimed_at < now - lease,
                )
                .values(claimed_by=claimed_by, claimed_at=now)
            )
        return int(result.rowcount) == 1

    async def hold(self, instance: str, digest: str, period_key: str, claimed_by: str, now: datetime) -> bool:
        """Renew our unposted claim just before posting; False when another run took it over meanwhile
        (ours outlived its lease), and then we must not post."""
        _require_aware(now)
        async with self._engine.begin() as connection:
            result = await connection.execute(
                update(digest_runs)
                .where(
                    digest_runs.c.instance == instance,
                    digest_runs.c.digest == digest,
                    digest_runs.c.period_key == period_key,
                    digest_runs.c.claimed_by == claimed_by,
                    digest_runs.c.ts.is_(None),
                )
                .values(claimed_at=now)
            )
        return int(result.rowcount) == 1

    async def release(self, instance: str, digest: str, period_key: str, claimed_by: str) -> bool:
        """Drop our own claim if it never got as far as posting (a failed run), so another run may post."""
        async with self._engine.begin() as connection:
            result = await connection.execute(
                delete(digest_runs).where(
                    digest_runs.c.instance == instance,
                    digest_runs.c.digest == digest,
                    digest_runs.c.period_key == period_key,
                    digest_runs.c.claimed_by == claimed_by,
                    digest_runs.c.ts.is_(None),
                )
            )
        self._told(instance, "failed")
        return result.rowcount == 1

    async def record_post(self, instance: str, digest: str, period_key: str, *, channel: str, ts: str) -> None:
        """Where the claimed digest went, so a later run could update it rather than post again."""
        async with self._engine.begin() as connection:
            await connection.execute(
                update(digest_runs)
                .where(
                    digest_runs.c.instance == instance,
                    digest_runs.c.digest == digest,
                    digest_runs.c.period_key == period_key,
                )
                .values(channel=channel, ts=ts)
            )
        self._told(instance, "posted")

    async def posted(self, instance: str, digest: str, period_key: str) -> tuple[str, str] | None:
        """(channel, ts) of a run that got as far as posting."""
        async with self._reader.connect() as connection:
            row = (
                await connection.execute(
                    select(digest_runs.c.channel, digest_runs.c.ts).where(
                        digest_runs.c.instance == instance,
                        digest_runs.c.digest == digest,
                        digest_runs.c.period_key == period_key,
                    )
                )
            ).first()
        if row is None or row.channel is None or row.ts is None:
            return None
        return str(row.channel), str(row.ts)

    async def latest_snapshot(self, instance: str) -> RosterSnapshot | None:
        async with self._reader.connect() as connection:
            row = (
                await connection.execute(
                    select(roster_snapshots.c.taken_at, roster_snapshots.c.data)
                    .where(roster_snapshots.c.instance == instance)
                    .order_by(roster_snapshots.c.taken_at.desc(), roster_snapshots.c.id.desc())
                    .limit(1)
                )
            ).first()
        if row is None:
            return None
        return RosterSnapshot(taken_at=row.taken_at, data=_roster(row.data))

    async def save_snapshot(self, instance: str, data: Mapping[str, Mapping[str, Any]], now: datetime) -> None:
        """Store the roster as of `now` and forget all but the latest few of this instance."""
        _require_aware(now)
        plain = {
            username: {"role": str(entry["role"]), "teams": sorted(entry["teams"])} for username, entry in data.items()
        }
        async with self._engine.begin() as connection:
            await connection.execute(insert(roster_snapshots).values(instance=instance, taken_at=now, data=plain))
            kept = (
                select(roster_snapshots.c.id)
                .where(roster_snapshots.c.instance == instance)
                .order_by(roster_snapshots.c.taken_at.desc(), roster_snapshots.c.id.desc())
                .limit(SNAPSHOTS_KEPT)
            )
            await connection.execute(
                delete(roster_snapshots).where(
                    roster_snapshots.c.instance == instance,
                    roster_snapshots.c.id.not_in(select(kept.subquery().c.id)),
                )
            )

    async def snooze(self, instance: str, username: str, until: datetime, decided_by: str, now: datetime) -> None:
        """Hide `username` from the stale list until `until`; every decision is kept with who made it."""
        _require_aware(now, until)
        async with self._engine.begin() as connection:
            await connection.execute(
                insert(snoozes).values(instance=instance, username=username, until=until, decided_by=decided_by, at=now)
            )

    async def active_snoozes(self, instance: str, now: datetime) -> dict[str, datetime]:
        """username → when the latest-ending snooze still running ends."""
        _require_aware(now)
        async with self._reader.connect() as connection:
            rows = await connection.execute(
                select(snoozes.c.username, func.max(snoozes.c.until).label("until"))
                .where(snoozes.c.instance == instance, snoozes.c.until > now)
                .group_by(snoozes.c.username)
            )
            # max() on SQLite comes back as text, without the column's type: read it back the same way.
            return {str(row.username): _utc(row.until) for row in rows}


def _roster(data: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(data, dict):
        return {}
    return {
        str(username): {"role": str(entry.get("role", "")), "teams": [str(team) for team in entry.get("teams", [])]}
        for username, entry in data.items()
        if isinstance(entry, dict)
    }


def _utc(value: datetime | str) -> datetime:
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _require_aware(*times: datetime) -> None:
    for when in times:
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError(f"naive datetime {when.isoformat()}: the store only takes timezone-aware times")

"""`handlers.scans.ScanClaims` on SQLite or PostgreSQL: which replica scans an instance, and when each
person's last scan there ended.

Taking the claim is one INSERT against the instance's primary key, or, when a row is there, one
UPDATE that only matches an expired claim (its holder died mid-scan). Either way the database lets
exactly one replica in; nothing here reads and then decides.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.db import READ_ONLY
from bot.store.schema import scan_claims, scan_cooldowns


class SqlScanClaims:
    """Implements `handlers.scans.ScanClaims`; shares the engine (and database) of `SqlRequestStore`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._reader = engine.execution_options(**{READ_ONLY: True})

    async def claim(self, instance: str, holder: str, what: str, actor: str, *, now: datetime, until: datetime) -> bool:
        """True when `holder` now holds `instance` until `until`: it was free, or its claim had expired."""
        _require_aware(now, until)
        row = {"holder": holder, "what": what, "actor": actor, "started_at": now, "expires_at": until}
        try:
            async with self._engine.begin() as connection:
                await connection.execute(insert(scan_claims).values(instance=instance, **row))
            return True
        except IntegrityError:
            pass  # a row is there: held, or left behind by a holder that died
        async with self._engine.begin() as connection:
            taken = await connection.execute(
                update(scan_claims)
                .where(scan_claims.c.instance == instance, scan_claims.c.expires_at <= now)
                .values(**row)
            )
        return int(taken.rowcount) == 1

    async def holding(self, instance: str, *, now: datetime) -> str | None:
        """What holds `instance` (the `what` its holder gave), if a claim is in force."""
        _require_aware(now)
        async with self._reader.connect() as connection:
            return (
                await connection.execute(
                    select(scan_claims.c.what).where(scan_claims.c.instance == instance, scan_claims.c.expires_at > now)
                )
            ).scalar_one_or_none()

    async def renew(self, instance: str, holder: str, *, until: datetime) -> bool:
        """Push our claim's expiry on; False when it is no longer ours (it expired and was taken over)."""
        _require_aware(until)
        async with self._engine.begin() as connection:
            result = await connection.execute(
                update(scan_claims)
                .where(scan_claims.c.instance == instance, scan_claims.c.holder == holder)
                .values(expires_at=until)
            )
        return int(result.rowcount) == 1

    async def release(self, instance: str, holder: str) -> None:
        """Drop our claim; one taken over meanwhile is someone else's and stays."""
        async with self._engine.begin() as connection:
            await connection.execute(
                delete(scan_claims).where(scan_claims.c.instance == instance, scan_claims.c.holder == holder)
            )

    async def finished(self, instance: str, actor: str, *, at: datetime) -> None:
        """Record when `actor`'s scan of `instance` ended (one upsert: the row exists after their first)."""
        _require_aware(at)
        dialect = sqlite if self._engine.dialect.name == "sqlite" else postgresql
        statement = dialect.insert(scan_cooldowns).values(instance=instance, actor=actor, finished_at=at)
        async with self._engine.begin() as connection:
            await connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[scan_cooldowns.c.instance, scan_cooldowns.c.actor],
                    set_={"finished_at": statement.excluded.finished_at},
                )
            )

    async def last_finished(self, instance: str, actor: str) -> datetime | None:
        async with self._reader.connect() as connection:
            return (
                await connection.execute(
                    select(scan_cooldowns.c.finished_at).where(
                        scan_cooldowns.c.instance == instance, scan_cooldowns.c.actor == actor
                    )
                )
            ).scalar_one_or_none()


def _require_aware(*times: datetime) -> None:
    for value in times:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()}: the store only takes timezone-aware times")

"""`handlers.access_index.AccessIndexStore` on SQLite or PostgreSQL.

The refresh claim is one conditional UPDATE (free, or its holder's heartbeat older than the lease),
or the INSERT of the instance's first row, whose primary key lets exactly one replica in. Writing a
repository's grants and moving the position happen in one transaction that first checks the claim
is still ours, so a replica that lost its claim writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, case, delete, func, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.db import READ_ONLY
from bot.store.schema import UtcDateTime, access_grants, index_refreshes
from handlers.access_index import IndexedGrant, IndexStatus, RefreshClaim

_IN_CHUNK = 500
"""Names per IN (…): well under SQLite's and asyncpg's parameter limits."""


class SqlAccessIndexStore:
    """Shares the engine (and database) of `SqlRequestStore`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._reader = engine.execution_options(**{READ_ONLY: True})

    # -- refresh runs ------------------------------------------------------------------------------

    async def claim_refresh(
        self, instance: str, claimed_by: str, *, now: datetime, lease: timedelta
    ) -> RefreshClaim | None:
        fresh_run = index_refreshes.c.position.is_(None)
        async with self._engine.begin() as connection:
            taken = await connection.execute(
                update(index_refreshes)
                .where(
                    index_refreshes.c.instance == instance,
                    or_(index_refreshes.c.claimed_by.is_(None), index_refreshes.c.heartbeat_at < now - lease),
                )
                .values(
                    claimed_by=claimed_by,
                    heartbeat_at=now,
                    started_at=case((fresh_run, literal(now, UtcDateTime)), else_=index_refreshes.c.started_at),
                    repositories_done=case((fresh_run, 0), else_=index_refreshes.c.repositories_done),
                    pairs_read=case((fresh_run, 0), else_=index_refreshes.c.pairs_read),
                )
            )
        if taken.rowcount == 0:
            try:
                async with self._engine.begin() as connection:
                    await connection.execute(
                        insert(index_refreshes).values(
                            instance=instance, started_at=now, claimed_by=claimed_by, heartbeat_at=now
                        )
                    )
            except IntegrityError:
                return None  # the row exists and someone holds it
        async with self._reader.connect() as connection:
            row = (
                await connection.execute(
                    select(index_refreshes).where(
                        index_refreshes.c.instance == instance, index_refreshes.c.claimed_by == claimed_by
                    )
                )
            ).first()
        if row is None:
            return None
        return RefreshClaim(
            started_at=row.started_at,
            position=row.position,
            repositories_done=row.repositories_done,
            pairs_read=row.pairs_read,
        )

    async def advance_refresh(
        self,
        instance: str,
        claimed_by: str,
        repository: str,
        grants: Sequence[tuple[str, str]],
        *,
        pairs: int,
        now: datetime,
    ) -> bool:
        async with self._engine.begin() as connection:
            moved = await connection.execute(
                update(index_refreshes)
                .where(index_refreshes.c.instance == instance, index_refreshes.c.claimed_by == claimed_by)
                .values(
                    position=repository,
                    heartbeat_at=now,
                    repositories_done=index_refreshes.c.repositories_done + 1,
                    pairs_read=index_refreshes.c.pairs_read + pairs,
                )
            )
            if moved.rowcount != 1:
                return False
            await connection.execute(
                delete(access_grants).where(
                    access_grants.c.instance == instance, access_grants.c.repository == repository
                )
            )
            if grants:
                await connection.execute(
                    insert(access_grants),
                    [
                        {
                            "instance": instance,
                            "repository": repository,
                            "team": team,
                            "permission": permission,
                            "read_at": now,
                        }
                        for team, permission in grants
                    ],
                )
        return True

    async def finish_refresh(self, instance: str, claimed_by: str, *, now: datetime) -> bool:
        async with self._engine.begin() as connection:
            started = (
                await connection.execute(
                    select(index_refreshes.c.started_at).where(
                        index_refreshes.c.instance == instance, index_refreshes.c.claimed_by == claimed_by
                    )
                )
            ).scalar_one_or_none()
            if started is None:
                return False
            await connection.execute(
                update(index_refreshes)
                .where(index_refreshes.c.instance == instance, index_refreshes.c.claimed_by == claimed_by)
                .values(finished_at=now, position=None, claimed_by=None, heartbeat_at=now)
            )
            # Whatever this run did not read again belongs to repositories that are gone.
            await connection.execute(
                delete(access_grants).where(access_grants.c.instance == instance, access_grants.c.read_at < started)
            )
        return True

    async def release_refresh(self, instance: str, claimed_by: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(index_refreshes)
                .where(index_refreshes.c.instance == instance, index_refreshes.c.claimed_by == claimed_by)
                .values(claimed_by=None)
            )

    async def index_status(self, instance: str) -> IndexStatus | None:
        async with self._reader.connect() as connection:
            row = (
                await connection.execute(select(index_refreshes).where(index_refreshes.c.instance == instance))
            ).first()
        if row is None:
            return None
        return IndexStatus(
            finished_at=row.finished_at,
            running=row.claimed_by is not None or row.position is not None,
            started_at=row.started_at,
            repositories_done=row.repositories_done,
            pairs_read=row.pairs_read,
        )

    # -- reading the index ---------------------------------------------------------------------------

    async def grants_of_teams(self, instance: str, teams: Iterable[str]) -> list[IndexedGrant]:
        names = sorted(set(teams))
        found: list[IndexedGrant] = []
        async with self._reader.connect() as connection:
            for start in range(0, len(names), _IN_CHUNK):
                rows = await connection.execute(
                    select(access_grants).where(
                        access_grants.c.instance == instance,
                        access_grants.c.team.in_(names[start : start + _IN_CHUNK]),
                    )
                )
                found.extend(_grant(row) for row in rows)
        return sorted(found, key=lambda grant: (grant.repository, grant.team))

    async def grants_of_repository(self, instance: str, repository: str) -> list[IndexedGrant]:
        async with self._reader.connect() as connection:
            rows = await connection.execute(
                select(access_grants)
                .where(access_grants.c.instance == instance, access_grants.c.repository == repository)
                .order_by(access_grants.c.team)
            )
            return [_grant(row) for row in rows]

    async def team_counts(self, instance: str, repositories: Iterable[str]) -> dict[str, int]:
        names = sorted(set(repositories))
        counts: dict[str, int] = {}
        async with self._reader.connect() as connection:
            for start in range(0, len(names), _IN_CHUNK):
                rows = await connection.execute(
                    select(access_grants.c.repository, func.count().label("teams"))
                    .where(
                        and_(
                            access_grants.c.instance == instance,
                            access_grants.c.repository.in_(names[start : start + _IN_CHUNK]),
                        )
                    )
                    .group_by(access_grants.c.repository)
                )
                counts.update({str(row.repository): int(row.teams) for row in rows})
        return counts

    # -- hubkeeper's own changes ---------------------------------------------------------------------

    async def put_grant(
        self, instance: str, repository: str, team: str, permission: str | None, *, now: datetime
    ) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                delete(access_grants).where(
                    access_grants.c.instance == instance,
                    access_grants.c.repository == repository,
                    access_grants.c.team == team,
                )
            )
            if permission is not None:
                await connection.execute(
                    insert(access_grants).values(
                        instance=instance, repository=repository, team=team, permission=permission, read_at=now
                    )
                )

    async def rename_team(self, instance: str, old: str, new: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(access_grants)
                .where(access_grants.c.instance == instance, access_grants.c.team == old)
                .values(team=new)
            )

    async def drop_team(self, instance: str, team: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                delete(access_grants).where(access_grants.c.instance == instance, access_grants.c.team == team)
            )


def _grant(row: Row[Any]) -> IndexedGrant:
    return IndexedGrant(
        repository=str(row.repository), team=str(row.team), permission=str(row.permission), read_at=row.read_at
    )

"""`handlers.onboarding.OnboardingStore` on SQLite or PostgreSQL.

Every state change is one conditional UPDATE (the row is still in the state the caller saw), and a
notice is a plain INSERT against a unique key: whichever replica's statement lands does the work,
the others see zero rows and stay quiet.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.db import READ_ONLY
from bot.store.schema import new_id, notices, onboardings
from handlers.onboarding import CLAIM_TIMEOUT, WAITING, Onboarding, OnboardingStatus

_FINAL = frozenset({OnboardingStatus.COMPLETED, OnboardingStatus.ENDED, OnboardingStatus.CANCELLED})


class SqlOnboardingStore:
    """Shares the engine (and database) of `SqlRequestStore`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._reader = engine.execution_options(**{READ_ONLY: True})

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
        _require_aware(now)
        try:
            async with self._engine.begin() as connection:
                onboarding_id = new_id()
                await connection.execute(
                    insert(onboardings).values(
                        id=onboarding_id,
                        instance=instance,
                        request_id=request_id,
                        email=email,
                        teams=list(teams),
                        role=role,
                        requester=requester,
                        invite_id=invite_id,
                        status=OnboardingStatus.PENDING.value,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            pass  # a Retry of the same request: its onboarding is recorded already
        async with self._reader.begin() as connection:
            row = (await connection.execute(select(onboardings).where(onboardings.c.request_id == request_id))).first()
        if row is None:  # only if the insert failed for another reason than the unique request id
            raise RuntimeError(f"the onboarding of request {request_id} could not be recorded")
        return _onboarding(row)

    async def waiting(
        self, *, instance: str | None = None, requester: str | None = None, limit: int = 200
    ) -> list[Onboarding]:
        query = select(onboardings).where(onboardings.c.status.in_([s.value for s in WAITING]))
        if instance is not None:
            query = query.where(onboardings.c.instance == instance)
        if requester is not None:
            query = query.where(onboardings.c.requester == requester)
        query = query.order_by(onboardings.c.created_at, onboardings.c.id).limit(limit)
        async with self._reader.begin() as connection:
            return [_onboarding(row) for row in await connection.execute(query)]

    async def waiting_for(self, instance: str, email: str) -> Onboarding | None:
        query = (
            select(onboardings)
            .where(
                onboardings.c.instance == instance,
                func.lower(onboardings.c.email) == email.lower(),
                onboardings.c.status.in_([s.value for s in WAITING]),
            )
            .order_by(onboardings.c.created_at.desc())
            .limit(1)
        )
        async with self._reader.begin() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else _onboarding(row)

    async def claim(self, onboarding_id: str, claimed_by: str, now: datetime) -> Onboarding | None:
        _require_aware(now)
        claimable = or_(
            onboardings.c.status == OnboardingStatus.PENDING.value,
            and_(
                onboardings.c.status == OnboardingStatus.COMPLETING.value,
                onboardings.c.claimed_at < now - CLAIM_TIMEOUT,
            ),
        )
        return await self._update(
            onboardings.c.id == onboarding_id,
            claimable,
            values={
                "status": OnboardingStatus.COMPLETING.value,
                "claimed_by": claimed_by,
                "claimed_at": now,
                "updated_at": now,
            },
            onboarding_id=onboarding_id,
        )

    async def release(self, onboarding_id: str, claimed_by: str, now: datetime) -> bool:
        _require_aware(now)
        released = await self._update(
            onboardings.c.id == onboarding_id,
            onboardings.c.status == OnboardingStatus.COMPLETING.value,
            onboardings.c.claimed_by == claimed_by,
            values={
                "status": OnboardingStatus.PENDING.value,
                "claimed_by": None,
                "claimed_at": None,
                "updated_at": now,
            },
            onboarding_id=onboarding_id,
        )
        return released is not None

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
        _require_aware(now)
        expected, new = OnboardingStatus(expected), OnboardingStatus(new)
        if new not in _FINAL or expected not in WAITING:
            raise ValueError(f"an onboarding cannot go from {expected.value} to {new.value}")
        values: dict[str, Any] = {"status": new.value, "updated_at": now, "note": note}
        if username is not None:
            values["username"] = username
        return await self._update(
            onboardings.c.id == onboarding_id,
            onboardings.c.status == expected.value,
            values=values,
            onboarding_id=onboarding_id,
        )

    async def claim_notice(self, instance: str, key: str, now: datetime) -> bool:
        _require_aware(now)
        try:
            async with self._engine.begin() as connection:
                await connection.execute(insert(notices).values(instance=instance, notice_key=key, sent_at=now))
        except IntegrityError:
            return False  # another replica (or an earlier sweep) sent it
        return True

    async def _update(self, *conditions: Any, values: dict[str, Any], onboarding_id: str) -> Onboarding | None:
        async with self._engine.begin() as connection:
            updated = await connection.execute(update(onboardings).where(*conditions).values(values))
            if updated.rowcount != 1:
                return None
            return await _load(connection, onboarding_id)


async def _load(connection: AsyncConnection, onboarding_id: str) -> Onboarding | None:
    row = (await connection.execute(select(onboardings).where(onboardings.c.id == onboarding_id))).first()
    return None if row is None else _onboarding(row)


def _onboarding(row: Row[Any]) -> Onboarding:
    return Onboarding(
        id=row.id,
        instance=row.instance,
        request_id=row.request_id,
        email=row.email,
        teams=tuple(row.teams or ()),
        role=row.role,
        requester=row.requester,
        invite_id=row.invite_id,
        status=OnboardingStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        username=row.username,
        note=row.note,
        claimed_by=row.claimed_by,
        claimed_at=row.claimed_at,
    )


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("the store only takes timezone-aware times")

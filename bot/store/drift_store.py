"""`handlers.policy_drift.DriftClaims` on SQLite or PostgreSQL: the digest claims' table, keyed by a
drift's fingerprint instead of a period, plus forgetting them once the org matches the policy again."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.digest_store import SqlDigestStore
from bot.store.schema import digest_runs


class SqlDriftClaims(SqlDigestStore):
    """Claim, release and record_post as the digest's; `forget` drops an instance's claims of one kind."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self._writer = engine

    async def forget(self, instance: str, digest: str) -> int:
        async with self._writer.begin() as connection:
            result = await connection.execute(
                delete(digest_runs).where(digest_runs.c.instance == instance, digest_runs.c.digest == digest)
            )
        return int(result.rowcount)

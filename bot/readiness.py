"""Readiness: may this replica take traffic? The database answers at the current schema, and each
instance holds a Docker Hub token obtained within the last five minutes.

The probe reads state kept here; it never talks to Docker Hub itself. The start-up health checks set
the first state, then `refresh` (run by the scheduler every HUBKEEPER_READINESS_SECONDS) asks each
client for a token without forcing an exchange: a cached one counts, an expired one is exchanged
again, so a probe costs Docker Hub nothing and a refresh at most one exchange per token lifetime.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.store.db import head_revision, schema_revision
from bot.store.sql_store import SqlRequestStore
from handlers.health_checks import CheckResult
from hub.client import HubClient
from hub.errors import HubError

logger = logging.getLogger("hubkeeper.readiness")

TOKEN_FRESH_SECONDS = 300.0
"""A token exchange older than this (with no later success) no longer counts."""
DATABASE_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class InstanceState:
    ok: bool
    detail: str
    at: float
    """When the state was recorded (monotonic seconds)."""


class Readiness:
    def __init__(
        self,
        hubs: Mapping[str, HubClient],
        store: SqlRequestStore,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._hubs = hubs
        self._store = store
        self._clock = clock
        self._head = head_revision()
        self._states: dict[str, InstanceState] = {}

    def record_checks(self, instance: str, results: Sequence[CheckResult]) -> None:
        """The start-up health checks' outcome: ready only if every check passed."""
        failed = [f"{result.name}: {result.detail}" for result in results if not result.ok]
        self._set(instance, not failed, "; ".join(failed) or "health checks passed")

    async def refresh(self) -> None:
        """Ask every instance's client for a token (never a forced exchange) and note the outcome."""
        for label, hub in self._hubs.items():
            try:
                await hub.ensure_token()
            except HubError as error:
                self._set(label, False, error.message)
            except Exception as error:
                self._set(label, False, f"token check failed ({type(error).__name__})")
            else:
                self._set(label, True, "token valid")

    def _set(self, instance: str, ok: bool, detail: str) -> None:
        previous = self._states.get(instance)
        if previous is None or previous.ok != ok:
            if ok:
                logger.info("instance %s is ready: %s", instance, detail)
            else:
                logger.warning("instance %s is not ready: %s", instance, detail)
        self._states[instance] = InstanceState(ok, detail, self._clock())

    def _instance_problem(self, instance: str) -> str | None:
        state = self._states.get(instance)
        if state is None:
            return "not checked yet"
        if not state.ok:
            return state.detail
        age = self._clock() - state.at
        if age > TOKEN_FRESH_SECONDS:
            return f"no successful token check for {age:.0f} s"
        return None

    async def _database_problem(self) -> str | None:
        try:
            revision = await asyncio.wait_for(schema_revision(self._store.engine), DATABASE_TIMEOUT_SECONDS)
        except TimeoutError:
            return f"the database did not answer within {DATABASE_TIMEOUT_SECONDS:.0f} s"
        except Exception as error:
            return f"the database did not answer ({type(error).__name__})"
        if revision != self._head:
            return f"the database schema is at {revision or 'nothing'}, this version needs {self._head}"
        return None

    async def report(self) -> tuple[bool, dict[str, Any]]:
        """(ready, the probe's JSON body): each check as "ok" or what fails, and the failing names."""
        checks: dict[str, str] = {"database": await self._database_problem() or "ok"}
        for instance in self._hubs:
            checks[f"instance:{instance}"] = self._instance_problem(instance) or "ok"
        failing = [name for name, outcome in checks.items() if outcome != "ok"]
        return not failing, {"status": "failing" if failing else "ok", "checks": checks, "failing": failing}

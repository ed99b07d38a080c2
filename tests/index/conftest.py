"""The access index runs on the real store (SQLite and PostgreSQL) against the emulator over loopback."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.store import SqlRequestStore
from bot.store.access_store import SqlAccessIndexStore
from hub.emulator import DEMO, EmulatorState
from tests.databases import OpenReplicas, database_url, open_replicas, store

__all__ = ["OpenReplicas", "database_url", "expected_grants", "index_store", "open_replicas", "store"]


@pytest.fixture
def index_store(store: SqlRequestStore) -> SqlAccessIndexStore:
    return SqlAccessIndexStore(store.engine)


def expected_grants(state: EmulatorState, org: str = DEMO.org) -> set[tuple[str, str, str]]:
    """(repository, team, permission) of every grant the emulator holds."""
    return {(repo, team, permission) for (repo, team), permission in state.org(org).grants.items()}


def group_reads(state: EmulatorState) -> Callable[[], int]:
    def count() -> int:
        return sum(
            1
            for r in state.requests
            if r.method == "GET" and "/groups/" in r.path and r.path.startswith("/v2/repositories/")
        )

    return count

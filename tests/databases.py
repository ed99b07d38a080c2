"""Databases for tests: a SQLite file, or a fresh PostgreSQL database dropped afterwards.

PostgreSQL is expected at 127.0.0.1:5432 (trust auth, database `test`, user `postgres` or `root`);
`HUBKEEPER_TEST_POSTGRES_URL` points elsewhere. When it is unreachable the PostgreSQL tests fail
rather than skip, so CI cannot pass without them; `HUBKEEPER_SKIP_POSTGRES=1` skips them on purpose.
Import the fixtures into a conftest or test module to use them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import make_url

from bot.store import SqlRequestStore, create_engine

# Read when a test runs, not at import (tests/conftest.py spares HUBKEEPER_SKIP_* and HUBKEEPER_TEST_*).
SKIP_SETTING = "HUBKEEPER_SKIP_POSTGRES"
URL_SETTING = "HUBKEEPER_TEST_POSTGRES_URL"
DEFAULT_ADMIN_URLS = ("postgresql://postgres@127.0.0.1:5432/test", "postgresql://root@127.0.0.1:5432/test")

OpenReplicas = Callable[[int], Awaitable[list[SqlRequestStore]]]

_unreachable: str | None = None


async def _admin_connection() -> tuple[Any, str]:
    """A connection to the maintenance database, and the URL it came from."""
    global _unreachable
    if _unreachable is not None:
        pytest.fail(_unreachable, pytrace=False)
    errors = []
    admin_urls = [os.environ[URL_SETTING]] if os.environ.get(URL_SETTING) else DEFAULT_ADMIN_URLS
    for url in admin_urls:
        try:
            return await asyncpg.connect(url, timeout=5), url
        except (OSError, asyncpg.PostgresError, TimeoutError) as error:
            errors.append(f"{url}: {error}")
    _unreachable = (
        f"PostgreSQL is not reachable ({'; '.join(errors)}). Start it, point {URL_SETTING} at a server, "
        f"or set {SKIP_SETTING}=1 to skip the PostgreSQL half of tests/store."
    )
    pytest.fail(_unreachable, pytrace=False)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A plain URL of an empty database of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hubkeeper.db'}"
        return
    if os.environ.get(SKIP_SETTING) == "1":
        pytest.skip(f"{SKIP_SETTING}=1")
    admin, admin_url = await _admin_connection()
    name = f"hk_{secrets.token_hex(6)}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            # FORCE: a test that failed half-way may still hold connections.
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlRequestStore]:
    store = await SqlRequestStore.open(database_url)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def open_replicas(database_url: str, store: SqlRequestStore) -> AsyncIterator[OpenReplicas]:
    """More stores on the same database, each with its own engine, as separate replicas would be."""
    opened: list[SqlRequestStore] = []

    async def open_replicas(count: int) -> list[SqlRequestStore]:
        # The `store` fixture has migrated the database already.
        replicas = [SqlRequestStore(create_engine(database_url)) for _ in range(count)]
        opened.extend(replicas)
        # Connect each one now, so that the race the test starts is between queries, not connects.
        for replica in replicas:
            await replica.get("warm-up")
        return replicas

    try:
        yield open_replicas
    finally:
        for replica in opened:
            await replica.close()

"""URLs, engines and migrations."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from bot.store import SqlRequestStore, create_engine, database_url, default_database_url, migrate
from bot.store.db import head_revision
from bot.store.schema import metadata
from tests.store.conftest import NOW, draft


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:////var/lib/hubkeeper/hubkeeper.db", "sqlite+aiosqlite:////var/lib/hubkeeper/hubkeeper.db"),
        ("sqlite:///relative.db", "sqlite+aiosqlite:///relative.db"),
        ("  sqlite:///relative.db\n", "sqlite+aiosqlite:///relative.db"),
        ("sqlite+aiosqlite:///relative.db", "sqlite+aiosqlite:///relative.db"),
        ("postgresql://hk@db.internal:5432/hubkeeper", "postgresql+asyncpg://hk@db.internal:5432/hubkeeper"),
        ("postgres://hk:s3cret@db:5432/hubkeeper", "postgresql+asyncpg://hk:s3cret@db:5432/hubkeeper"),
        ("POSTGRESQL://hk@db/hubkeeper", "postgresql+asyncpg://hk@db/hubkeeper"),
        ("postgresql+asyncpg://hk@db/hubkeeper", "postgresql+asyncpg://hk@db/hubkeeper"),
        ("postgresql://hk@db/hubkeeper?sslmode=require", "postgresql+asyncpg://hk@db/hubkeeper?ssl=require"),
    ],
)
def test_database_url_picks_the_async_driver(given: str, expected: str) -> None:
    assert database_url(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "",
        "hubkeeper.db",
        "/var/lib/hubkeeper.db",
        "mysql://hk:s3cret@db/hubkeeper",
        "postgresql+psycopg2://hk:s3cret@db/hubkeeper",
        "sqlite://",
        "sqlite:///:memory:",
        "https://example.com/db",
        "postgresql://hk:s3cret@db:notaport/hubkeeper",
    ],
)
def test_database_url_refuses_with_one_clear_line(given: str) -> None:
    with pytest.raises(ValueError, match="HUBKEEPER_DATABASE_URL") as raised:
        database_url(given)
    message = str(raised.value)
    assert "\n" not in message
    assert "s3cret" not in message
    assert "sqlite:///" in message and "postgresql://" in message


def test_default_database_url_uses_xdg_data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_database_url() == f"sqlite:///{tmp_path}/data/hubkeeper/hubkeeper.db"
    assert (tmp_path / "data" / "hubkeeper").is_dir()


@pytest.mark.parametrize("xdg", [None, "", "relative/dir"])
def test_default_database_url_falls_back_to_local_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, xdg: str | None
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    if xdg is None:
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_DATA_HOME", xdg)
    assert default_database_url() == f"sqlite:///{tmp_path}/.local/share/hubkeeper/hubkeeper.db"
    assert (tmp_path / ".local" / "share" / "hubkeeper").is_dir()
    assert database_url(default_database_url()).startswith("sqlite+aiosqlite:////")


async def test_default_database_is_usable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    async with await SqlRequestStore.open(default_database_url()) as store:
        created = await store.create(draft(), now=NOW)
    assert (tmp_path / "hubkeeper" / "hubkeeper.db").is_file()
    async with await SqlRequestStore.open(default_database_url()) as reopened:
        assert await reopened.get(created.id) == created


def _schema_differences(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def test_migrations_build_exactly_the_declared_schema(database_url: str) -> None:
    await migrate(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_schema_differences) == []
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    finally:
        await engine.dispose()
    assert {"requests", "approvals", "audit_log", "timed_grants", "alembic_version"} <= tables


async def test_migrate_twice_is_a_no_op(database_url: str) -> None:
    async with await SqlRequestStore.open(database_url) as store:
        created = await store.create(draft(), now=NOW)
    await migrate(database_url)
    async with await SqlRequestStore.open(database_url) as store:
        assert await store.get(created.id) == created
        async with store.engine.connect() as connection:
            assert await connection.run_sync(_revision) == head_revision()


async def test_processes_starting_together_migrate_once(database_url: str) -> None:
    await asyncio.gather(*(migrate(database_url) for _ in range(4)))
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_revision) == head_revision()
            assert await connection.run_sync(_schema_differences) == []
            if connection.dialect.name == "sqlite":
                # Only one of them can switch a new file to WAL; it must still end up in WAL.
                assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        await engine.dispose()


async def test_sqlite_connections_are_set_up_for_concurrent_writers(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    try:
        async with engine.connect() as connection:
            pragmas = [
                (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "busy_timeout", "foreign_keys")
            ]
    finally:
        await engine.dispose()
    assert pragmas == ["wal", 30000, 1]


async def test_foreign_keys_are_enforced(store: SqlRequestStore) -> None:
    with pytest.raises(Exception, match=r"(?i)foreign key"):
        await store.add_timed_grant(
            instance="acme", request_id="nosuchid2345", team="t", username="u", requester="U", expires_at=NOW
        )
    async with store.engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM timed_grants"))).scalar() == 0

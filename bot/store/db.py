"""Connecting to the database hubkeeper keeps its state in, and bringing its schema up to date.

People configure a plain URL (`HUBKEEPER_DATABASE_URL`): `sqlite:////abs/path.db`, `sqlite:///relative.db`,
`postgresql://user@host:5432/db` (or `postgres://…`). hubkeeper chooses the async driver itself, so nobody
has to know about `+aiosqlite` or `+asyncpg`.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
import zlib
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

SETTING = "HUBKEEPER_DATABASE_URL"
MIGRATIONS = Path(__file__).parent / "migrations"

# How long a SQLite writer waits for another one to finish before giving up. Writes are a few
# statements long, so reaching this means something is stuck, not busy.
SQLITE_BUSY_TIMEOUT_SECONDS = 30.0

READ_ONLY = "hubkeeper_read_only"
"""Execution option: the transaction only reads, so on SQLite it need not take the write lock."""

# Any fixed 64-bit number: advisory locks are per database, so this only has to be unique among the
# advisory locks hubkeeper itself takes.
_MIGRATION_LOCK_KEY = zlib.crc32(b"hubkeeper.store.migrate")

_EXAMPLES = "use sqlite:////path/to/hubkeeper.db or postgresql://user@host:5432/dbname"


def database_url(url: str) -> str:
    """The SQLAlchemy async URL for a plain database URL; ValueError (one line, no secrets) otherwise.

    Already-async URLs (`sqlite+aiosqlite://…`, `postgresql+asyncpg://…`) are returned as they are.
    """
    url = url.strip()
    scheme, separator, rest = url.partition("://")
    if not separator or not scheme:
        # The value itself is not echoed: a mangled URL may still hold a password.
        raise ValueError(f"{SETTING} is not a URL; {_EXAMPLES}")
    scheme = scheme.lower()
    if scheme in ("sqlite", "sqlite+aiosqlite"):
        if rest in ("", "/", "/:memory:") or rest.startswith("/:memory:?"):
            raise ValueError(f"{SETTING}: an in-memory SQLite database would lose every request; {_EXAMPLES}")
        return _parsed(f"sqlite+aiosqlite://{rest}")
    if scheme in ("postgresql", "postgres", "postgresql+asyncpg"):
        return _parsed(f"postgresql+asyncpg://{rest}")
    raise ValueError(f"{SETTING}: unsupported database {scheme!r}; {_EXAMPLES}")


def _parsed(async_url: str) -> str:
    try:
        parsed = make_url(async_url)
    except (ArgumentError, ValueError):
        raise ValueError(f"{SETTING} is not a valid database URL; {_EXAMPLES}") from None
    if parsed.get_backend_name() == "postgresql" and "sslmode" in parsed.query:
        # libpq spells it `sslmode`; asyncpg takes the same values as `ssl` and rejects `sslmode`.
        query = dict(parsed.query)
        query["ssl"] = query.pop("sslmode")
        parsed = parsed.set(query=query)
    return parsed.render_as_string(hide_password=False)


def default_database_url() -> str:
    """`hubkeeper.db` in the user's data folder (`$XDG_DATA_HOME/hubkeeper`, else ~/.local/share/hubkeeper)."""
    xdg = os.environ.get("XDG_DATA_HOME", "")
    # The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    folder = base / "hubkeeper"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'hubkeeper.db'}"


def create_engine(url: str, **engine_options: Any) -> AsyncEngine:
    """An async engine for a plain or async URL; `engine_options` go to SQLAlchemy's create_async_engine."""
    async_url = database_url(url)
    if make_url(async_url).get_backend_name() == "postgresql":
        # A bot runs for weeks; a connection the server or a proxy dropped must not fail a click.
        engine_options.setdefault("pool_pre_ping", True)
        return create_async_engine(async_url, **engine_options)
    engine = create_async_engine(async_url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}, **engine_options)
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: DBAPIConnection, connection_record: ConnectionPoolEntry) -> None:
        # Turn off the driver's own transaction handling so that `on_begin` decides how a transaction
        # starts (and DDL in migrations stays inside the transaction instead of committing it early).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # The busy timeout makes a second writer wait for the first instead of failing with "database
        # is locked" (BEGIN IMMEDIATE below is what lets it wait safely).
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL lets readers go on while a writer writes. It is a property of the file, so it only has to
        # succeed once; on a brand-new file that another connection is already writing to, switching
        # fails at once (SQLite does not wait there, to avoid a deadlock) and `migrate` finishes the job.
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except engine.dialect.loaded_dbapi.OperationalError as error:
            if not _is_locked(error):
                raise
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Connection) -> None:
        # A deferred transaction that reads and then writes cannot wait for the write lock: SQLite
        # fails it at once (SQLITE_BUSY_SNAPSHOT) if another writer committed meanwhile. Taking the
        # write lock up front makes concurrent writers queue behind the busy timeout instead.
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")


def alembic_config(url: str | None = None) -> Config:
    """Alembic's configuration, built in code (there is no alembic.ini), e.g. to write a new revision."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return config


def head_revision() -> str | None:
    """The newest migration this code knows: what `migrate` brings a database to."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def schema_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at (None before the first migration)."""
    async with engine.execution_options(**{READ_ONLY: True}).begin() as connection:
        return (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar()


async def migrate(url: str) -> None:
    """Apply every migration up to head. Idempotent; several processes may call it at once."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Two replicas starting together would otherwise both see an empty schema and both try
                # to create it. The lock is released when this transaction ends; PostgreSQL's DDL is
                # transactional, so the second one then finds the schema at head and does nothing.
                await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
            # On SQLite the same serialisation comes from BEGIN IMMEDIATE (see `on_begin`).
            await connection.run_sync(_upgrade_to_head)
        if engine.dialect.name == "sqlite":
            await _ensure_wal(engine)
    finally:
        await engine.dispose()


async def _ensure_wal(engine: AsyncEngine) -> None:
    # Only reached when several processes created the file at the same moment (see `on_connect`).
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_SECONDS
    while True:
        async with engine.connect() as connection:
            # Outside a transaction: SQLite cannot change the journal mode inside one.
            raw = await connection.get_raw_connection()
            try:
                cursor = await raw.driver_connection.execute("PRAGMA journal_mode=WAL")  # type: ignore[union-attr]
                await cursor.close()
                return
            except sqlite3.OperationalError as error:
                if not _is_locked(error) or time.monotonic() > deadline:
                    raise
        await asyncio.sleep(0.05)


def _is_locked(error: Exception) -> bool:
    return "database is locked" in str(error)


def _upgrade_to_head(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")

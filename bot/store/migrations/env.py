"""Alembic environment. `bot.store.db.migrate` passes an open connection in `config.attributes`."""

from __future__ import annotations

from alembic import context

from bot.store.schema import metadata

config = context.config

if context.is_offline_mode():
    # `alembic … --sql` to review the DDL: needs `sqlalchemy.url` (see `bot.store.db.alembic_config`).
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run the migrations with bot.store.db.migrate(url), which provides the connection")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    # migrate() already opened the transaction (and holds the lock): this joins it.
    with context.begin_transaction():
        context.run_migrations()

"""Recovery of interrupted work: the execution lease, the Retry window and the `interrupted` status.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

Self-contained on purpose (no import of `bot.store.schema`): a migration describes the schema as it
was when written, whatever the models say later.

SQLite cannot alter a CHECK constraint, and rebuilding `requests` (batch mode) would drop a table that
`approvals` and `timed_grants` reference while foreign keys are enforced inside the migration's
transaction. Widening the status list only loosens the constraint, which SQLite's documentation
allows by editing the stored CREATE TABLE text (PRAGMA writable_schema, then a new schema_version).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = "'pending', 'approved', 'executing', 'done', 'failed', 'denied', 'expired', 'cancelled'"
_NEW = _OLD + ", 'interrupted'"
# An interrupted undo holds its claim on the request it undoes, as a failed one does (Retry finishes it).
_UNDO_HOLDING_OLD = sa.text("status IN ('approved', 'done', 'executing', 'failed', 'pending')")
_UNDO_HOLDING_NEW = sa.text("status IN ('approved', 'done', 'executing', 'failed', 'interrupted', 'pending')")


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("requests", sa.Column("executor", sa.String(200), nullable=True))
    op.add_column("requests", sa.Column("lease_until", _time(), nullable=True))
    op.add_column("requests", sa.Column("retry_until", _time(), nullable=True))
    op.create_index("ix_requests_status_lease_until", "requests", ["status", "lease_until"])
    _statuses(_OLD, _NEW)
    _undo_claim(_UNDO_HOLDING_NEW)


def downgrade() -> None:
    # Interrupted requests become failed ones: the nearest state the older schema knows.
    op.execute("UPDATE requests SET status = 'failed' WHERE status = 'interrupted'")
    _undo_claim(_UNDO_HOLDING_OLD)
    _statuses(_NEW, _OLD)
    op.drop_index("ix_requests_status_lease_until", table_name="requests")
    for column in ("retry_until", "lease_until", "executor"):
        # SQLite (3.35+) drops a plain column in place: no rebuild, so no foreign key trouble.
        op.execute(f"ALTER TABLE requests DROP COLUMN {column}")


def _undo_claim(holding: sa.TextClause) -> None:
    op.drop_index("uq_requests_undoes", table_name="requests")
    op.create_index(
        "uq_requests_undoes", "requests", ["undoes"], unique=True, sqlite_where=holding, postgresql_where=holding
    )


def _statuses(old: str, new: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint("ck_requests_status", "requests", type_="check")
        op.create_check_constraint("ck_requests_status", "requests", f"status IN ({new})")
        return
    table_sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'requests'"
    ).scalar()
    if not isinstance(table_sql, str) or f"IN ({old})" not in table_sql:
        raise RuntimeError("the requests table's status constraint is not the one this migration expects")
    version = int(bind.exec_driver_sql("PRAGMA schema_version").scalar() or 0)
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.execute(
        sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'requests'"),
        {"sql": table_sql.replace(f"IN ({old})", f"IN ({new})")},
    )
    # A new schema version makes every connection re-read the table's definition.
    bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")

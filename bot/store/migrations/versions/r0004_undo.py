"""Undo requests name the request they undo, and only one undo of a request holds it at a time.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

Self-contained on purpose (no import of `bot.store.schema`): a migration describes the schema as it
was when written, whatever the models say later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# An undo holds its claim while pending, approved, executing, done or failed.
_HOLDING = sa.text("status IN ('approved', 'done', 'executing', 'failed', 'pending')")


def upgrade() -> None:
    # A plain ADD COLUMN (nullable, no constraint) works on SQLite without rebuilding the table.
    op.add_column("requests", sa.Column("undoes", sa.String(12), nullable=True))
    op.create_index(
        "uq_requests_undoes",
        "requests",
        ["undoes"],
        unique=True,
        sqlite_where=_HOLDING,
        postgresql_where=_HOLDING,
    )


def downgrade() -> None:
    op.drop_index("uq_requests_undoes", table_name="requests")
    # Not batch mode: rebuilding `requests` on SQLite would drop a table other tables' rows point at.
    # SQLite (3.35 on) drops an unindexed column in place.
    op.drop_column("requests", "undoes")

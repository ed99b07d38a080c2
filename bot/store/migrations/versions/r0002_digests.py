"""The scheduled digest: claims of digest runs, roster snapshots and "Keep" snoozes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Self-contained on purpose (no import of `bot.store.schema`): a migration describes the schema as it
was when written, whatever the models say later.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


_AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "digest_runs",
        sa.Column("id", _AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("instance", sa.String(200), nullable=False),
        sa.Column("digest", sa.String(100), nullable=False),
        sa.Column("period_key", sa.String(100), nullable=False),
        sa.Column("claimed_at", _time(), nullable=False),
        sa.Column("claimed_by", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(100), nullable=True),
        sa.Column("ts", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_digest_runs"),
        sa.UniqueConstraint("instance", "digest", "period_key", name="uq_digest_runs_instance_digest_period_key"),
    )

    op.create_table(
        "roster_snapshots",
        sa.Column("id", _AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("instance", sa.String(200), nullable=False),
        sa.Column("taken_at", _time(), nullable=False),
        sa.Column("data", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_roster_snapshots"),
    )
    op.create_index("ix_roster_snapshots_instance_taken_at", "roster_snapshots", ["instance", "taken_at"])

    op.create_table(
        "snoozes",
        sa.Column("id", _AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("instance", sa.String(200), nullable=False),
        sa.Column("username", sa.String(200), nullable=False),
        sa.Column("until", _time(), nullable=False),
        sa.Column("decided_by", sa.String(100), nullable=False),
        sa.Column("at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_snoozes"),
    )
    op.create_index("ix_snoozes_instance_until", "snoozes", ["instance", "until"])


def downgrade() -> None:
    op.drop_table("snoozes")
    op.drop_table("roster_snapshots")
    op.drop_table("digest_runs")

"""Full-org scans across replicas: a claim per instance and a cooldown per (instance, person).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

Self-contained on purpose (no import of `bot.store.schema`): a migration describes the schema as it
was when written, whatever the models say later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "scan_claims",
        sa.Column("instance", sa.String(200), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("what", sa.String(200), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("started_at", _time(), nullable=False),
        sa.Column("expires_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("instance", name="pk_scan_claims"),
    )
    op.create_table(
        "scan_cooldowns",
        sa.Column("instance", sa.String(200), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("finished_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("instance", "actor", name="pk_scan_cooldowns"),
    )


def downgrade() -> None:
    op.drop_table("scan_cooldowns")
    op.drop_table("scan_claims")

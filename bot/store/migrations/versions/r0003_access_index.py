"""Who can reach what and changes made outside hubkeeper: the access index, its refresh runs, the
audit-log cursor and the events already handled.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

Self-contained on purpose (no import of `bot.store.schema`): a migration describes the schema as it
was when written, whatever the models say later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


_AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "access_grants",
        sa.Column("instance", sa.String(200), nullable=False),
        sa.Column("repository", sa.String(300), nullable=False),
        sa.Column("team", sa.String(100), nullable=False),
        sa.Column("permission", sa.String(16), nullable=False),
        sa.Column("read_at", _time(), nullable=False),
        sa.CheckConstraint("permission IN ('read', 'write', 'admin')", name="ck_access_grants_permission"),
        sa.PrimaryKeyConstraint("instance", "repository", "team", name="pk_access_grants"),
    )
    op.create_index("ix_access_grants_instance_team", "access_grants", ["instance", "team"])

    op.create_table(
        "index_refreshes",
        sa.Column("instance", sa.String(200), nullable=False),
        sa.Column("started_at", _time(), nullable=False),
        sa.Column("finished_at", _time(), nullable=True),
        sa.Column("position", sa.String(300), nullable=True),
        sa.Column("repositories_done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("pairs_read", sa.Integer(), server_default="0", nullable=False),
        sa.Column("claimed_by", sa.String(200), nullable=True),
        sa.Column("heartbeat_at", _time(), nullable=True),
        sa.PrimaryKeyConstraint("instance", name="pk_index_refreshes"),
    )

    op.create_table(
        "activity_cursors",
        sa.Column("instance", sa.String(200), nullable=False),
        sa.Column("position", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("instance", name="pk_activity_cursors"),
    )

    op.create_table(
        "activity_events",
        sa.Column("id", _AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("instance", sa.String(200), nullable=False),
        sa.Column("event_key", sa.String(64), nullable=False),
        sa.Column("happened_at", _time(), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("claimed_by", sa.String(200), nullable=False),
        sa.Column("claimed_at", _time(), nullable=False),
        sa.Column("request_id", sa.String(12), nullable=True),
        sa.Column("channel", sa.String(100), nullable=True),
        sa.Column("ts", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_activity_events"),
        sa.UniqueConstraint("instance", "event_key", name="uq_activity_events_instance_event_key"),
    )
    op.create_index("ix_activity_events_happened_at", "activity_events", ["happened_at"])


def downgrade() -> None:
    op.drop_table("activity_events")
    op.drop_table("activity_cursors")
    op.drop_table("index_refreshes")
    op.drop_table("access_grants")

"""Onboardings waiting for their invite to be accepted, and notices sent once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

Self-contained on purpose (no import of `bot.store.schema`): a migration describes the schema as it
was when written, whatever the models say later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


_AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
_STATUSES = ("pending", "completing", "completed", "ended", "cancelled")


def upgrade() -> None:
    op.create_table(
        "onboardings",
        sa.Column("id", sa.String(12), nullable=False),
        sa.Column("instance", sa.String(200), nullable=False),
        sa.Column("request_id", sa.String(12), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("teams", _JSON, nullable=False),
        sa.Column("role", sa.String(16), nullable=True),
        sa.Column("requester", sa.String(100), nullable=False),
        sa.Column("invite_id", sa.String(100), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("username", sa.String(200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(200), nullable=True),
        sa.Column("claimed_at", _time(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.CheckConstraint(f"status IN ({', '.join(repr(s) for s in _STATUSES)})", name="ck_onboardings_status"),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], name="fk_onboardings_request_id_requests"),
        sa.PrimaryKeyConstraint("id", name="pk_onboardings"),
        sa.UniqueConstraint("request_id", name="uq_onboardings_request_id"),
    )
    op.create_index("ix_onboardings_status_instance", "onboardings", ["status", "instance"])

    op.create_table(
        "notices",
        sa.Column("id", _AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("instance", sa.String(200), nullable=False),
        sa.Column("notice_key", sa.String(300), nullable=False),
        sa.Column("sent_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notices"),
        sa.UniqueConstraint("instance", "notice_key", name="uq_notices_instance_notice_key"),
    )


def downgrade() -> None:
    op.drop_table("notices")
    op.drop_index("ix_onboardings_status_instance", table_name="onboardings")
    op.drop_table("onboardings")

"""Requests, approvals, the audit log and time-bound grants.

Revision ID: 0001
Revises:
Create Date: 2025-11-27

Self-contained on purpose (no import of `bot.store.schema`): a migration describes the schema as it
was when written, whatever the models say later.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


_AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_STATUSES = "'pending', 'approved', 'executing', 'done', 'failed', 'denied', 'expired', 'cancelled'"


def upgrade() -> None:
    op.create_table(
        "requests",
        sa.Column("id", sa.String(12), nullable=False),
        sa.Column("instance", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("params", _json(), nullable=False),
        sa.Column("requester", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("destructive", sa.Boolean(), nullable=False),
        sa.Column("approvals_required", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.Column("expires_at", _time(), nullable=False),
        sa.Column("decided_by", sa.String(100), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("result", _json(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("channel", sa.String(100), nullable=True),
        sa.Column("ts", sa.String(100), nullable=True),
        sa.CheckConstraint(f"status IN ({_STATUSES})", name="ck_requests_status"),
        sa.CheckConstraint("approvals_required >= 0", name="ck_requests_approvals_required"),
        sa.CheckConstraint("attempts >= 0", name="ck_requests_attempts"),
        sa.PrimaryKeyConstraint("id", name="pk_requests"),
    )
    op.create_index("ix_requests_status_expires_at", "requests", ["status", "expires_at"])
    op.create_index("ix_requests_requester_created_at", "requests", ["requester", "created_at"])
    op.create_index("ix_requests_created_at", "requests", ["created_at"])

    op.create_table(
        "approvals",
        sa.Column("id", _AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(12), nullable=False),
        sa.Column("approver", sa.String(100), nullable=False),
        sa.Column("at", _time(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], name="fk_approvals_request_id_requests"),
        sa.PrimaryKeyConstraint("id", name="pk_approvals"),
        sa.UniqueConstraint("request_id", "approver", name="uq_approvals_request_id_approver"),
    )

    op.create_table(
        "audit_log",
        sa.Column("id", _AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("at", _time(), nullable=False),
        sa.Column("event", sa.String(100), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("instance", sa.String(200), nullable=False),
        sa.Column("request_id", sa.String(12), nullable=True),
        sa.Column("detail", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_request_id", "audit_log", ["request_id"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])

    op.create_table(
        "timed_grants",
        sa.Column("id", sa.String(12), nullable=False),
        sa.Column("instance", sa.String(200), nullable=False),
        sa.Column("request_id", sa.String(12), nullable=False),
        sa.Column("team", sa.String(200), nullable=False),
        sa.Column("username", sa.String(200), nullable=False),
        sa.Column("requester", sa.String(100), nullable=False),
        sa.Column("expires_at", _time(), nullable=False),
        sa.Column("revoked_at", _time(), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], name="fk_timed_grants_request_id_requests"),
        sa.PrimaryKeyConstraint("id", name="pk_timed_grants"),
    )
    op.create_index("ix_timed_grants_expires_at", "timed_grants", ["expires_at"])


def downgrade() -> None:
    op.drop_table("timed_grants")
    op.drop_table("audit_log")
    op.drop_table("approvals")
    op.drop_table("requests")

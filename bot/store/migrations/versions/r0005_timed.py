"""Time-bound access follows the team's id, and `/hub policy plan` keeps the plan it showed.

- `timed_grants.team_id`: the Docker Hub id of the team the membership is in. A team can be renamed
  (in Docker Hub's web UI, say) while access runs; its id stays. Rows written before this revision
  have none: the sweep looks the team up by its stored name and records the id the first time.
- `policy_plans`: the changes a plan message showed, so its Apply button files exactly those (a
  Slack button value is too small to carry them).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

Self-contained on purpose (no import of `bot.store.schema`): a migration describes the schema as it
was when written, whatever the models say later.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    # batch: SQLite cannot ALTER TABLE … ADD COLUMN with every option; batch mode is a no-op elsewhere.
    with op.batch_alter_table("timed_grants") as batch:
        batch.add_column(sa.Column("team_id", sa.BigInteger(), nullable=True))
    op.create_table(
        "policy_plans",
        sa.Column("id", sa.String(12), nullable=False),
        sa.Column("instance", sa.String(200), nullable=False),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("changes", _json(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_policy_plans"),
    )


def downgrade() -> None:
    op.drop_table("policy_plans")
    with op.batch_alter_table("timed_grants") as batch:
        batch.drop_column("team_id")

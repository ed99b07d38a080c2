"""The tables. Migrations in `migrations/versions/` create them; a test checks that both agree."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

from handlers.requests.lifecycle import UNDO_HOLDING, Status

# Named constraints, so that a later migration can drop or alter them by name on either database.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

STATUSES = tuple(status.value for status in Status)
UNDO_HOLDING_SQL = f"status IN ({', '.join(repr(s.value) for s in sorted(UNDO_HOLDING))})"
"""The undo claim's predicate, in the SQL both databases take (the partial unique index below)."""
ID_LENGTH = 12


def new_id() -> str:
    """12 random base32 characters (60 bits): short, lower case, safe in a Slack button value."""
    return base64.b32encode(secrets.token_bytes(8)).decode("ascii")[:ID_LENGTH].lower()


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime in and out, on every database.

    SQLite has no time zones: SQLAlchemy would silently drop the offset of a non-UTC time and read
    back naive values. Naive datetimes are refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()}: the store only takes timezone-aware times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def json_type() -> TypeEngine[Any]:
    # none_as_null: a missing result is SQL NULL, not the JSON literal `null`.
    return JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
AUTO_ID = BigInteger().with_variant(Integer(), "sqlite")

requests = Table(
    "requests",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("instance", String(200), nullable=False),
    Column("kind", String(100), nullable=False),
    Column("params", json_type(), nullable=False),
    Column("requester", String(100), nullable=False),
    Column("reason", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("destructive", Boolean(create_constraint=False), nullable=False),
    Column("approvals_required", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("decided_by", String(100)),
    Column("decision_note", Text),
    Column("result", json_type()),
    Column("error", Text),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("channel", String(100)),
    Column("ts", String(100)),
    # The execution lease (handlers/requests/lifecycle.py) and the Retry window of a failure.
    Column("executor", String(200)),
    Column("lease_until", UtcDateTime),
    Column("retry_until", UtcDateTime),
    # Set on a request the Undo button filed: the request it undoes.
    Column("undoes", String(ID_LENGTH)),
    CheckConstraint(f"status IN ({', '.join(repr(s) for s in STATUSES)})", name="status"),
    CheckConstraint("approvals_required >= 0", name="approvals_required"),
    CheckConstraint("attempts >= 0", name="attempts"),
    # The expiry sweep: pending requests past their deadline.
    Index(None, "status", "expires_at"),
    # "My requests", newest first.
    Index(None, "requester", "created_at"),
    # The recovery sweep: executing requests whose lease ran out.
    Index(None, "status", "lease_until"),
    # Every other listing is newest first.
    Index(None, "created_at"),
    # The undo claim: one undo per request while it waits, runs, is done or failed. Concurrent Undo
    # clicks (on any replicas) all try to insert theirs and the database lets exactly one in; a denied,
    # expired or cancelled undo drops out of the index, so the change may be undone again.
    Index(
        "uq_requests_undoes",
        "undoes",
        unique=True,
        sqlite_where=text(UNDO_HOLDING_SQL),
        postgresql_where=text(UNDO_HOLDING_SQL),
    ),
)

approvals = Table(
    "approvals",
    metadata,
    Column("id", AUTO_ID, primary_key=True, autoincrement=True),
    Column("request_id", String(ID_LENGTH), ForeignKey("requests.id"), nullable=False),
    Column("approver", String(100), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    # Once per approver per request: what makes a double click count once.
    UniqueConstraint("request_id", "approver"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", AUTO_ID, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("event", String(100), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("instance", String(200), nullable=False),
    # No foreign key: an audit line must never be refused, and may speak of a request that failed to store.
    Column("request_id", String(ID_LENGTH)),
    Column("detail", json_type(), nullable=False),
    Index(None, "request_id"),
    Index(None, "at"),
)

timed_grants = Table(
    "timed_grants",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("instance", String(200), nullable=False),
    Column("request_id", String(ID_LENGTH), ForeignKey("requests.id"), nullable=False),
    Column("team", String(200), nullable=False),
    Column("username", String(200), nullable=False),
    Column("requester", String(100), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    # The team's Docker Hub id: a rename keeps it. NULL on rows from before r0004 (the sweep fills it in).
    Column("team_id", BigInteger),
    Index(None, "expires_at"),
)

# The changes a `/hub policy plan` message showed: its Apply button files exactly these.
policy_plans = Table(
    "policy_plans",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("instance", String(200), nullable=False),
    Column("source", String(500), nullable=False),
    Column("changes", json_type(), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# -- the scheduled digest (handlers/digest/post.py) ------------------------------------------------------

digest_runs = Table(
    "digest_runs",
    metadata,
    Column("id", AUTO_ID, primary_key=True, autoincrement=True),
    Column("instance", String(200), nullable=False),
    Column("digest", String(100), nullable=False),
    Column("period_key", String(100), nullable=False),
    Column("claimed_at", UtcDateTime, nullable=False),
    Column("claimed_by", String(200), nullable=False),
    Column("channel", String(100)),
    Column("ts", String(100)),
    # The claim: replicas all try to insert it, the database lets exactly one in, and only that one posts.
    UniqueConstraint("instance", "digest", "period_key"),
)

roster_snapshots = Table(
    "roster_snapshots",
    metadata,
    Column("id", AUTO_ID, primary_key=True, autoincrement=True),
    Column("instance", String(200), nullable=False),
    Column("taken_at", UtcDateTime, nullable=False),
    Column("data", json_type(), nullable=False),
    # The latest snapshot of an instance.
    Index(None, "instance", "taken_at"),
)

snoozes = Table(
    "snoozes",
    metadata,
    Column("id", AUTO_ID, primary_key=True, autoincrement=True),
    Column("instance", String(200), nullable=False),
    Column("username", String(200), nullable=False),
    Column("until", UtcDateTime, nullable=False),
    Column("decided_by", String(100), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    # Each decision is kept (who kept whom, when); the digest reads the ones still running.
    Index(None, "instance", "until"),
)

# -- who can reach what (handlers/access_index.py) and the audit-log feed (handlers/activity/) ------

access_grants = Table(
    "access_grants",
    metadata,
    Column("instance", String(200), primary_key=True),
    Column("repository", String(300), primary_key=True),
    Column("team", String(100), primary_key=True),
    Column("permission", String(16), nullable=False),
    Column("read_at", UtcDateTime, nullable=False),
    CheckConstraint("permission IN ('read', 'write', 'admin')", name="permission"),
    # `/hub access`: every grant of a member's teams.
    Index(None, "instance", "team"),
)

index_refreshes = Table(
    "index_refreshes",
    metadata,
    # One row per instance: the refresh under way (or the last one) and who holds it.
    Column("instance", String(200), primary_key=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("position", String(300)),
    Column("repositories_done", Integer, nullable=False, server_default="0"),
    Column("pairs_read", Integer, nullable=False, server_default="0"),
    Column("claimed_by", String(200)),
    Column("heartbeat_at", UtcDateTime),
)

activity_cursors = Table(
    "activity_cursors",
    metadata,
    Column("instance", String(200), primary_key=True),
    Column("position", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

activity_events = Table(
    "activity_events",
    metadata,
    Column("id", AUTO_ID, primary_key=True, autoincrement=True),
    Column("instance", String(200), nullable=False),
    Column("event_key", String(64), nullable=False),
    Column("happened_at", UtcDateTime, nullable=False),
    Column("action", String(100), nullable=False),
    Column("claimed_by", String(200), nullable=False),
    Column("claimed_at", UtcDateTime, nullable=False),
    Column("request_id", String(ID_LENGTH)),
    Column("channel", String(100)),
    Column("ts", String(100)),
    # The claim: the replica whose insert lands posts the event; every other one leaves it.
    UniqueConstraint("instance", "event_key"),
    Index(None, "happened_at"),
)

# -- onboardings waiting for an invite to be accepted, and notices sent once (handlers/onboarding.py) --

ONBOARDING_STATUSES = ("pending", "completing", "completed", "ended", "cancelled")

onboardings = Table(
    "onboardings",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("instance", String(200), nullable=False),
    # One onboarding per approved request: a Retry of the request finds it instead of adding another.
    Column("request_id", String(ID_LENGTH), ForeignKey("requests.id"), nullable=False, unique=True),
    Column("email", String(320), nullable=False),
    Column("teams", json_type(), nullable=False),
    Column("role", String(16)),
    Column("requester", String(100), nullable=False),
    Column("invite_id", String(100)),
    Column("status", String(16), nullable=False),
    Column("username", String(200)),
    Column("note", Text),
    Column("claimed_by", String(200)),
    Column("claimed_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint(f"status IN ({', '.join(repr(s) for s in ONBOARDING_STATUSES)})", name="status"),
    # The sweep and App Home: the onboardings still waiting, per instance.
    Index(None, "status", "instance"),
)

notices = Table(
    "notices",
    metadata,
    Column("id", AUTO_ID, primary_key=True, autoincrement=True),
    Column("instance", String(200), nullable=False),
    Column("notice_key", String(300), nullable=False),
    Column("sent_at", UtcDateTime, nullable=False),
    # The claim: whichever replica's insert lands sends the notice ("access ends in 10 minutes"), once.
    UniqueConstraint("instance", "notice_key"),
)

# -- full-org scans, one at a time per instance across replicas (handlers/scans.py) ---------------------

scan_claims = Table(
    "scan_claims",
    metadata,
    # One row per instance while a scan runs: the primary key is the claim, so one insert wins.
    Column("instance", String(200), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("what", String(200), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    # A holder that died leaves its row: once this passes, another replica may take the claim over.
    Column("expires_at", UtcDateTime, nullable=False),
)

scan_cooldowns = Table(
    "scan_cooldowns",
    metadata,
    Column("instance", String(200), primary_key=True),
    Column("actor", String(100), primary_key=True),
    Column("finished_at", UtcDateTime, nullable=False),
)

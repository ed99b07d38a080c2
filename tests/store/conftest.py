"""Every store test runs twice: on a SQLite file and on a fresh PostgreSQL database.

PostgreSQL is expected at 127.0.0.1:5432 (trust auth, database `test`, user `postgres` or `root`);
`HUBKEEPER_TEST_POSTGRES_URL` points elsewhere. When it is unreachable the PostgreSQL tests fail
rather than skip, so CI cannot pass without them; `HUBKEEPER_SKIP_POSTGRES=1` skips them on purpose.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from handlers.requests.lifecycle import NewRequest
from tests.databases import OpenReplicas, database_url, open_replicas, store

__all__ = ["NOW", "OpenReplicas", "database_url", "draft", "open_replicas", "store"]

NOW = datetime(2030, 5, 17, 9, 30, tzinfo=UTC)


def draft(**changes: Any) -> NewRequest:
    values: dict[str, Any] = {
        "instance": "acme",
        "kind": "team_add",
        "params": {"team": "backend", "usernames": ["alice"], "nested": {"n": 1, "ok": True, "none": None}},
        "requester": "UREQUESTER",
        "reason": "onboarding",
        "summary": "Add alice to backend",
        "destructive": False,
        "approvals_required": 1,
        "expires_at": NOW + timedelta(hours=24),
    }
    values.update(changes)
    return NewRequest(**values)

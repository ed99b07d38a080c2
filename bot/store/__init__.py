"""The durable store: change requests, approvals, the audit log and time-bound grants, in SQL.

SQLite (one file) by default, PostgreSQL when several replicas share the work. `SqlRequestStore`
implements `handlers.requests.lifecycle.RequestStore`; `db` turns a plain URL into an engine and migrates it.
"""

from bot.store.db import create_engine, database_url, default_database_url, migrate
from bot.store.sql_store import SqlRequestStore

__all__ = ["SqlRequestStore", "create_engine", "database_url", "default_database_url", "migrate"]

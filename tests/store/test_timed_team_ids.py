"""Time-bound grants keep their team's id, rows from before r0004 are migrated, and plans are kept as shown.

Every test runs on SQLite and on PostgreSQL (tests/store/conftest.py).
"""

from __future__ import annotations

from datetime import timedelta

from alembic import command
from sqlalchemy import Connection, text

from bot.store import SqlRequestStore, create_engine, migrate
from bot.store.db import alembic_config
from tests.store.conftest import NOW, draft


async def test_a_grant_keeps_its_team_id(store: SqlRequestStore) -> None:
    request = await store.create(draft(kind="access_request"), now=NOW)
    added = await store.add_timed_grant(
        instance="acme",
        request_id=request.id,
        team="hk-web-r",
        username="ivanpetrov",
        requester="UIVAN",
        expires_at=NOW + timedelta(hours=2),
        team_id=2_000_000_123,  # bigger than 32 bits: Docker Hub's ids are not small
    )
    assert added.team_id == 2_000_000_123
    [active] = await store.active_timed_grants()
    assert active == added
    assert active.is_in(2_000_000_123, "renamed") and not active.is_in(7, "hk-web-r")
    # Only a grant without an id gets one.
    await store.record_grant_team_id(added.id, 7)
    [again] = await store.due_timed_grants(NOW + timedelta(hours=3))
    assert again.team_id == 2_000_000_123


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def test_grants_from_before_r0004_are_migrated(database_url: str) -> None:
    # A database at 0003 holding a grant, as the previous release left it.
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, "0003")
            await connection.execute(
                text(
                    "INSERT INTO requests (id, instance, kind, params, requester, reason, summary, destructive,"
                    " approvals_required, status, created_at, updated_at, expires_at, attempts) VALUES"
                    " ('req000000001', 'acme', 'access_request', '{}', 'UIVAN', 'r', 's', false, 1, 'done',"
                    " :now, :now, :now, 1)"
                ),
                {"now": NOW},
            )
            await connection.execute(
                text(
                    "INSERT INTO timed_grants (id, instance, request_id, team, username, requester, expires_at)"
                    " VALUES ('grant0000001', 'acme', 'req000000001', 'hk-web-r', 'ivanpetrov', 'UIVAN', :at)"
                ),
                {"at": NOW + timedelta(hours=1)},
            )
    finally:
        await engine.dispose()
    await migrate(database_url)
    async with await SqlRequestStore.open(database_url) as store:
        [grant] = await store.active_timed_grants()
        assert (grant.id, grant.team, grant.username, grant.team_id) == (
            "grant0000001",
            "hk-web-r",
            "ivanpetrov",
            None,
        )
        # Until the id is known the grant is matched by the team's name.
        assert grant.is_in(99, "HK-WEB-R") and not grant.is_in(99, "other")
        await store.record_grant_team_id(grant.id, 99)
        [grant] = await store.active_timed_grants()
        assert grant.team_id == 99 and grant.is_in(99, "renamed")


async def test_policy_plans_are_kept_as_shown(store: SqlRequestStore) -> None:
    changes = [
        {"action": "add_member", "team": "backend", "username": "ivanpetrov"},
        {"action": "revoke", "team": "qa", "repository": "acme/api", "permission": "write", "rule": "acme/*"},
    ]
    saved = await store.save_policy_plan(
        instance="acme", source="policy.yml", changes=changes, created_by="UALICE", now=NOW
    )
    assert (saved.instance, saved.source, saved.changes, saved.created_by, saved.created_at) == (
        "acme",
        "policy.yml",
        changes,
        "UALICE",
        NOW,
    )
    assert await store.get_policy_plan(saved.id) == saved
    assert await store.get_policy_plan("nosuchplan00") is None

"""`/hub repo`, `/hub repos`, `/hub access` and the repository access CSV, as handler functions
against the emulator and the real store."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from bot.store.access_store import SqlAccessIndexStore
from handlers import blocks as bk
from handlers.access_index import refresh_index
from handlers.access_review import COLUMNS, NoIndex, write_access_csv
from handlers.member_access import access
from handlers.repos import parse_repos_page, repo, repos, repos_page_clicked
from hub.client import HubClient
from hub.emulator import DEMO, EmulatorServer
from tests.conftest import MakeContext


def text(reply: object) -> str:
    return bk.terminal_text(reply).replace("*", "")  # type: ignore[arg-type]


async def test_repo_lists_teams_and_who_can_push(
    hub: HubClient, emulator: EmulatorServer, make_context: MakeContext
) -> None:
    emulator.state.clear_requests()
    shown = text(await repo(make_context("UASKER", hub=hub), "acme/api"))
    assert "platform — admin" in shown and "backend — write" in shown and "security — read" in shown
    assert shown.index("platform — admin") < shown.index("backend — write") < shown.index("security — read")
    # Pushers: backend and platform members, once each.
    org = emulator.state.org(DEMO.org)
    pushers = set(org.groups["backend"].members) | set(org.groups["platform"].members)
    assert f"Can push ({len(pushers)} people" in shown and "erinpatel" in shown
    reads = [r for r in emulator.state.requests if r.path.startswith("/v2/repositories/acme/api/groups/")]
    assert len(reads) == len(org.groups)  # its T pairs, read live


async def test_repo_bad_input_changes_nothing(hub: HubClient, make_context: MakeContext) -> None:
    assert "expected namespace/repository" in text(await repo(make_context("UASKER", hub=hub), "a/b/c"))
    assert "not in" in text(await repo(make_context("UASKER", hub=hub), "globex/reactor"))
    assert "There is no repository" in text(await repo(make_context("UASKER", hub=hub), "acme/nope"))
    assert "platform — admin" in text(await repo(make_context("UASKER", hub=hub), "infra-tools"))


async def test_repos_pages_and_counts_from_the_index(
    hub: HubClient, emulator: EmulatorServer, index_store: SqlAccessIndexStore, make_context: MakeContext
) -> None:
    for number in range(30):
        emulator.state.add_repository(DEMO.org, f"svc{number:02d}")
    first = await repos(make_context("UASKER", hub=hub), index=index_store)
    assert "Showing 1–20 of 35 repositories" in text(first) and "teams" not in text(first).split("\n")[0]
    await refresh_index(hub, index_store, DEMO.org, claimed_by="t")
    first = await repos(make_context("UASKER", hub=hub), index=index_store)
    assert "acme/api — private · 3 teams" in text(first)
    (buttons,) = [block for block in first.blocks if block["type"] == "actions"]
    value = buttons["elements"][0]["value"]
    assert parse_repos_page(value).page == 2
    second = await repos_page_clicked(make_context("UASKER", hub=hub), value, index=index_store)
    assert second.replace_original and "Showing 21–35 of 35" in text(second)
    searched = await repos(make_context("UASKER", hub=hub), "svc1", index=index_store)
    assert "of 10 repositories matching" in text(searched)
    assert "not valid" in text(await repos_page_clicked(make_context("UASKER", hub=hub), "{nope", index=index_store))


async def test_access_from_the_index(
    hub: HubClient, index_store: SqlAccessIndexStore, make_context: MakeContext
) -> None:
    await refresh_index(hub, index_store, DEMO.org, claimed_by="t")
    shown = text(await access(make_context("UASKER", hub=hub), "erinpatel", index=index_store))
    # erinpatel is in platform and backend: api admin (platform) over write (backend).
    assert "acme/api — admin via platform (admin), backend (write)" in shown
    assert "acme/infra-tools — admin via platform (admin)" in shown
    assert "as of " in shown and "UTC" in shown
    by_email = text(await access(make_context("UASKER", hub=hub), "erinpatel@acme.example", index=index_store))
    assert "acme/api — admin" in by_email
    owner = text(await access(make_context("UASKER", hub=hub), "alicechen", index=index_store))
    assert "Owner" in owner
    guest = text(await access(make_context("UASKER", hub=hub), "contractorkai", index=index_store))
    assert "guest" in guest and "acme/web — write via frontend (write)" in guest
    assert "not a member" in text(await access(make_context("UASKER", hub=hub), "nobody99", index=index_store))


async def test_access_live_when_the_index_is_missing_or_old(
    hub: HubClient, emulator: EmulatorServer, index_store: SqlAccessIndexStore, make_context: MakeContext
) -> None:
    told: list[str] = []

    async def progress(message: str) -> None:
        told.append(message)

    shown = text(await access(make_context("UASKER", hub=hub), "kenjisato", index=index_store, progress=progress))
    assert "read live just now" in shown and "acme/web — write via frontend (write)" in shown
    assert told and "not built yet" in told[0]
    await refresh_index(hub, index_store, DEMO.org, claimed_by="t")
    emulator.state.add_grant(DEMO.org, "api", "frontend", "read")  # the index does not know yet
    later = datetime.now(UTC) + timedelta(days=2)
    stale = text(
        await access(make_context("UASKER", hub=hub), "kenjisato", index=index_store, progress=progress, now=later)
    )
    assert "read live just now" in stale and "acme/api — read via frontend" in stale


async def test_access_csv(hub: HubClient, emulator: EmulatorServer, index_store: SqlAccessIndexStore) -> None:
    with pytest.raises(NoIndex):
        await write_access_csv(hub, index_store, DEMO.org, io.StringIO())
    await refresh_index(hub, index_store, DEMO.org, claimed_by="t")
    out = io.StringIO(newline="")
    summary = await write_access_csv(hub, index_store, DEMO.org, out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == COLUMNS
    body = rows[1:]
    assert ["erinpatel", "acme/api", "admin", "platform; backend"] in body
    org = emulator.state.org(DEMO.org)
    owners = [m for m in org.members.values() if m.role == "owner"]
    assert ["alicechen", "acme/infra-tools", "admin", "owners; platform"] in body
    owner_rows = [row for row in body if row[0] in {m.username for m in owners}]
    assert len(owner_rows) == len(owners) * len(org.repositories)
    assert not [row for row in body if row[0] == "umarkhan"]  # in no team
    assert summary.rows == len(body) and summary.owners == len(owners)

"""The access review CSV against the emulator's orgs: every member, as the emulator holds them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from handlers.review import COLUMNS, ReviewSummary, safe_cell, staleness, write_review_csv
from hub.client import HubClient, HubConnection
from hub.emulator import EmulatorServer, EmulatorState, seed_large
from hub.emulator.models import Member
from hub.errors import HubError
from hub.models import OrgMember
from tests.conftest import FAST_RETRIES

NOW = datetime.now(UTC)
DAYS = 90


def iso(when: datetime | None) -> str:
    return "never" if when is None else when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expected_stale(member: Member) -> str:
    """The rule restated from the emulator's own data (not from the client's models)."""
    seen = [when for when in (member.last_logged_in_at, member.last_seen_at) if when is not None]
    reference = max(seen) if seen else member.date_joined
    return "yes" if NOW - reference > timedelta(days=DAYS) else "no"


async def review_rows(hub: HubClient, **kwargs: object) -> tuple[list[dict[str, str]], ReviewSummary, str]:
    out = io.StringIO(newline="")
    summary = await write_review_csv(hub, out, now=NOW, **kwargs)  # type: ignore[arg-type]
    text = out.getvalue()
    return list(csv.DictReader(io.StringIO(text, newline=""))), summary, text


async def test_the_csv_matches_the_demo_org(hub: HubClient, emulator_state: EmulatorState) -> None:
    emulator_state.clear_requests()
    rows, summary, text = await review_rows(hub)
    org = emulator_state.org("acme")

    assert text.splitlines()[0] == ",".join(COLUMNS)
    member_rows = {row["username"]: row for row in rows if row["role"] != "Invitee"}
    assert set(member_rows) == set(org.members)
    for username, member in org.members.items():
        row = member_rows[username]
        assert row["email"] == member.email
        assert row["full_name"] == member.full_name
        assert row["role"] == member.role.capitalize()
        assert set(filter(None, row["teams"].split("; "))) == set(member.groups)
        assert row["guest"] == ("yes" if member.is_guest else "no")
        assert row["joined"] == iso(member.date_joined)
        assert row["last_login"] == iso(member.last_logged_in_at)
        assert row["last_seen"] == iso(member.last_seen_at)
        assert row["stale"] == expected_stale(member), username
        assert row["pending_invite"] == "no"  # no demo invite names a member

    # Invites naming nobody in the org are listed after the members, as Invitee rows.
    invitee_rows = rows[len(org.members) :]
    assert [r["role"] for r in invitee_rows] == ["Invitee"] * len(org.invites)
    assert {r["email"] or r["username"] for r in invitee_rows} == {i.invitee for i in org.invites.values()}
    olga = next(r for r in invitee_rows if r["email"] == "olga.petrova@acme.example")
    assert olga["teams"] == "data" and olga["pending_invite"] == "yes" and olga["stale"] == ""

    # One pass: the exchange, one members page (40 < 100) and the invites; no per-team calls.
    assert sorted((r.method, r.path) for r in emulator_state.requests) == [
        ("GET", "/v2/orgs/acme/invites"),
        ("GET", "/v2/orgs/acme/members"),
        ("POST", "/v2/auth/token"),
    ]
    assert summary == ReviewSummary(
        org="acme",
        members=len(org.members),
        owners=sum(m.role == "owner" for m in org.members.values()),
        guests=sum(m.is_guest for m in org.members.values()),
        stale=sum(expected_stale(m) == "yes" for m in org.members.values()),
        unknown_activity=0,
        pending_invites=len(org.invites),
        invitee_rows=len(org.invites),
        no_team=sum(not m.groups for m in org.members.values()),
        stale_after_days=DAYS,
    )
    assert (summary.members, summary.owners, summary.guests, summary.no_team) == (40, 3, 4, 6)
    assert summary.rows == len(rows) == 44


async def test_the_stale_threshold_is_a_parameter(hub: HubClient, emulator_state: EmulatorState) -> None:
    rows, summary, _ = await review_rows(hub, stale_after_days=1000)
    # Nobody was active more than 1000 days ago, and everyone joined less than 1000 days ago.
    assert summary.stale == 0 and {r["stale"] for r in rows if r["role"] != "Invitee"} == {"no"}
    rows, summary, _ = await review_rows(hub, stale_after_days=30)
    assert summary.stale == sum(r["stale"] == "yes" for r in rows) > 14
    assert summary.stale_after_days == 30


async def test_without_insights_activity_is_unknown_never_stale(
    globex: HubClient, emulator_state: EmulatorState
) -> None:
    rows, summary, _ = await review_rows(globex)
    assert len(rows) == len(emulator_state.org("globex").members) == 5
    assert {(r["last_login"], r["last_seen"], r["stale"]) for r in rows} == {("unknown", "unknown", "unknown")}
    assert summary.unknown_activity == 5 and summary.stale == 0


async def test_a_pending_invite_naming_a_member_marks_the_row(hub: HubClient, emulator_state: EmulatorState) -> None:
    # Case differs from the member's: Docker Hub's matching of emails and Docker IDs ignores case.
    emulator_state.add_invite("acme", "IvanPetrov@acme.example", inviter="alicechen")
    emulator_state.add_invite("acme", "weizhang", inviter="alicechen", team="data")
    rows, summary, _ = await review_rows(hub)
    marked = {r["username"] for r in rows if r["role"] != "Invitee" and r["pending_invite"] == "yes"}
    assert marked == {"ivanpetrov", "weizhang"}
    # Claimed by a member row, so not repeated as an Invitee row.
    assert summary.pending_invites == 6 and summary.invitee_rows == 4
    assert sum(r["role"] == "Invitee" for r in rows) == 4


async def test_guests_are_marked(hub: HubClient, emulator_state: EmulatorState) -> None:
    rows, _, _ = await review_rows(hub)
    guests = {r["username"] for r in rows if r["guest"] == "yes"}
    assert guests == {u for u, m in emulator_state.org("acme").members.items() if m.is_guest}
    assert guests == {"contractorkai", "contractorlin", "auditorsam", "designermia"}


async def test_formula_like_cells_are_neutralised(hub: HubClient, emulator_state: EmulatorState) -> None:
    hostile = {
        "mallory1": '=HYPERLINK("http://evil.example","click")',
        "mallory2": "+1+cmd|' /C calc'!A0",
        "mallory3": "-2+3",
        "mallory4": "@SUM(A1:A9)",
    }
    for username, full_name in hostile.items():
        emulator_state.add_member("acme", username, full_name=full_name, email=f"{username}@evil.example")
    emulator_state.add_invite("acme", "=cmd@evil.example", inviter="alicechen")
    rows, _, _ = await review_rows(hub)
    by_name = {r["username"]: r for r in rows}
    for username, full_name in hostile.items():
        assert by_name[username]["full_name"] == "'" + full_name
    assert any(r["email"] == "'=cmd@evil.example" for r in rows)
    # Nothing else was touched: ordinary cells never start with a quote.
    ordinary = [r for r in rows if r["username"] not in hostile and not r["email"].startswith("'")]
    assert len(ordinary) == len(rows) - 5
    assert not any(cell.startswith("'") for r in ordinary for cell in r.values())


def test_safe_cell() -> None:
    assert [safe_cell(v) for v in ("=1", "+1", "-1", "@x", "\tx", "\rx")] == [
        "'=1",
        "'+1",
        "'-1",
        "'@x",
        "'\tx",
        "'\rx",
    ]
    assert [safe_cell(v) for v in ("", "Alice", "a=b", "2026-01-01", "'quoted")] == [
        "",
        "Alice",
        "a=b",
        "2026-01-01",
        "'quoted",
    ]


def member(**fields: object) -> OrgMember:
    return OrgMember.model_validate({"username": "someone", **fields})


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, "unknown"),  # Insights fields absent: no evidence either way
        ({"date_joined": "2020-01-01T00:00:00Z"}, "unknown"),
        ({"last_seen_at": "2026-11-26T00:00:00Z", "last_logged_in_at": None}, "no"),
        ({"last_seen_at": "2026-05-01T00:00:00Z", "last_logged_in_at": None}, "yes"),
        # The later of the two counts: seen yesterday on an old login is active.
        ({"last_logged_in_at": "2025-01-01T00:00:00Z", "last_seen_at": "2026-11-26T00:00:00Z"}, "no"),
        ({"last_logged_in_at": "2026-11-26T00:00:00Z", "last_seen_at": "2025-01-01T00:00:00Z"}, "no"),
        # Never logged in: stale once they have had the threshold's time to.
        ({"last_logged_in_at": None, "last_seen_at": None, "date_joined": "2026-01-01T00:00:00Z"}, "yes"),
        ({"last_logged_in_at": None, "last_seen_at": None, "date_joined": "2026-11-01T00:00:00Z"}, "no"),
        ({"last_logged_in_at": None, "last_seen_at": None}, "unknown"),
        # Exactly at the threshold is not yet stale; a second past it is.
        ({"last_seen_at": "2026-08-29T12:00:00Z"}, "no"),
        ({"last_seen_at": "2026-08-29T11:59:59Z"}, "yes"),
        # A naive time is read as UTC, not refused.
        ({"last_seen_at": "2026-11-26T00:00:00"}, "no"),
    ],
)
def test_staleness(fields: dict[str, object], expected: str) -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert staleness(member(**fields), now, timedelta(days=90)) == expected


async def test_several_pages_stream_row_by_row_with_no_team_calls(emulator: EmulatorServer) -> None:
    """Rows are written as pages arrive (not after the whole listing), and only member pages are read."""
    state = emulator.state
    oat = seed_large(state, members=250, teams=12, org="streamco")
    state.clear_requests()
    requests_at_first_row: list[int] = []

    class Watching(io.StringIO):
        def write(self, text: str) -> int:
            if not requests_at_first_row and text.startswith("user"):
                requests_at_first_row.append(len(state.requests))
            return super().write(text)

    connection = HubConnection(org="streamco", oat=SecretStr(oat), base_url=emulator.base_url)
    async with HubClient(connection, retry_policy=FAST_RETRIES, page_concurrency=1) as client:
        out = Watching(newline="")
        summary = await write_review_csv(client, out, now=NOW)
        sent = client.requests_sent
    rows = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    org = state.org("streamco")
    assert [r["username"] for r in rows] == sorted(org.members)
    assert summary.members == 250 and summary.unknown_activity == 0
    assert summary.stale == sum(expected_stale(m) == "yes" for m in org.members.values())
    # Minimum: 1 exchange + 1 invites + ceil(250 / 100) member pages.
    assert sent == len(state.requests) == 1 + 1 + 3
    assert {r.path for r in state.requests} == {
        "/v2/auth/token",
        "/v2/orgs/streamco/members",
        "/v2/orgs/streamco/invites",
    }
    # With one page in flight, the first row was out before the last page was asked for.
    assert requests_at_first_row and requests_at_first_row[0] < 5


async def test_a_failing_listing_raises_and_leaves_no_task_behind(
    hub: HubClient, emulator_state: EmulatorState
) -> None:
    emulator_state.fail_next(20, status=503)
    with pytest.raises(HubError):
        await write_review_csv(hub, io.StringIO(), now=NOW)

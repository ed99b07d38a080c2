"""HubClient's audit-log methods against the emulator: paging without a count, filters, actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub import paths
from hub.client import HubClient
from hub.emulator import DEMO, EmulatorServer, EmulatorState


async def test_pages_until_a_short_page(hub: HubClient, emulator: EmulatorServer) -> None:
    state: EmulatorState = emulator.state
    for index in range(7):
        state.web_ui_change(DEMO.org, "alicechen", "team.create", team=f"squad{index}")
    total = len(state.audit_events(DEMO.org))
    state.clear_requests()
    events = [event async for event in hub.iter_audit_logs(page_size=3)]
    assert len(events) == total
    stamps = [event.timestamp for event in events]
    assert stamps == sorted(stamps, reverse=True)  # newest first, as served
    pages = [r for r in state.requests if r.path == f"/v2/auditlogs/{DEMO.org}"]
    assert len(pages) == total // 3 + 1  # the last, short (or empty) page ends it
    assert all("page_size=3" in r.query for r in pages)


async def test_filters_reach_the_wire(hub: HubClient, emulator: EmulatorServer) -> None:
    state: EmulatorState = emulator.state
    state.web_ui_change(DEMO.org, "carolsmith", "team.member.add", team="data", username="umarkhan")
    since = datetime.now(UTC) - timedelta(minutes=5)
    found = await hub.list_audit_logs(action="team.member.add", name="umarkhan", actor="carolsmith", from_=since)
    (event,) = found
    assert event.action == "org.team.member.add" and event.data == {"team": "data"}
    assert event.action_description == "added umarkhan to the team data"
    assert await hub.list_audit_logs(from_=datetime.now(UTC) + timedelta(hours=1)) == []


async def test_actions(hub: HubClient) -> None:
    actions = await hub.list_audit_log_actions()
    names = {f"{group}.{action.name}" for group, listing in actions.actions.items() for action in listing.actions}
    assert {"org.member.role.change", "org.team.member.add", "repo.tag.push"} <= names


def test_audit_paths_are_named_by_their_template() -> None:
    assert paths.route(paths.audit_logs("acme")) == "/v2/auditlogs/{account}"
    assert paths.route(paths.audit_log_actions("acme")) == "/v2/auditlogs/{account}/actions"

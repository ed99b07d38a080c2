"""No input can change which endpoint is called: hostile values are refused before any request."""

from __future__ import annotations

import pytest

from hub import paths
from hub.client import HubClient
from hub.emulator import EmulatorState
from hub.errors import InvalidInput

HOSTILE = [
    "../owners",
    "..",
    "a/b",
    "team%2fowners",
    "back end",
    "backend\n",
    "back\x00end",
    "",
    "x" * 300,
    "tëam",
    "backend?x=1",
    "backend#frag",
]


@pytest.mark.parametrize("value", HOSTILE)
async def test_hostile_team_names_send_nothing(hub: HubClient, emulator_state: EmulatorState, value: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        await hub.get_group(value)
    assert caught.value.field == "team name"
    assert emulator_state.requests == []


@pytest.mark.parametrize("value", HOSTILE)
async def test_hostile_usernames_send_nothing(hub: HubClient, emulator_state: EmulatorState, value: str) -> None:
    with pytest.raises(InvalidInput):
        await hub.remove_member(value)
    with pytest.raises(InvalidInput):
        await hub.add_group_member("backend", value)
    assert emulator_state.requests == []


@pytest.mark.parametrize("value", [*HOSTILE, "API", "-api"])
async def test_hostile_repository_names_send_nothing(hub: HubClient, emulator_state: EmulatorState, value: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        await hub.grant_team_access("backend", value, "write")
    assert caught.value.field == "repository"
    with pytest.raises(InvalidInput):
        await hub.get_repository(value)
    assert emulator_state.requests == []


@pytest.mark.parametrize("value", ["not-a-uuid", "../bulk", "1234"])
async def test_hostile_invite_ids_send_nothing(hub: HubClient, emulator_state: EmulatorState, value: str) -> None:
    with pytest.raises(InvalidInput):
        await hub.cancel_invite(value)
    assert emulator_state.requests == []


async def test_bad_roles_and_permissions_send_nothing(hub: HubClient, emulator_state: EmulatorState) -> None:
    with pytest.raises(InvalidInput, match="expected owner, editor or member"):
        await hub.update_member_role("ivanpetrov", "superuser")
    with pytest.raises(InvalidInput, match="expected read, write or admin"):
        await hub.grant_team_access("backend", "api", "root")
    assert emulator_state.requests == []


def test_the_message_names_the_value_and_why() -> None:
    with pytest.raises(InvalidInput) as caught:
        paths.team("../owners")
    assert caught.value.message == (
        "team name '../owners' is not valid: use letters, digits, '-' or '_', joined by single '.'"
    )


def test_a_long_value_is_cut_in_the_message() -> None:
    with pytest.raises(InvalidInput) as caught:
        paths.username("a/" * 500)
    assert len(caught.value.message) < 200


def test_parse_repository_ref() -> None:
    assert paths.parse_repository_ref("acme/api") == ("acme", "api")
    for bad in ("acme", "acme/api/x", "/api", "acme/", "Acme/api"):
        with pytest.raises(InvalidInput):
            paths.parse_repository_ref(bad)


def test_built_paths_match_the_spec_exactly() -> None:
    assert paths.org_group_member("acme", "back-end_1", "a.b") == "/v2/orgs/acme/groups/back-end_1/members/a.b"
    assert paths.repository_group("acme", "api", 1001) == "/v2/repositories/acme/api/groups/1001"
    assert paths.invite_resend("e36eca69-4cc8-4f17-9845-ae8c2b832691") == (
        "/v2/invites/e36eca69-4cc8-4f17-9845-ae8c2b832691/resend"
    )

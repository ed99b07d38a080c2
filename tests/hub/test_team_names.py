"""Team names Docker Hub returns are readable and addressable, whatever rule they were made under;
the 3-30 character rule applies to new names only (create and rename)."""

from __future__ import annotations

import pytest

from hub import paths
from hub.client import HubClient
from hub.emulator import EmulatorState
from hub.errors import InvalidInput

# Made before today's rule: too short, and too long with a dot.
LEGACY = ["qa", "release-engineering.build-and-deploy-2015"]


@pytest.fixture
def legacy_teams(emulator_state: EmulatorState) -> EmulatorState:
    for name in LEGACY:
        emulator_state.add_group("acme", name, f"the {name} team", members=["ivanpetrov"], legacy_name=True)
    return emulator_state


@pytest.mark.parametrize("name", LEGACY)
async def test_a_legacy_team_can_be_looked_up_listed_and_changed(
    hub: HubClient, legacy_teams: EmulatorState, name: str
) -> None:
    assert (await hub.get_group(name)).name == name
    assert name in [group.name for group in await hub.list_groups()]
    assert [m.username for m in await hub.list_group_members(name)] == ["ivanpetrov"]
    await hub.add_group_member(name, "umarkhan")
    assert set(legacy_teams.org("acme").groups[name].members) == {"ivanpetrov", "umarkhan"}
    await hub.remove_group_member(name, "ivanpetrov")
    assert list(legacy_teams.org("acme").groups[name].members) == ["umarkhan"]
    await hub.update_group(name, description="kept")
    assert legacy_teams.org("acme").groups[name].description == "kept"


async def test_a_legacy_team_can_be_renamed_to_a_valid_name_and_deleted(
    hub: HubClient, legacy_teams: EmulatorState
) -> None:
    assert (await hub.update_group("qa", new_name="quality")).name == "quality"
    await hub.delete_group(LEGACY[1])
    assert "quality" in legacy_teams.org("acme").groups
    assert LEGACY[1] not in legacy_teams.org("acme").groups


@pytest.mark.parametrize("name", ["qa", "x" * 31, "back.end"])
async def test_creating_or_renaming_to_a_name_outside_the_rule_is_refused_before_any_request(
    hub: HubClient, emulator_state: EmulatorState, name: str
) -> None:
    with pytest.raises(InvalidInput) as created:
        await hub.create_group(name)
    assert created.value.message == (
        f"team name {name!r} is not valid: a new team name must be 3-30 letters, digits, '-' or '_'"
    )
    with pytest.raises(InvalidInput, match="a new team name must be 3-30"):
        await hub.update_group("backend", new_name=name)
    assert emulator_state.requests == []


def test_addressing_checks_path_safety_and_new_names_check_the_rule() -> None:
    assert paths.team("qa") == "qa"
    assert paths.org_group("acme", "qa") == "/v2/orgs/acme/groups/qa"
    assert paths.new_team_name("backend") == "backend"
    for unsafe in ("..", ".", "a/b", "qa.", ".qa", "q a", "qa%2f"):
        with pytest.raises(InvalidInput):
            paths.team(unsafe)
    with pytest.raises(InvalidInput):
        paths.new_team_name("qa")

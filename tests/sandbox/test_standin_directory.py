"""The stand-in's people and groups, as a bot looks them up."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import DEMO_SLACK_USERS, DEMO_USERGROUPS
from hub.emulator import EmulatorState, seed_demo

from .conftest import ALICE


async def test_users_info_returns_the_profile_a_bot_reads(slack: AsyncWebClient) -> None:
    user = (await slack.users_info(user=ALICE))["user"]
    assert (user["id"], user["name"], user["real_name"], user["is_bot"], user["deleted"]) == (
        ALICE,
        "alice",
        "Alice Chen",
        False,
        False,
    )
    assert user["profile"]["email"] == "alicechen@acme.example"
    assert user["profile"]["display_name"] == "Alice"
    bot = (await slack.users_info(user="U0HUBKEEP1"))["user"]
    assert bot["is_bot"] is True
    with pytest.raises(SlackApiError) as caught:
        await slack.users_info(user="U0NOBODY1")
    assert caught.value.response["error"] == "user_not_found"


async def test_lookup_by_email(slack: AsyncWebClient) -> None:
    found = await slack.users_lookupByEmail(email="ErinPatel@acme.example")
    assert found["user"]["id"] == "U0ERINP01"
    with pytest.raises(SlackApiError) as caught:
        await slack.users_lookupByEmail(email="ghost@acme.example")
    assert caught.value.response["error"] == "users_not_found"


async def test_read_methods_ignore_json_bodies_like_slack(slack: AsyncWebClient) -> None:
    # users.lookupByEmail takes form or query arguments only; JSON arrives as nothing.
    with pytest.raises(SlackApiError) as caught:
        await slack.api_call("users.lookupByEmail", json={"email": "erinpatel@acme.example"})
    assert caught.value.response["error"] == "users_not_found"


async def test_usergroup_members(slack: AsyncWebClient) -> None:
    approvers = await slack.usergroups_users_list(usergroup="S0APPROVERS")
    assert approvers["users"] == ["U0ALICE01", "U0BOBOK01"]
    with pytest.raises(SlackApiError) as caught:
        await slack.usergroups_users_list(usergroup="S0NOPE")
    assert caught.value.response["error"] == "no_such_subteam"


def test_demo_people_match_the_docker_hub_demo_org() -> None:
    state = EmulatorState()
    seed_demo(state)
    hub_roles = {m.email: m.role for m in state.org("acme").members.values()}
    for user in DEMO_SLACK_USERS:
        assert hub_roles.get(user.email) == user.hub_role, user.email
    assert [u.email for u in DEMO_SLACK_USERS if u.hub_role is None] == ["newbie@acme.example"]
    owners = {u.id for u in DEMO_SLACK_USERS if u.hub_role == "owner"}
    assert set(DEMO_USERGROUPS["S0APPROVERS"]) == owners

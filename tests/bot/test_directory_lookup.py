"""`SlackDirectory.user_by_email` against the Slack stand-in: users.lookupByEmail, remembered for a while
(a miss too), and users_not_found is "nobody", never an error."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack_api import SlackStandIn
from bot.slack_io import SlackDirectory


async def test_a_slack_user_is_found_by_email_and_remembered(slack: SlackStandIn) -> None:
    directory = SlackDirectory(AsyncWebClient(token=slack.bot_token, base_url=slack.api_url))
    assert await directory.user_by_email("KenjiSato@acme.example") == "U0KENJI01"
    assert await directory.user_by_email("kenjisato@acme.example") == "U0KENJI01"
    assert await directory.user_by_email("umarkhan@acme.example") is None
    assert await directory.user_by_email("umarkhan@acme.example") is None
    calls = slack.calls_to("users.lookupByEmail")
    assert [(call.args.get("email"), call.error) for call in calls] == [
        ("kenjisato@acme.example", None),
        ("umarkhan@acme.example", "users_not_found"),
    ]


async def test_the_cache_runs_out(slack: SlackStandIn) -> None:
    directory = SlackDirectory(AsyncWebClient(token=slack.bot_token, base_url=slack.api_url), ttl=0)
    for _ in range(2):
        assert await directory.user_by_email("kenjisato@acme.example") == "U0KENJI01"
    assert len(slack.calls_to("users.lookupByEmail")) == 2

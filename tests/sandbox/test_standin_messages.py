"""The stand-in driven by slack_sdk's AsyncWebClient: auth, messages, ephemerals and response_urls."""

from __future__ import annotations

import json

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.sandbox import SlackStandIn

from .conftest import ALICE, HUB_OPS, IVAN

BUTTON_BLOCKS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Approve?*"}},
    {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Yes"}, "value": "1"}]},
]


async def test_auth_test_reports_the_bot_identity(slack: AsyncWebClient) -> None:
    response = await slack.auth_test()
    assert response["ok"] is True
    assert (response["team_id"], response["user_id"], response["bot_id"]) == ("T0ACME0001", "U0HUBKEEP1", "B0HUBKEEP1")


@pytest.mark.parametrize(("token", "error"), [("xoxb-wrong", "invalid_auth"), (None, "not_authed")])
async def test_a_wrong_or_missing_token_is_refused(standin: SlackStandIn, token: str | None, error: str) -> None:
    client = AsyncWebClient(token=token, base_url=standin.api_url)
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel=HUB_OPS, text="hi")
    assert caught.value.response.status_code == 200
    assert caught.value.response["error"] == error
    assert standin.messages(HUB_OPS) == []


async def test_unknown_method(slack: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        await slack.api_call("chat.teleport", json={"channel": HUB_OPS})
    assert caught.value.response["error"] == "unknown_method"


async def test_post_message_returns_slack_ts_and_stores_blocks(slack: AsyncWebClient, standin: SlackStandIn) -> None:
    first = await slack.chat_postMessage(channel=HUB_OPS, text="Approve?", blocks=BUTTON_BLOCKS)
    second = await slack.chat_postMessage(channel="#hub-ops", text="second", thread_ts=first["ts"])
    assert first["channel"] == second["channel"] == HUB_OPS
    seconds, micros = first["ts"].split(".")
    assert len(micros) == 6 and seconds.isdigit()
    assert float(second["ts"]) > float(first["ts"])
    message = first["message"]
    assert message["bot_id"] == "B0HUBKEEP1" and message["text"] == "Approve?"
    # Slack fills in block_id and action_id when the bot leaves them out.
    assert all(block["block_id"] for block in message["blocks"])
    assert message["blocks"][1]["elements"][0]["action_id"]
    stored = standin.messages(HUB_OPS)
    assert [m["ts"] for m in stored] == [first["ts"], second["ts"]]
    assert stored[1]["thread_ts"] == first["ts"]


async def test_form_bodies_carry_blocks_as_json_strings(slack: AsyncWebClient, standin: SlackStandIn) -> None:
    form = {"channel": HUB_OPS, "text": "form", "blocks": json.dumps(BUTTON_BLOCKS)}
    response = await slack.api_call("chat.postMessage", data=form)
    assert response["message"]["blocks"][0]["text"]["text"] == "*Approve?*"
    assert standin.calls_to("chat.postMessage")[0].args["blocks"][0]["type"] == "section"


async def test_post_message_errors(slack: AsyncWebClient) -> None:
    for kwargs, error in [
        ({"channel": "C0NOPE0000", "text": "x"}, "channel_not_found"),
        ({"channel": HUB_OPS, "text": "x", "blocks": [{"text": "no type"}]}, "invalid_blocks"),
        ({"channel": HUB_OPS, "text": "x", "thread_ts": "1.000001"}, "thread_not_found"),
    ]:
        with pytest.raises(SlackApiError) as caught:
            await slack.chat_postMessage(**kwargs)
        assert caught.value.response["error"] == error
    with pytest.raises(SlackApiError) as caught:
        # Through api_call: slack_sdk itself warns before sending a message without text.
        await slack.api_call("chat.postMessage", json={"channel": HUB_OPS})
    assert caught.value.response["error"] == "no_text"


async def test_post_to_a_user_id_lands_in_their_dm(slack: AsyncWebClient, standin: SlackStandIn) -> None:
    opened = await slack.conversations_open(users=IVAN)
    again = await slack.conversations_open(users=[IVAN])
    assert opened["channel"]["id"] == again["channel"]["id"] == "D0IVANP01"
    posted = await slack.chat_postMessage(channel=IVAN, text="hello Ivan")
    assert posted["channel"] == "D0IVANP01"
    assert [m["text"] for m in standin.dms(IVAN)] == ["hello Ivan"]
    with pytest.raises(SlackApiError) as caught:
        await slack.conversations_open(users="U0NOBODY1")
    assert caught.value.response["error"] == "user_not_found"


async def test_update_replaces_content_and_keeps_unsent_blocks(slack: AsyncWebClient, standin: SlackStandIn) -> None:
    posted = await slack.chat_postMessage(channel=HUB_OPS, text="pending", blocks=BUTTON_BLOCKS)
    updated = await slack.chat_update(channel=HUB_OPS, ts=posted["ts"], text="approved by Alice")
    assert updated["ts"] == posted["ts"] and updated["message"]["text"] == "approved by Alice"
    assert len(standin.messages(HUB_OPS)[0]["blocks"]) == 2
    await slack.chat_update(channel=HUB_OPS, ts=posted["ts"], text="done", blocks=[])
    [message] = standin.messages(HUB_OPS)
    assert message["text"] == "done" and message["blocks"] == [] and "edited" in message


async def test_update_errors(slack: AsyncWebClient) -> None:
    ephemeral = await slack.chat_postEphemeral(channel=HUB_OPS, user=ALICE, text="just you")
    with pytest.raises(SlackApiError) as caught:
        await slack.chat_update(channel=HUB_OPS, ts=ephemeral["message_ts"], text="x")
    assert caught.value.response["error"] == "cant_update_message"
    with pytest.raises(SlackApiError) as caught:
        await slack.chat_update(channel=HUB_OPS, ts="1700000000.000001", text="x")
    assert caught.value.response["error"] == "message_not_found"


async def test_ephemerals_are_per_user(slack: AsyncWebClient, standin: SlackStandIn) -> None:
    response = await slack.chat_postEphemeral(channel=HUB_OPS, user=ALICE, text="only Alice", blocks=BUTTON_BLOCKS)
    [ephemeral] = standin.ephemerals(ALICE)
    assert ephemeral["ts"] == response["message_ts"] and ephemeral["channel"] == HUB_OPS
    assert standin.ephemerals(IVAN) == [] and standin.messages(HUB_OPS) == []
    with pytest.raises(SlackApiError) as caught:
        await slack.chat_postEphemeral(channel=HUB_OPS, user="U0NOBODY1", text="x")
    assert caught.value.response["error"] == "user_not_found"


async def test_response_url_posts_then_replaces_its_ephemeral(standin: SlackStandIn) -> None:
    webhook = AsyncWebhookClient(standin.new_response_url(ALICE, HUB_OPS))
    first = await webhook.send(text="Working…")
    assert (first.status_code, first.body) == (200, "ok")
    await webhook.send(text="Done", blocks=BUTTON_BLOCKS, replace_original=True)
    [only] = standin.ephemerals(ALICE)
    assert only["text"] == "Done" and only["source"] == "response_url" and len(only["blocks"]) == 2
    await webhook.send(text="Everyone sees this", response_type="in_channel")
    assert [m["text"] for m in standin.messages(HUB_OPS)] == ["Everyone sees this"]


async def test_response_url_from_a_channel_message_replaces_or_deletes_it(
    slack: AsyncWebClient, standin: SlackStandIn
) -> None:
    posted = await slack.chat_postMessage(channel=HUB_OPS, text="pending", blocks=BUTTON_BLOCKS)
    url = standin.new_response_url(ALICE, HUB_OPS, original_ts=posted["ts"])
    await AsyncWebhookClient(url).send(text="approved", replace_original=True)
    [message] = standin.messages(HUB_OPS)
    assert message["ts"] == posted["ts"] and message["text"] == "approved" and "blocks" not in message
    await AsyncWebhookClient(url).send_dict({"delete_original": True})
    assert standin.messages(HUB_OPS) == []


async def test_response_url_refusals(standin: SlackStandIn) -> None:
    missing = await AsyncWebhookClient(f"{standin.base_url}/response/R0NOPE").send(text="x")
    assert (missing.status_code, missing.body) == (404, "no_service")
    empty = await AsyncWebhookClient(standin.new_response_url(ALICE, HUB_OPS)).send_dict({"response_type": "ephemeral"})
    assert (empty.status_code, empty.body) == (400, "no_text")


async def test_wait_for_polls_until_the_call_arrives(slack: AsyncWebClient, standin: SlackStandIn) -> None:
    with pytest.raises(TimeoutError, match=r"chat\.postMessage"):
        await standin.wait_for_async("chat.postMessage", timeout=0.05)
    await slack.chat_postMessage(channel=HUB_OPS, text="one")
    calls = await standin.wait_for_async("chat.postMessage")
    assert calls[0].args["text"] == "one"
    assert standin.wait_for(lambda: standin.messages(HUB_OPS))[0]["text"] == "one"


async def test_the_standin_can_run_on_the_callers_loop() -> None:
    # The sandbox runs the stand-in, the console and the bot on one loop.
    standin = await SlackStandIn(bot_token="xoxb-loop").start_async()
    try:
        client = AsyncWebClient(token="xoxb-loop", base_url=standin.api_url)
        await client.chat_postMessage(channel=HUB_OPS, text="same loop")
        calls = await standin.wait_for_async("chat.postMessage")
        assert calls[0].args == {"channel": HUB_OPS, "text": "same loop"}
    finally:
        await standin.stop_async()
    with pytest.raises(RuntimeError):
        _ = standin.api_url

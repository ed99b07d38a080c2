"""Modals, the Home tab, file uploads (v2) and injected rate limits through slack_sdk."""

from __future__ import annotations

import time

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import SlackStandIn

from .conftest import ALICE, BOT_TOKEN, HUB_OPS, IVAN


def modal(title: str) -> dict[str, object]:
    return {
        "type": "modal",
        "callback_id": "invite",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Invite"},
        "blocks": [
            {
                "type": "input",
                "block_id": "email",
                "label": {"type": "plain_text", "text": "Email"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            }
        ],
    }


async def test_views_open_push_update_and_trigger_rules(slack: AsyncWebClient, standin: SlackStandIn) -> None:
    trigger = standin.new_trigger_id(ALICE)
    opened = (await slack.views_open(trigger_id=trigger, view=modal("Invite")))["view"]
    assert opened["id"].startswith("V") and opened["callback_id"] == "invite" and opened["hash"]
    with pytest.raises(SlackApiError) as caught:
        await slack.views_open(trigger_id=trigger, view=modal("Again"))
    assert caught.value.response["error"] == "exchanged_trigger_id"
    with pytest.raises(SlackApiError) as caught:
        await slack.views_open(trigger_id="1.2.made-up", view=modal("Nope"))
    assert caught.value.response["error"] == "invalid_trigger_id"

    pushed = (await slack.views_push(trigger_id=standin.new_trigger_id(ALICE), view=modal("Confirm")))["view"]
    assert pushed["root_view_id"] == opened["id"] and pushed["previous_view_id"] == opened["id"]
    updated = (await slack.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("Invited")))["view"]
    assert updated["id"] == opened["id"] and updated["title"]["text"] == "Invited"
    with pytest.raises(SlackApiError) as caught:
        await slack.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("Stale"))
    assert caught.value.response["error"] == "hash_conflict"
    assert [v["title"]["text"] for v in standin.modal_stack(ALICE)] == ["Invited", "Confirm"]
    assert standin.modal_stack(IVAN) == []


async def test_an_old_trigger_id_has_expired(slack: AsyncWebClient, standin: SlackStandIn) -> None:
    trigger = standin.new_trigger_id(ALICE)
    standin.state.triggers[trigger].created = time.monotonic() - 4
    with pytest.raises(SlackApiError) as caught:
        await slack.views_open(trigger_id=trigger, view=modal("Late"))
    assert caught.value.response["error"] == "expired_trigger_id"


async def test_views_publish_keeps_one_home_per_user(slack: AsyncWebClient, standin: SlackStandIn) -> None:
    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}]}
    first = (await slack.views_publish(user_id=ALICE, view=home))["view"]
    second = (await slack.views_publish(user_id=ALICE, view=home))["view"]
    assert first["id"] == second["id"] and first["type"] == "home"
    assert standin.home(ALICE) is not None and standin.home(IVAN) is None
    assert first["id"] in standin.views


async def test_files_upload_v2_shares_into_a_dm(slack: AsyncWebClient, standin: SlackStandIn) -> None:
    dm = (await slack.conversations_open(users=IVAN))["channel"]["id"]
    content = "username,role\nivanpetrov,member\n"
    response = await slack.files_upload_v2(
        channel=dm,
        content=content,
        filename="access-review.csv",
        title="Access review",
        initial_comment="Your access review",
    )
    assert response["file"]["title"] == "Access review" and response["file"]["name"] == "access-review.csv"
    [stored] = standin.files
    assert stored.content == content.encode() and stored.channels == [dm]
    [message] = standin.dms(IVAN)
    assert message["text"] == "Your access review" and message["files"][0]["id"] == stored.id
    assert [c.method for c in standin.calls] == [
        "conversations.open",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]


async def test_complete_upload_refuses_a_file_never_uploaded(slack: AsyncWebClient) -> None:
    url = await slack.files_getUploadURLExternal(filename="x.txt", length=3)
    with pytest.raises(SlackApiError) as caught:
        await slack.files_completeUploadExternal(files=[{"id": url["file_id"], "title": "x"}], channel_id=HUB_OPS)
    assert caught.value.response["error"] == "file_not_found"


async def test_a_429_without_a_retry_handler_surfaces(slack: AsyncWebClient, standin: SlackStandIn) -> None:
    standin.rate_limit_next(1, retry_after=7, method="chat.postMessage")
    with pytest.raises(SlackApiError) as caught:
        await slack.chat_postMessage(channel=HUB_OPS, text="lost")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "7"
    assert caught.value.response["error"] == "ratelimited"
    await slack.users_info(user=ALICE)  # other methods are not limited
    assert standin.messages(HUB_OPS) == []


async def test_the_rate_limit_retry_handler_gets_the_message_through(standin: SlackStandIn) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=standin.api_url)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    # Retry-After 0 keeps the test fast: the handler sleeps Retry-After plus up to 1 s of jitter.
    standin.rate_limit_next(1, retry_after=0)
    response = await client.chat_postMessage(channel=HUB_OPS, text="approval needed")
    assert response["ok"] is True
    assert [m["text"] for m in standin.messages(HUB_OPS)] == ["approval needed"]
    assert [c.status for c in standin.calls_to("chat.postMessage")] == [429, 200]

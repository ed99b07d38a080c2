"""A tiny Bolt app of the tests' own, standing in for hubkeeper behind the console."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

XSS = '&lt;script&gt;window.pwned = 1&lt;/script&gt; and <img src=x onerror="window.pwned=2">'


def request_blocks(text: str) -> list[dict[str, Any]]:
    return [
        {"type": "header", "text": {"type": "plain_text", "text": "Access request"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Invite* `newbie@acme.example` to _acme_? {text}"}},
        {"type": "divider"},
        {
            "type": "actions",
            "block_id": "decide",
            "elements": [
                {
                    "type": "button",
                    "action_id": "approve",
                    "style": "primary",
                    "value": "req-1",
                    "text": {"type": "plain_text", "text": "Approve"},
                },
                {
                    "type": "button",
                    "action_id": "deny",
                    "style": "danger",
                    "value": "req-1",
                    "text": {"type": "plain_text", "text": "Deny"},
                    "confirm": {
                        "title": {"type": "plain_text", "text": "Deny?"},
                        "text": {"type": "plain_text", "text": "Really deny?"},
                        "confirm": {"type": "plain_text", "text": "Deny"},
                        "deny": {"type": "plain_text", "text": "Keep"},
                    },
                },
            ],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Requested by <@U0ALICE01> · <!channel>"}]},
    ]


INVITE_MODAL = {
    "type": "modal",
    "callback_id": "invite",
    "title": {"type": "plain_text", "text": "Invite"},
    "submit": {"type": "plain_text", "text": "Invite"},
    "blocks": [
        {
            "type": "input",
            "block_id": "email",
            "label": {"type": "plain_text", "text": "Email"},
            "element": {"type": "plain_text_input", "action_id": "value"},
        },
    ],
}


def build_tiny_bolt(api_url: str, token: str, signing_secret: str, seen: list[dict[str, Any]]) -> AsyncApp:
    """`seen` collects every body the listeners got, so tests can check what the console sent."""
    app = AsyncApp(client=AsyncWebClient(token=token, base_url=api_url), signing_secret=signing_secret)

    @app.command("/hub")
    async def hub(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
        seen.append(command)
        text = command.get("text", "")
        if text == "ping":
            await ack("pong")
        elif text == "shout":
            await ack(text="Heard you all", response_type="in_channel")
        elif text == "announce":
            await ack()
            await client.chat_postMessage(
                channel=command["channel_id"], text="Access request", blocks=request_blocks("")
            )
        elif text == "invite":
            await ack()
            await client.views_open(trigger_id=command["trigger_id"], view=INVITE_MODAL)
        else:
            await ack()
            await respond(text="Access request", blocks=request_blocks(XSS if text == "xss" else ""))

    @app.action("approve")
    async def approve(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
        await ack()
        seen.append(body)
        decided = [{"type": "section", "text": {"type": "mrkdwn", "text": f"Approved by <@{body['user']['id']}>"}}]
        if body["container"]["is_ephemeral"]:
            await respond(replace_original=True, text="Approved", blocks=decided)
        else:
            await client.chat_update(
                channel=body["channel"]["id"], ts=body["message"]["ts"], text="Approved", blocks=decided
            )

    @app.view("invite")
    async def invite(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        seen.append(body)
        email = view["state"]["values"]["email"]["value"]["value"] or ""
        if "@" not in email:
            await ack(response_action="errors", errors={"email": "That is not an email address"})
        else:
            await ack()

    return app

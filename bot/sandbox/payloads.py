"""Requests exactly as Slack sends them to a bot: slash-command forms, interaction payloads, signatures."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from .directory import SlackIdentity, SlackUser


def signed_headers(signing_secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 signature over `v0:{timestamp}:{body}`; the body must be sent byte for byte as signed."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=stamp, body=body)
    assert signature is not None  # only None when given no timestamp
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }


_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_AT_NAME = re.compile(r"(?<!\S)@([\w.-]+)")


def escaped_command_text(text: str, users: Iterable[SlackUser]) -> str:
    """The command's text as Slack sends it with the manifest's `should_escape: true`: `&`, `<` and `>` as
    entities, emails as `<mailto:…|as typed>`, and a person picked with @ (a workspace member's name) as
    `<@U…|name>`. Any other @word stays text, as Slack leaves it."""
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out = _EMAIL.sub(lambda found: f"<mailto:{found.group(0)}|{found.group(0)}>", out)
    by_name = {user.name: user for user in users if not user.deleted}

    def person(found: re.Match[str]) -> str:
        user = by_name.get(found.group(1))
        return f"<@{user.id}|{user.name}>" if user is not None else found.group(0)

    return _AT_NAME.sub(person, out)


def slash_command_body(
    ident: SlackIdentity,
    user: SlackUser,
    channel: tuple[str, str],
    command: str,
    text: str,
    response_url: str,
    trigger_id: str,
) -> str:
    """The form body of a slash command, fields in Slack's order (spaces as '+', as Slack encodes them)."""
    channel_id, channel_name = channel
    return urlencode(
        [
            ("token", ident.verification_token),
            ("team_id", ident.team_id),
            ("team_domain", ident.team_domain),
            ("channel_id", channel_id),
            ("channel_name", channel_name),
            ("user_id", user.id),
            ("user_name", user.name),
            ("command", command),
            ("text", text),
            ("api_app_id", ident.app_id),
            ("is_enterprise_install", "false"),
            ("response_url", response_url),
            ("trigger_id", trigger_id),
        ]
    )


def _common(ident: SlackIdentity, user: SlackUser, kind: str, trigger_id: str) -> dict[str, Any]:
    return {
        "type": kind,
        "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": ident.team_id},
        "api_app_id": ident.app_id,
        "token": ident.verification_token,
        "trigger_id": trigger_id,
        "team": {"id": ident.team_id, "domain": ident.team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
    }


def block_actions_payload(
    ident: SlackIdentity,
    user: SlackUser,
    channel: tuple[str, str],
    message: dict[str, Any],
    ephemeral: bool,
    element: dict[str, Any],
    block_id: str,
    response_url: str,
    trigger_id: str,
) -> dict[str, Any]:
    channel_id, channel_name = channel
    payload = _common(ident, user, "block_actions", trigger_id)
    payload.update(
        container={
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel_id,
            "is_ephemeral": ephemeral,
        },
        channel={"id": channel_id, "name": channel_name},
        state={"values": {}},
        response_url=response_url,
        actions=[
            {
                "action_id": element["action_id"],
                "block_id": block_id,
                "text": {"type": "plain_text", "text": element.get("text", {}).get("text", ""), "emoji": True},
                "value": element.get("value", ""),
                "type": element.get("type", "button"),
                "action_ts": f"{time.time():.6f}",
                **({"style": element["style"]} if "style" in element else {}),
            }
        ],
    )
    if not ephemeral:
        # Slack leaves the message out for ephemeral sources: the bot never stored one it could look up.
        sandbox_only = ("channel", "source", "is_ephemeral")
        payload["message"] = {k: v for k, v in message.items() if k not in sandbox_only}
    return payload


def view_submission_payload(
    ident: SlackIdentity, user: SlackUser, view: dict[str, Any], values: dict[str, dict[str, str]], trigger_id: str
) -> dict[str, Any]:
    """A view_submission; `values` is {block_id: {action_id: text}} from the console's inputs."""
    state: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks", []):
        element = block.get("element") if block.get("type") == "input" else None
        if not isinstance(element, dict):
            continue
        typed = values.get(block["block_id"], {}).get(element["action_id"])
        state.setdefault(block["block_id"], {})[element["action_id"]] = {
            "type": element.get("type", "plain_text_input"),
            "value": typed if typed else None,  # Slack sends null for an empty optional input
        }
    payload = _common(ident, user, "view_submission", trigger_id)
    payload.update(view={**view, "state": {"values": state}}, response_urls=[])
    return payload


def interaction_body(payload: dict[str, Any]) -> str:
    """Interactions arrive as a form with one field, `payload`, holding URL-quoted JSON."""
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})

"""What a POST to a response_url does: post, replace or delete, as ephemeral or in the channel."""

from __future__ import annotations

from typing import Any

from .slack_methods import message_content
from .slack_state import Message, ResponseUrl, SlackState


def _flag(payload: dict[str, Any], name: str) -> bool:
    return payload.get(name) in (True, "true", "True", "1")


def _original(state: SlackState, entry: ResponseUrl) -> Message | None:
    if entry.original is None:
        return None
    kind, ts = entry.original
    if kind == "ephemeral":
        found = state.find_ephemeral(ts)
        return found[1] if found is not None else None
    return state.find_message(entry.channel_id, ts)


def apply_response(state: SlackState, entry: ResponseUrl, payload: dict[str, Any]) -> None:
    """Raises SlackApiFault (no_text, invalid_blocks) for a body Slack would refuse."""
    with state.changing():
        entry.uses += 1
        target = _original(state, entry)
        if _flag(payload, "delete_original"):
            if target is not None:
                state.delete(target)
            return
        content = message_content(payload)
        if _flag(payload, "replace_original") and target is not None:
            # A replacement keeps the original's visibility and ts; fields not sent are gone, as in Slack.
            state.replace_content(target, content, keep_missing=False)
            return
        if payload.get("response_type") == "in_channel":
            state.add_message(entry.channel_id, content)
            return
        posted = state.add_ephemeral(entry.user_id, entry.channel_id, content, source="response_url")
        if entry.original is None:
            # The next replace_original through this URL replaces what it posted, like Slack's command replies.
            entry.original = ("ephemeral", posted["ts"])

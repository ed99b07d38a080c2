"""One check for every reply: Slack's Block Kit limits and our escaping rule.

slack_sdk's own models validate each block as a second opinion; they do not know the message-wide
limits (50 blocks, ~11k characters of text), which are checked here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from slack_sdk.models.blocks import Block as SdkBlock

from handlers.context import Reply

MAX_TOTAL_TEXT = 11_000
RAW_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")


def texts(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from texts(item)


def assert_escaped(text: str) -> None:
    """We never write `<…>` markup ourselves, so any `<` came from outside unescaped."""
    assert "<" not in text and ">" not in text, f"unescaped angle bracket in {text[:200]!r}"
    assert not RAW_AMPERSAND.search(text), f"unescaped & in {text[:200]!r}"


def _text_object(obj: Mapping[str, Any], limit: int, kinds: tuple[str, ...] = ("mrkdwn", "plain_text")) -> None:
    assert obj["type"] in kinds, obj
    assert 1 <= len(obj["text"]) <= limit, (len(obj["text"]), limit)


def _check_block(block: Mapping[str, Any]) -> None:
    kind = block["type"]
    if "block_id" in block:
        assert 1 <= len(block["block_id"]) <= 255
    if kind == "section":
        assert "text" in block or "fields" in block
        if "text" in block:
            _text_object(block["text"], 3000)
        fields = block.get("fields", [])
        assert len(fields) <= 10
        for field in fields:
            _text_object(field, 2000)
    elif kind == "header":
        _text_object(block["text"], 150, ("plain_text",))
    elif kind == "context":
        assert 1 <= len(block["elements"]) <= 10
        for element in block["elements"]:
            _text_object(element, 2000)
    elif kind == "actions":
        assert 1 <= len(block["elements"]) <= 25
        action_ids = [element["action_id"] for element in block["elements"]]
        assert len(set(action_ids)) == len(action_ids), "action_ids must be unique within a block"
        for element in block["elements"]:
            assert element["type"] == "button"
            _text_object(element["text"], 75, ("plain_text",))
            assert 1 <= len(element["action_id"]) <= 255
            assert len(element.get("value", "")) <= 2000
    else:
        assert kind == "divider", f"unexpected block type {kind}"
    SdkBlock.parse(dict(block)).validate_json()


def assert_valid_message(reply: Reply) -> None:
    assert isinstance(reply, Reply)
    assert reply.text.strip(), "every reply needs a fallback text"
    assert len(reply.text) <= 40_000
    assert reply.ephemeral, "lookups show emails: only whoever asked may see them"
    assert 1 <= len(reply.blocks) <= 50, len(reply.blocks)
    block_ids = [block["block_id"] for block in reply.blocks if "block_id" in block]
    assert len(set(block_ids)) == len(block_ids), "block_ids must be unique in a message"
    for block in reply.blocks:
        _check_block(block)
    total = sum(len(text) for text in texts(reply.blocks))
    assert total <= MAX_TOTAL_TEXT, f"{total} characters of block text (msg_blocks_too_long)"
    for text in [*texts(reply.blocks), reply.text]:
        assert_escaped(text)


def all_text(reply: Reply) -> str:
    return "\n".join(texts(reply.blocks))


def buttons(reply: Reply) -> dict[str, dict[str, Any]]:
    """Buttons by label."""
    return {
        element["text"]["text"]: element
        for block in reply.blocks
        if block["type"] == "actions"
        for element in block["elements"]
    }

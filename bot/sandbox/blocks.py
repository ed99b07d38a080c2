"""What Slack does to Block Kit on the way in: reject malformed blocks and fill in missing ids.

Slack assigns a random block_id to blocks sent without one and an action_id to interactive elements
without one; the ids come back in stored messages and in block_actions payloads, so a bot can observe them.
"""

from __future__ import annotations

import copy
import secrets
import string
from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
_INTERACTIVE = {"button", "static_select", "users_select", "overflow", "datepicker", "checkboxes", "radio_buttons"}
_ID_CHARS = string.ascii_letters + string.digits


class InvalidBlocks(ValueError):
    """Raised for input Slack answers with `invalid_blocks`."""


def _random_id(length: int) -> str:
    return "".join(secrets.choice(_ID_CHARS) for _ in range(length))


def _check_text_length(block: dict[str, Any]) -> None:
    text = block.get("text")
    if not isinstance(text, dict):
        return
    value = text.get("text", "")
    limit = MAX_HEADER_TEXT if block["type"] == "header" else MAX_SECTION_TEXT
    if isinstance(value, str) and len(value) > limit:
        raise InvalidBlocks(f"{block['type']} text must be at most {limit} characters")


def _fill_element_ids(elements: list[Any]) -> None:
    for element in elements:
        if isinstance(element, dict) and element.get("type") in _INTERACTIVE and "action_id" not in element:
            element["action_id"] = _random_id(5)


def normalize_blocks(blocks: Any, *, limit: int = MAX_MESSAGE_BLOCKS) -> list[dict[str, Any]]:
    """Validate like Slack (shape, count, text limits) and return a copy with every block_id/action_id set."""
    if not isinstance(blocks, list):
        raise InvalidBlocks("blocks must be an array")
    if len(blocks) > limit:
        raise InvalidBlocks(f"no more than {limit} items allowed")
    normalized: list[dict[str, Any]] = []
    for raw in blocks:
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            raise InvalidBlocks("every block needs a type")
        block = copy.deepcopy(raw)
        _check_text_length(block)
        block.setdefault("block_id", _random_id(5))
        if isinstance(block.get("elements"), list):
            _fill_element_ids(block["elements"])
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict):
                _fill_element_ids([block[key]])
        normalized.append(block)
    return normalized


def find_element(blocks: list[dict[str, Any]], block_id: str, action_id: str) -> dict[str, Any] | None:
    """The interactive element a click refers to, wherever Block Kit allows one in a message."""
    for block in blocks:
        if block.get("block_id") != block_id:
            continue
        candidates = [*block.get("elements", []), block.get("accessory")]
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return element
    return None

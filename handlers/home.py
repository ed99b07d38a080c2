"""The App Home tab: what hubkeeper is connected to and how to use it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handlers.blocks import escape
from handlers.commands import COMMANDS


def home_view(instances: Sequence[str]) -> dict[str, Any]:
    lines = "\n".join(f"• `/hub {spec.usage}`: {spec.description}" for spec in COMMANDS)
    connected = ", ".join(f"`{escape(label)}`" for label in instances) or "none configured"
    return {
        "type": "home",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "hubkeeper"}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"Runs the Docker Hub organization. Instances: {connected}."},
            },
            {"type": "divider"},
            {"type": "section", "text": {"type": "mrkdwn", "text": lines[:3000]}},
        ],
    }

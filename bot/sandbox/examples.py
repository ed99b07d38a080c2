"""Example commands the sandbox console offers as shortcuts: one click puts the command in the composer
(as the person it is meant for), so a visitor sees a workflow without knowing its syntax."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    label: str
    """The shortcut's text."""
    user: str
    """Who types it (a demo Slack user's ID): an approver is not the one to ask."""
    command: str
    """What goes in the composer, `/hub …`."""


DEMO_EXAMPLES: tuple[Example, ...] = (
    # A bulk add: one request, one approval; ivanpetrov (already in backend) and newhire@ (not a member
    # yet, an invite is pending) are named in the approval message and left out.
    Example(
        "Bulk add to a team",
        "U0IVANP01",
        "/hub team add backend umarkhan aaronwright elenarossi ivanpetrov newhire@acme.example --reason new quarter",
    ),
)

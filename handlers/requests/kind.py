"""The changes hubkeeper can make to a Docker Hub org, each as a kind with two steps.

`plan` runs when someone asks: it validates, checks preconditions against Docker Hub (the team
exists; the user is already an org member…), and returns the change in plain words for the
approval message. Nothing reaches Docker Hub but reads. `execute` runs after approval: it checks
the preconditions again (the org may have changed meanwhile), makes the change, and returns what
it did. The approval lifecycle (handlers/requests/approvals.py) only knows kinds by this interface.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from handlers.context import HandlerContext


class ChangeRefused(Exception):
    """A precondition does not hold; `message` tells the person why and what to do instead."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Plan:
    summary: str
    """The change in plain words, e.g. "Add *ivanpetrov* to team *backend*" (mrkdwn, escaped)."""
    params: dict[str, Any]
    """Normalised, JSON-safe parameters that `execute` will get (e.g. the username an email resolved to)."""
    destructive: bool = False
    """Delete team, remove from org, offboard, role → owner, revoke, cancel invite."""
    details: list[str] = field(default_factory=list)
    """Extra lines for the approval message (a dry run's result per invitee, what offboarding finds…)."""


@dataclass(frozen=True)
class Outcome:
    summary: str
    """What was done, in plain words, for the updated approval message and the requester's DM."""
    result: dict[str, Any] = field(default_factory=dict)
    """JSON-safe record of it, stored with the request and in the audit log."""


class ChangeKind(Protocol):
    name: str
    """Stored with the request; never renamed once used."""

    async def plan(self, ctx: HandlerContext, params: Mapping[str, Any]) -> Plan:
        """Validate and check preconditions; raise ChangeRefused (or a HubError) to refuse."""
        ...

    async def execute(self, ctx: HandlerContext, params: Mapping[str, Any]) -> Outcome:
        """Re-check and apply; raise ChangeRefused or a HubError when it cannot be done."""
        ...


KINDS: dict[str, ChangeKind] = {}


def register(kind: ChangeKind) -> ChangeKind:
    if kind.name in KINDS:
        raise ValueError(f"change kind {kind.name!r} is registered twice")
    KINDS[kind.name] = kind
    return kind

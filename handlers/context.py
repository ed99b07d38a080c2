"""What a handler gets and what it gives back: no Slack, no httpx, no environment in sight.

A handler is a plain async function `(ctx, …) -> Reply`. `bot/` builds the context (the instance's
Hub client, the actor, a messenger and a directory backed by Slack) and delivers the reply.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from handlers.stale import STALE_AFTER_DAYS

if TYPE_CHECKING:
    from handlers.access_index import AccessIndexStore
    from handlers.digest.service import Digests
    from handlers.onboarding import OnboardingStore
    from handlers.requests.lifecycle import RequestStore
    from handlers.review import Upload
    from hub.client import HubClient

Block = dict[str, Any]


@dataclass
class Reply:
    """A message to deliver: `text` is the notification fallback, `blocks` what people see."""

    text: str
    blocks: list[Block] = field(default_factory=list)
    ephemeral: bool = True
    """Lookups show emails, so they are seen only by whoever asked."""
    replace_original: bool = False
    """For button clicks on an ephemeral reply (paging): replace it rather than add another."""


class Messenger(Protocol):
    """Posting on Slack, for handlers whose result goes beyond the reply to the command."""

    async def post(self, channel: str, reply: Reply, thread_ts: str | None = None) -> str:
        """Post to a channel (or into the thread of `thread_ts`); returns the message ts."""
        ...

    async def update(self, channel: str, ts: str, reply: Reply) -> None: ...

    async def dm(self, user_id: str, reply: Reply) -> str: ...


class Directory(Protocol):
    """Who is who on Slack."""

    async def user_group_members(self, group_id: str) -> frozenset[str]:
        """Members of a Slack user group (`S…`), cached by the implementation."""
        ...

    async def user_email(self, user_id: str) -> str | None: ...

    async def user_by_email(self, email: str) -> str | None:
        """The Slack user ID with this email (users.lookupByEmail, cached); None when nobody has it."""
        ...


@dataclass
class HandlerContext:
    """Everything a handler may use, built whole by the bot: a missing piece fails at start-up, never
    at the third click. Only what a deployment may leave unconfigured is optional."""

    hub: HubClient
    """The Docker Hub client of the instance this command is for."""
    instance: str
    """Its friendly label."""
    actor: str
    """The Slack user ID of whoever asked."""
    messenger: Messenger
    directory: Directory
    store: RequestStore
    access_index: AccessIndexStore
    """Who reaches which repository through which team, for `/hub repos`, `/hub access` and the access CSV."""
    instances: tuple[str, ...] = ()
    """Every configured label, for messages that name them."""
    request_id: str | None = None
    """Set while a change request is being planned or executed."""
    access_teams: Mapping[str, str] = field(default_factory=dict)
    """Self-service: `"ns/repo:permission"` → the team that grants it (the config file's [access_teams])."""
    channel: str | None = None
    """Where the command was typed (`/hub digest` posts there)."""
    upload: Upload | None = None
    """Sends a file to someone by DM (the access review's CSV)."""
    digests: Digests | None = None
    policy_file: str | None = None
    """HUBKEEPER_POLICY_FILE, for `/hub policy plan` and its Apply button."""
    stale_after_days: int = STALE_AFTER_DAYS
    progress: Callable[[str], Awaitable[None]] | None = None
    """Tells whoever asked something while they wait for a slow answer (mrkdwn, escaped)."""
    onboardings: OnboardingStore | None = None
    """Onboardings waiting for their invite to be accepted (`/hub onboard`)."""

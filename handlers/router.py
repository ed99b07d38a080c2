"""From a `/hub` line or a button click to the handler that answers it.

Parses, checks who may ask, picks the Docker Hub instance (`--org`, implicit when only one is
configured), runs the handler and turns any Docker Hub failure into a message for people. Bolt
listeners call these two functions and deliver what they return.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from handlers import commands, health, invites, members, review, teams
from handlers.digest import service as digest_service
from handlers.requests import approvals

# Imported for their change kinds, which register themselves.
from handlers import access, offboarding, self_service  # noqa: F401  isort: skip
from handlers.blocks import error_reply, escape
from handlers.context import Directory, HandlerContext, Messenger, Reply
from handlers.digest.service import Digests
from handlers.help import help_reply, usage_reply
from handlers.home import home_view
from handlers.policy import slack as policy
from handlers.requests.approvals import Approvals, ContextFactory
from handlers.requests.lifecycle import Status
from handlers.requests.permissions import is_allowed
from handlers.review import Upload
from hub.client import HubClient
from hub.errors import HubError, echo

logger = logging.getLogger("hubkeeper.router")


@dataclass
class Router:
    """Everything a command needs that is the same for every command of this bot."""

    hubs: Mapping[str, HubClient]
    viewers: frozenset[str] = frozenset()
    directory: Directory | None = None
    messenger: Messenger | None = None
    contexts: ContextFactory | None = None
    """Builds the full context (store, self-service teams…); without it lookups get a plain one."""
    approvals: Approvals | None = None
    upload: Upload | None = None
    """Sends a file to someone by DM (the access review's CSV)."""
    stale_after_days: int = 90
    digests: Digests | None = None
    policy_file: str | None = None
    """HUBKEEPER_POLICY_FILE, for `/hub policy plan` and its Apply button."""
    labels: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.labels = tuple(self.hubs)

    async def command(self, text: str, actor: str, channel: str | None = None) -> Reply:
        try:
            parsed = commands.parse(text)
        except commands.UsageError as error:
            return usage_reply(error)
        if isinstance(parsed.command, commands.Help):
            return help_reply(parsed.command.topic, self.labels)
        # Lookups show emails, so they are for viewers; a change goes to approvers anyway, and
        # self-service requests are for everyone.
        if not isinstance(parsed.command, commands.Change):
            refusal = await self._refusal(actor)
            if refusal is not None:
                return refusal
        context = self._context(parsed.org, actor)
        if isinstance(context, Reply):
            return context
        return await self._run(context, parsed.command, channel)

    async def action(self, action_id: str, value: str, actor: str) -> Reply:
        """A button on one of our lookups was clicked."""
        refusal = await self._refusal(actor)
        if refusal is not None:
            return refusal
        if action_id == policy.APPLY_ACTION:
            return await self._apply_policy(value, actor)
        if action_id != "members_page":
            return Reply(f"hubkeeper does not know the button {escape(echo(action_id))}.")
        context = self._context(_instance_of(value), actor)
        if isinstance(context, Reply):
            return context
        try:
            return await members.members_page_clicked(context, value)
        except HubError as error:
            return error_reply(error)

    async def home(self, actor: str) -> dict[str, Any]:
        """The App Home view for one person."""
        if self.approvals is None:
            return home_view(self.labels)
        store = self.approvals.store
        approver = await self.approvals.is_approver(actor)
        return home_view(
            self.labels,
            my_requests=await store.list_requests(requester=actor, limit=10),
            my_grants=await store.active_timed_grants(requester=actor),
            queue=[
                r
                for r in await store.list_requests(statuses=frozenset({Status.PENDING}), limit=20)
                if r.requester != actor and actor not in r.approvers
            ]
            if approver
            else None,
        )

    async def decision(self, action_id: str, request_id: str, actor: str, note: str | None = None) -> Reply:
        """An Approve, Deny or Retry click on an approval message (Deny after its reason modal)."""
        if self.approvals is None:
            return Reply("Changes are not enabled on this hubkeeper.")
        match action_id:
            case approvals.APPROVE:
                return await self.approvals.approve(request_id, actor)
            case approvals.DENY:
                return await self.approvals.deny(request_id, actor, note)
            case approvals.RETRY:
                return await self.approvals.retry(request_id, actor)
            case approvals.CANCEL:
                return await self.approvals.cancel(request_id, actor)
            case _ if action_id in digest_service.BUTTONS and self.digests is not None:
                return await self.digests.button(action_id, request_id, actor)
        return Reply(f"hubkeeper does not know the button {escape(echo(action_id))}.")

    async def _apply_policy(self, instance: str, actor: str) -> Reply:
        """The Apply button under a policy plan: the change goes through approval like any other."""
        if self.approvals is None:
            return Reply("Changes are not enabled on this hubkeeper.")
        context = self._context(instance, actor)
        if isinstance(context, Reply):
            return context
        return await self.approvals.submit(context, policy.APPLY_ACTION, {"path": self.policy_file}, None)

    async def _refusal(self, actor: str) -> Reply | None:
        if await is_allowed(actor, self.viewers, self.directory):
            return None
        return Reply("You are not on the list of people who may use hubkeeper's lookups (HUBKEEPER_VIEWERS).")

    def _context(self, label: str | None, actor: str) -> HandlerContext | Reply:
        if label is None:
            if len(self.labels) == 1:
                label = self.labels[0]
            else:
                return Reply(f"Several Docker Hub instances are configured; add `--org <instance>`: {self._known()}.")
        if label not in self.hubs:
            return Reply(f"There is no instance {escape(echo(label))}. Known instances: {self._known()}.")
        if self.contexts is not None:
            built = self.contexts(label, actor, None)
            if built is not None:
                return built
        return HandlerContext(
            hub=self.hubs[label],
            instance=label,
            actor=actor,
            instances=self.labels,
            messenger=self.messenger,
            directory=self.directory,
        )

    def _known(self) -> str:
        return ", ".join(f"`{escape(label)}`" for label in self.labels)

    async def _run(self, context: HandlerContext, command: commands.Command, channel: str | None = None) -> Reply:
        try:
            match command:
                case commands.Whois(query):
                    return await members.whois(context, query)
                case commands.Members(search, role, page):
                    return await members.members(context, search=search, role=role, page=page)
                case commands.Teams():
                    return await teams.teams(context)
                case commands.TeamShow(name):
                    return await teams.team(context, name)
                case commands.Invites():
                    return await invites.invites(context)
                case commands.Health():
                    return await health.health(context)
                case commands.Review():
                    if self.upload is None:
                        return Reply("Access reviews need Slack file uploads, which this hubkeeper lacks.")
                    return await review.review(context, upload=self.upload, stale_after_days=self.stale_after_days)
                case commands.DigestNow():
                    if self.digests is None or not channel:
                        return Reply("The digest is not set up on this hubkeeper.")
                    return await self.digests.now(context, channel)
                case commands.PolicyPlan():
                    return await policy.policy_plan_reply(context, self.policy_file)
                case commands.Change(kind, params, reason):
                    if self.approvals is None:
                        return Reply("Changes are not enabled on this hubkeeper.")
                    return await self.approvals.submit(context, kind, params, reason)
                case _:
                    return help_reply(None, self.labels)
        except HubError as error:
            logger.info("Docker Hub error for %s on %s: %s", type(command).__name__, context.instance, error)
            return error_reply(error)


def _instance_of(value: str) -> str | None:
    """The instance label a paging button carries (its handler validates the rest)."""
    try:
        data = json.loads(value)
    except ValueError:
        return None
    label = data.get("i") if isinstance(data, dict) else None
    return label if isinstance(label, str) else None

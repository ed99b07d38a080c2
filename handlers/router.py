"""From a `/hub` line or a button click to the handler that answers it.

Parses, checks who may ask, picks the Docker Hub instance (`--org`, implicit when only one is
configured), runs the lookup or submits the change, and turns any Docker Hub failure into a message
for people. Bolt listeners call these functions and deliver what they return.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from handlers import commands, lookups, members, repos
from handlers.blocks import error_reply, escape
from handlers.changes.policy_apply import PolicyApplyParams
from handlers.context import Directory, HandlerContext, Reply
from handlers.digest import service as digest_service
from handlers.digest.service import Digests
from handlers.grammar import UsageError
from handlers.help import help_reply, usage_reply
from handlers.home import home_view
from handlers.lookups import Help
from handlers.onboarding import OnboardingStore
from handlers.policy.slack import APPLY_ACTION
from handlers.requests import kinds, render
from handlers.requests.approvals import SHUTTING_DOWN, Approvals, ContextFactory
from handlers.requests.lifecycle import Status
from handlers.requests.permissions import is_allowed
from handlers.scans import ScanGate
from hub.client import HubClient
from hub.errors import HubError, echo

logger = logging.getLogger("hubkeeper.router")

NOT_A_VIEWER = "You are not on the list of people who may use hubkeeper here (HUBKEEPER_VIEWERS)."
"""The same answer whatever was asked: it says nothing of the org, and nothing was read to give it."""


@dataclass
class Router:
    """Everything a command needs that is the same for every command of this bot."""

    hubs: Mapping[str, HubClient]
    viewers: frozenset[str]
    """HUBKEEPER_VIEWERS: who may use anything but help and self-service (empty: everyone)."""
    directory: Directory
    contexts: ContextFactory
    """Builds the full context of a command (its instance's client, the store, the messenger…)."""
    approvals: Approvals
    digests: Digests
    policy_file: str | None
    """HUBKEEPER_POLICY_FILE, for the Apply button under `/hub policy plan`."""
    scans: ScanGate = field(default_factory=ScanGate)
    """Full-org scans: one at a time per instance, a cooldown per person."""
    onboardings: OnboardingStore | None = None
    """Onboardings waiting for their invite, for App Home."""
    labels: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.labels = tuple(self.hubs)

    async def command(
        self,
        text: str,
        actor: str,
        channel: str | None = None,
        progress: Callable[[str], Awaitable[None]] | None = None,
    ) -> Reply:
        """`progress` tells the asker something before the answer (a slow live read)."""
        if self.approvals.stopping:  # after SIGTERM: no new work here; the next process takes it
            return Reply(SHUTTING_DOWN)
        try:
            parsed = commands.parse(text)
        except UsageError as error:
            return usage_reply(error)
        command = parsed.command
        if isinstance(command, Help):
            return help_reply(command.topic, self.labels)
        # Everything but help and self-service shows or changes the org: viewers only, and a refusal
        # comes before anything is read from Docker Hub.
        if not (isinstance(command, commands.Change) and command.kind.open_to_everyone):
            refusal = await self._refusal(actor)
            if refusal is not None:
                return refusal
        context = self._context(parsed.org, actor)
        if isinstance(context, Reply):
            return context
        return await self._run(replace(context, channel=channel, progress=progress), command)

    async def action(self, action_id: str, value: str, actor: str) -> Reply:
        """A button on one of our lookups was clicked."""
        if self.approvals.stopping:
            return Reply(SHUTTING_DOWN)
        refusal = await self._refusal(actor)
        if refusal is not None:
            return refusal
        if action_id == APPLY_ACTION:
            return await self._apply_policy(value, actor)
        if action_id not in (members.PAGE_ACTION, repos.PAGE_ACTION):
            return Reply(f"hubkeeper does not know the button {escape(echo(action_id))}.")
        context = self._context(_instance_of(value), actor)
        if isinstance(context, Reply):
            return context
        try:
            if action_id == repos.PAGE_ACTION:
                return await repos.repos_page_clicked(context, value, index=context.access_index)
            return await members.members_page_clicked(context, value)
        except HubError as error:
            return error_reply(error)

    async def home(self, actor: str) -> dict[str, Any]:
        """The App Home view for one person."""
        store = self.approvals.store
        approver = await self.approvals.is_approver(actor)
        onboardings = (
            await self.onboardings.waiting(requester=None if approver else actor) if self.onboardings else []
        )
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
            onboardings=onboardings,
        )

    async def decision(self, action_id: str, request_id: str, actor: str, note: str | None = None) -> Reply:
        """An Approve, Deny, Retry or Undo click on an approval message (Deny after its reason modal)."""
        match action_id:
            case render.APPROVE:
                return await self.approvals.approve(request_id, actor)
            case render.DENY:
                return await self.approvals.deny(request_id, actor, note)
            case render.RETRY:
                return await self.approvals.retry(request_id, actor)
            case render.CANCEL:
                return await self.approvals.cancel(request_id, actor)
            case render.UNDO:
                return await self.approvals.undo(request_id, actor)
            case _ if action_id in digest_service.BUTTONS:
                return await self.digests.button(action_id, request_id, actor)
        return Reply(f"hubkeeper does not know the button {escape(echo(action_id))}.")

    async def _apply_policy(self, plan_id: str, actor: str) -> Reply:
        """The Apply button under a policy plan: files the stored plan the message showed, through approval.

        The policy file is not read again: what is approved is what the person clicking saw.
        """
        plan = await self.approvals.store.get_policy_plan(plan_id[:40])
        if plan is None:
            # Also the buttons of plans posted by earlier versions (their value was the instance's label).
            return Reply(
                "hubkeeper no longer knows the plan behind this button; run `/hub policy plan` again. "
                "Nothing was requested."
            )
        context = self._context(plan.instance, actor)
        if isinstance(context, Reply):
            return context
        kind = kinds.named("policy_apply")
        params = PolicyApplyParams(plan_id=plan.id, source=plan.source, changes=plan.changes)
        return await self.approvals.submit(context, kind, params, None)

    async def _refusal(self, actor: str) -> Reply | None:
        if await is_allowed(actor, self.viewers, self.directory):
            return None
        return Reply(NOT_A_VIEWER)

    def _context(self, label: str | None, actor: str) -> HandlerContext | Reply:
        if label is None:
            if len(self.labels) == 1:
                label = self.labels[0]
            else:
                return Reply(f"Several Docker Hub instances are configured; add `--org <instance>`: {self._known()}.")
        if label not in self.hubs:
            return Reply(f"There is no instance {escape(echo(label))}. Known instances: {self._known()}.")
        built = self.contexts(label, actor, None)
        if built is None:
            return Reply(f"There is no instance {escape(echo(label))}. Known instances: {self._known()}.")
        return built

    def _known(self) -> str:
        return ", ".join(f"`{escape(label)}`" for label in self.labels)

    async def _run(self, context: HandlerContext, command: object) -> Reply:
        try:
            if isinstance(command, commands.Change):
                if command.dry_run:
                    return await self.approvals.preview(context, command.kind, command.params, command.reason)
                return await self.approvals.submit(context, command.kind, command.params, command.reason)
            lookup = lookups.answering(command)
            if lookup is None or lookup.run is None:
                return help_reply(None, self.labels)
            run = lookup.run
            if lookup.scans(command):
                return await self.scans.run(
                    context.instance,
                    context.actor,
                    lookup.syntax.name,
                    lambda: run(context, command),
                    cooldown=lookup.scan_cooldown,
                )
            return await run(context, command)
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

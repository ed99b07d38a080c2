"""The scheduled drift check: plan the policy file and, when the org drifted, post the plan to the
approval channel with its Apply button, once per distinct drift.

A drift is known by a fingerprint of its planned changes. Posting claims that fingerprint in the
store first (an INSERT against a unique key, like the digest's claim), so however many runs and
replicas see the same drift, one posts it; a different drift has another fingerprint and is posted
again. When the org matches the policy again the claims are forgotten, so the same drift coming back
later is news again. Nothing is applied here: Apply files a `policy_apply` request through approval.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from handlers.context import HandlerContext, Messenger
from handlers.policy.diff import Change
from handlers.policy.engine import plan_policy
from handlers.policy.model import PolicyError, load_policy
from handlers.policy.slack import plan_reply, save_plan
from handlers.requests.lifecycle import SYSTEM
from hub.errors import HubError

logger = logging.getLogger("hubkeeper.policy_drift")

CLAIM = "policy-drift"
"""The claim's `digest` name in the store (the digest claims' table holds these too)."""


class DriftClaims(Protocol):
    """Claims keyed by (instance, name, fingerprint); `bot.store.drift_store` implements it."""

    async def claim(self, instance: str, digest: str, period_key: str, claimed_by: str, now: datetime) -> bool:
        """True for exactly one caller per key."""
        ...

    async def release(self, instance: str, digest: str, period_key: str, claimed_by: str) -> bool: ...

    async def record_post(self, instance: str, digest: str, period_key: str, *, channel: str, ts: str) -> None: ...

    async def forget(self, instance: str, digest: str) -> int:
        """Drop every claim of `digest` for `instance`; how many there were."""
        ...


class DriftOutcome(StrEnum):
    IN_SYNC = "in_sync"
    POSTED = "posted"
    ALREADY_POSTED = "already_posted"
    FAILED = "failed"
    """The policy could not be read or planned, or Slack refused the post (logged; the next run tries again)."""


def fingerprint(instance: str, changes: Iterable[Change]) -> str:
    """Stable for the same planned changes, in any order."""
    lines = sorted(json.dumps(change.as_dict(), sort_keys=True) for change in changes)
    digest = hashlib.sha256("\n".join([instance, *lines]).encode("utf-8")).hexdigest()
    return f"sha256:{digest}"


@dataclass
class PolicyDrift:
    path: str
    """HUBKEEPER_POLICY_FILE."""
    claims: DriftClaims
    messenger: Messenger
    contexts: Callable[[str, str, str | None], HandlerContext | None]
    channels: dict[str, str]
    """Instance → its approval channel."""
    claimed_by: str
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def _instance(self, named: str | None) -> str | None:
        if named is not None:
            return named if named in self.channels else None
        return next(iter(self.channels)) if len(self.channels) == 1 else None

    async def check(self) -> DriftOutcome:
        """One run: plan, and post the plan if this drift has not been posted yet."""
        try:
            policy = load_policy(self.path)
        except PolicyError as error:
            logger.error("policy drift check: %s", "; ".join(error.problems[:5]))
            return DriftOutcome.FAILED
        instance = self._instance(policy.instance)
        ctx = self.contexts(instance, SYSTEM, None) if instance is not None else None
        if instance is None or ctx is None:
            logger.error(
                "policy drift check: %s names no instance with an approval channel (%s); name one with `instance:`",
                self.path,
                ", ".join(sorted(self.channels)) or "none configured",
            )
            return DriftOutcome.FAILED
        try:
            state, changes = await plan_policy(ctx.hub, policy)
        except PolicyError as error:
            logger.error("policy drift check: %s", "; ".join(error.problems[:5]))
            return DriftOutcome.FAILED
        except HubError as error:
            logger.error("policy drift check: Docker Hub: %s", error.message)
            return DriftOutcome.FAILED
        if not changes:
            await self.claims.forget(instance, CLAIM)
            return DriftOutcome.IN_SYNC
        key = fingerprint(instance, changes)
        if not await self.claims.claim(instance, CLAIM, key, self.claimed_by, self.clock()):
            return DriftOutcome.ALREADY_POSTED
        channel = self.channels[instance]
        try:
            # The Apply button files exactly the changes this message shows.
            plan_id = await save_plan(ctx, policy, changes)
            reply = plan_reply(instance, policy, state, changes, title="Policy drift on", plan_id=plan_id)
            ts = await self.messenger.post(channel, reply)
        except Exception:  # Slack (or the store) refused: give the claim back so the next run posts it
            logger.exception("policy drift check: could not post to %s", channel)
            await self.claims.release(instance, CLAIM, key, self.claimed_by)
            return DriftOutcome.FAILED
        await self.claims.record_post(instance, CLAIM, key, channel=channel, ts=ts)
        return DriftOutcome.POSTED

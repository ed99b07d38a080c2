"""The digest as the bot runs it: on its schedule, on `/hub digest`, and its buttons.

Keep and Resend act at once (approvers only); Cancel and Remove become change requests, approved
like any other change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime

from handlers import blocks as bk
from handlers.activity.feed import ActivityStore
from handlers.blocks import error_reply, message
from handlers.context import HandlerContext, Reply
from handlers.digest import post as digest
from handlers.digest import render as digest_render
from handlers.digest.model import fire_period_key, period_key
from handlers.digest.post import Outcome
from handlers.digest.render import INVITE_CANCEL, INVITE_RESEND, parse_invite_value, parse_member_value
from handlers.grammar import Syntax
from handlers.lookup import without_arguments
from handlers.requests.approvals import Approvals, ContextFactory
from handlers.requests.lifecycle import SYSTEM
from handlers.scans import ScanGate
from handlers.stale import STALE_AFTER_DAYS
from hub.errors import HubError

logger = logging.getLogger("hubkeeper.digest")

RESEND, CANCEL, KEEP, REMOVE = INVITE_RESEND, INVITE_CANCEL, digest_render.KEEP, digest_render.REMOVE
BUTTONS = (RESEND, CANCEL, KEEP, REMOVE)


@dataclass(frozen=True)
class DigestSettings:
    channels: Mapping[str, str]
    """Instance label → the channel its scheduled digest goes to (no entry: no scheduled digest)."""
    schedule: str = digest.DEFAULT_SCHEDULE
    timezone: str = "UTC"
    stale_after_days: int = STALE_AFTER_DAYS
    claimed_by: str = SYSTEM
    """Names this replica in the claim (host and pid)."""


class Digests:
    def __init__(
        self,
        *,
        store: digest.DigestStore,
        poster: digest.ThreadPoster,
        settings: DigestSettings,
        contexts: ContextFactory,
        approvals: Approvals,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        activity: ActivityStore | None = None,
        scans: ScanGate | None = None,
    ) -> None:
        """`activity`: the audit-log feed's store, for the section "changed outside hubkeeper"; `scans`:
        the bot's full-org scan gate, whose turn the scheduled digest waits for."""
        self.activity = activity
        self.scans = scans
        self.store = store
        self.poster = poster
        self.settings = settings
        self.contexts = contexts
        self.approvals = approvals
        self.clock = clock

    async def scheduled(self, instance: str, fire_time: datetime | None = None) -> Outcome:
        """The cron job: every replica may run it; the claim makes exactly one post per period.

        The period is `fire_time`, when the job was scheduled to fire (not when it ran): a late run and
        its retries belong to the same period. Without one (a test, a manual call) it is today's date.
        This is the run that moves the baseline "since the last digest" compares with.
        """
        ctx = self.contexts(instance, SYSTEM, None)
        channel = self.settings.channels.get(instance)
        if ctx is None or not channel:
            return Outcome.FAILED
        now = self.clock()
        timezone = self.settings.timezone
        period = fire_period_key(fire_time, timezone) if fire_time is not None else period_key(now, timezone)
        try:
            async with self._turn(instance):
                return await digest.run_digest(
                    ctx,
                    self.store,
                    self.poster,
                    channel,
                    claimed_by=self.settings.claimed_by,
                    now=now,
                    stale_after_days=self.settings.stale_after_days,
                    timezone=timezone,
                    period=period,
                    activity=self.activity,
                )
        except HubError as error:
            logger.warning("the %s digest could not be built: %s", instance, error.message)
        except Exception:
            logger.exception("the %s digest failed", instance)
        return Outcome.FAILED

    def _turn(self, instance: str) -> AbstractAsyncContextManager[None]:
        return self.scans.waiting_turn(instance, "scheduled digest") if self.scans is not None else nullcontext()

    async def now(self, ctx: HandlerContext, channel: str | None) -> Reply:
        """`/hub digest`: in the instance's digest channel it is posted there (with its thread and
        buttons); anywhere else only the asker sees it. Either way it compares with the last scheduled
        digest and leaves that baseline where it is."""
        now = self.clock()
        if channel and channel == self.settings.channels.get(ctx.instance):
            posted = await digest.post_digest(
                ctx,
                self.store,
                self.poster,
                channel,
                claimed_by=self.settings.claimed_by,
                now=now,
                stale_after_days=self.settings.stale_after_days,
                timezone=self.settings.timezone,
                digest=digest.ON_DEMAND,
                period=digest.on_demand_period(now, ctx.actor),
                activity=self.activity,
            )
            return message("Here is the digest." if posted else "That digest was posted a moment ago.")
        built = await digest.gather_digest(
            ctx,
            self.store,
            now=now,
            stale_after_days=self.settings.stale_after_days,
            period=f"on demand {now:%Y-%m-%d %H:%M} UTC",
            activity=self.activity,
        )
        main, _ = digest_render.render_digest(built)
        where = self.settings.channels.get(ctx.instance)
        note = (
            "Only you can see this digest. Run `/hub digest` in "
            f"<#{where}> to post it there with its lists and buttons."
            if where
            else "Only you can see this digest."
        )
        return Reply(main.text, bk.finish([*main.blocks, bk.context(note)]))

    async def button(self, action_id: str, value: str, actor: str) -> Reply:
        try:
            target = parse_invite_value(value) if action_id in (RESEND, CANCEL) else parse_member_value(value)
        except ValueError:
            return message("That button is not one hubkeeper made; nothing was changed.")
        ctx = self.contexts(target.instance, actor, None)
        if ctx is None:
            return message("That digest belongs to an instance this hubkeeper does not manage.")
        try:
            if action_id == RESEND:
                if not await self._approver(actor):
                    return message("Only approvers can resend invites from the digest.")
                return await digest.resend_invite(ctx, parse_invite_value(value).invite_id)
            if action_id == KEEP:
                if not await self._approver(actor):
                    return message("Only approvers can keep a stale member.")
                member = parse_member_value(value)
                return await digest.keep(ctx, self.store, member.username, member.days, actor)
            request = (
                digest.cancel_invite_request(parse_invite_value(value))
                if action_id == CANCEL
                else digest.remove_member_request(parse_member_value(value))
            )
            return await self.approvals.submit(ctx, *request)
        except HubError as error:
            return error_reply(error)

    async def _approver(self, actor: str) -> bool:
        return await self.approvals.is_approver(actor)


@dataclass(frozen=True)
class DigestNow:
    pass


async def _run_digest(ctx: HandlerContext) -> Reply:
    if ctx.digests is None or not ctx.channel:
        return Reply("The digest is not set up on this hubkeeper.")
    return await ctx.digests.now(ctx, ctx.channel)


DIGEST = without_arguments(
    Syntax(
        "digest",
        "digest",
        "The digest now (invites, stale members, changes): to you, or posted when run in the digest channel",
        ("/hub digest",),
    ),
    DigestNow,
    _run_digest,
    scan=True,
)

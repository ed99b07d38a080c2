"""The composition root: settings in, a ready Bolt app with its Hub clients, store and approvals out.

The app object does not know how Slack reaches it; `bot/serve.py` puts it behind Socket Mode or
HTTP.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot import listeners, logs
from bot.access_jobs import AccessJobs
from bot.metrics import Metrics, bounded, slack_event_labels
from bot.readiness import Readiness
from bot.settings import InstanceConfig, Settings, SlackConfig
from bot.slack_io import SlackDirectory, SlackMessenger, bot_upload, web_client
from bot.store.access_store import SqlAccessIndexStore
from bot.store.activity_store import SqlActivityStore
from bot.store.digest_store import SqlDigestStore
from bot.store.drift_store import SqlDriftClaims
from bot.store.onboarding_store import SqlOnboardingStore
from bot.store.scan_store import SqlScanClaims
from bot.store.sql_store import SqlRequestStore
from handlers.access_index import apply_own_change
from handlers.affected import AffectedPeople
from handlers.context import HandlerContext
from handlers.digest.post import DEFAULT_SCHEDULE, Outcome
from handlers.digest.service import Digests, DigestSettings
from handlers.health_checks import run_health_checks
from handlers.onboarding import sweep_onboardings
from handlers.policy.drift import DriftOutcome, PolicyDrift
from handlers.requests.approvals import ApprovalPolicy, Approvals
from handlers.requests.lifecycle import SYSTEM, ChangeRequest, Status, TimedGrant
from handlers.requests.render import DENY_MODAL
from handlers.router import Router
from handlers.scans import ScanGate
from handlers.self_service import sweep_timed_grants
from hub.client import HubClient

logger = logging.getLogger("hubkeeper.app")

APPROVAL_ACTION_PREFIX = "approval_"


class InFlight:
    """Listener work still running after its ack, so shutdown can let it finish.

    Bolt acks and then runs the rest of a listener as a task nobody awaits; stopping under it could
    leave an approved change half-told (executed but not re-rendered) or a request stuck executing.
    """

    def __init__(self) -> None:
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @asynccontextmanager
    async def track(self) -> AsyncIterator[None]:
        self._running += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._running -= 1
            if self._running == 0:
                self._idle.set()

    async def wait_idle(self, grace: float) -> bool:
        """True when nothing is running (any more) within `grace` seconds."""
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except TimeoutError:
            logger.warning("stopping with %d listener(s) still running", self._running)
            return False
        return True


@dataclass
class Bot:
    app: AsyncApp
    router: Router
    approvals: Approvals
    store: SqlRequestStore
    hubs: dict[str, HubClient]
    instances: dict[str, InstanceConfig]
    sweep_seconds: int = 60
    work: InFlight = field(default_factory=InFlight)
    digests: Digests | None = None
    digest_schedule: str = DEFAULT_SCHEDULE
    digest_timezone: str = "UTC"
    access_jobs: AccessJobs | None = None
    drift: PolicyDrift | None = None
    """The policy drift check (when HUBKEEPER_POLICY_FILE is set)."""
    policy_schedule: str | None = None
    """HUBKEEPER_POLICY_SCHEDULE: when the scheduler runs the drift check."""
    metrics: Metrics = field(default_factory=Metrics)
    readiness: Readiness | None = None
    readiness_seconds: int = 30
    onboardings: SqlOnboardingStore | None = None
    """Onboardings waiting for their invite to be accepted (the sweep finishes them)."""
    affected: AffectedPeople | None = None
    """Tells the person a change is about (HUBKEEPER_NOTIFY_AFFECTED)."""
    claimed_by: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    shutdown_grace: float = 60.0
    """HUBKEEPER_SHUTDOWN_GRACE: how long a SIGTERM waits for changes being applied (see bot.serve)."""

    async def startup_checks(self) -> None:
        """The three health checks per instance, logged; readiness starts from their outcome."""
        for label, hub in self.hubs.items():
            results = await run_health_checks(hub)
            for result in results:
                level = logging.INFO if result.ok else logging.WARNING
                outcome = "passed" if result.ok else "FAILED"
                logger.log(level, "health check %s %s for %s: %s", result.name, outcome, label, result.detail)
            if self.readiness is not None:
                self.readiness.record_checks(label, results)

    async def refresh_readiness(self) -> None:
        """What the scheduler runs between probes (see bot.readiness)."""
        if self.readiness is not None:
            await self.readiness.refresh()

    async def sweep(self) -> None:
        """What the scheduler runs: request expiries (and re-announcing) and time-bound grants ending.

        Safe on every replica at once: each effect goes through the store's compare-and-set. Tracked
        like listener work, so a shutdown waits for a sweep under way instead of closing the store
        beneath it.
        """
        async with self.work.track():
            try:
                await self.approvals.sweep()
            except Exception:  # one failed sweep must not stop the next
                logger.exception("the request sweep failed")
            as_hubkeeper = self._as_hubkeeper
            ended = []
            try:
                ended = await sweep_timed_grants(self.store, as_hubkeeper, self.approvals.clock())
            except Exception:
                logger.exception("the time-bound grant sweep failed")
            await self._after_grants(ended)
            if self.onboardings is not None:
                try:
                    await sweep_onboardings(
                        self.onboardings, as_hubkeeper, now=self.approvals.clock(), claimed_by=self.claimed_by
                    )
                except Exception:
                    logger.exception("the onboarding sweep failed")

    def _as_hubkeeper(self, instance: str) -> HandlerContext | None:
        return self.approvals.contexts(instance, SYSTEM, None)

    async def _after_grants(self, ended: list[TimedGrant]) -> None:
        """Tell the holders of time-bound access that ended, and warn those whose access ends soon."""
        if self.affected is None:
            return
        try:
            for grant in ended:
                await self.affected.grant_ended(grant)
            await self.affected.warn_ending(self.approvals.clock())
        except Exception:
            logger.exception("telling people about their time-bound access failed")

    async def post_scheduled_digest(self, instance: str, fire_time: datetime | None = None) -> Outcome:
        """The digest job of one instance for the run scheduled at `fire_time` (the claim makes it post
        once across replicas); the scheduler retries a FAILED or HELD outcome within the period."""
        if self.digests is None:
            return Outcome.FAILED
        logs.bind(instance=instance)
        async with self.work.track():
            return await self.digests.scheduled(instance, fire_time)

    async def check_policy_drift(self) -> DriftOutcome | None:
        """The drift check job: post the plan once per distinct drift (the store's claim keeps it to one)."""
        if self.drift is None:
            return None
        async with self.work.track():
            try:
                return await self.drift.check()
            except Exception:
                logger.exception("the policy drift check failed")
                return DriftOutcome.FAILED

    async def aclose(self, *, grace: float = 20.0) -> None:
        """Let running listeners finish (up to `grace` seconds), then close the clients and the store."""
        await self.work.wait_idle(grace)
        for hub in self.hubs.values():
            await hub.aclose()
        await self.store.close()

    def describe(self) -> str:
        """What this bot is connected to, for the start-up line (never a secret)."""
        return ", ".join(
            f"{label} ({instance.organization_name} at {instance.api_url})"
            for label, instance in self.instances.items()
        )


class _SameTokenWarning(logging.Filter):
    """Drops Bolt's warning that our client's token wins over SLACK_BOT_TOKEN, which Bolt reads from the
    environment by itself: both are the same setting, so the warning would only alarm whoever reads it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


def build_app(
    slack: SlackConfig, router: Router, client: AsyncWebClient, work: InFlight, metrics: Metrics | None = None
) -> AsyncApp:
    bolt_logger = logging.getLogger("slack_bolt.AsyncApp")
    if not any(isinstance(f, _SameTokenWarning) for f in bolt_logger.filters):
        bolt_logger.addFilter(_SameTokenWarning())
    app = AsyncApp(
        client=client,
        signing_secret=slack.signing_secret.get_secret_value(),
        # Read by Bolt from the environment otherwise, where it would switch OAuth on.
        installation_store=None,
        raise_error_for_unhandled_request=False,
    )
    app.use(_observing(metrics or Metrics()))
    listeners.register(app, router, work.track)
    return app


def _observing(metrics: Metrics) -> Callable[..., Awaitable[BoltResponse | None]]:
    """A global middleware: counts each verified request and binds who and what it is to the log context.

    The listener's work runs in a task started inside `next()`, so it inherits the binding.
    """

    async def observe_slack_request(body: dict[str, Any], next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        kind, command = slack_event_labels(body)
        metrics.slack_event(body)
        logs.bind(slack_user=_slack_user(body), command=command or kind, request_id=_request_id(body))
        return await next()

    return observe_slack_request


def _slack_user(body: Mapping[str, Any]) -> str | None:
    user = body.get("user_id") or (body.get("user") or {}).get("id") or (body.get("event") or {}).get("user")
    return str(user) if user else None


def _request_id(body: Mapping[str, Any]) -> str | None:
    """The change request an approval button or the deny modal is about (their value is its id)."""
    for action in body.get("actions") or ():
        if str(action.get("action_id", "")).startswith(APPROVAL_ACTION_PREFIX):
            return bounded(action.get("value"))
    view = body.get("view") or {}
    if view.get("callback_id") == DENY_MODAL:
        return bounded(view.get("private_metadata"))
    return None


def _executed(metrics: Metrics) -> Callable[[str, Status], None]:
    def executed(kind: str, status: Status) -> None:
        # Logged from the executing task, so the line carries its instance and request id.
        logger.info("change %s finished: %s", kind, status.value)
        metrics.change_executed(kind, status.value)

    return executed


def approval_policies(settings: Settings, instances: Mapping[str, InstanceConfig]) -> dict[str, ApprovalPolicy]:
    approvers = settings.approvers()
    ttl = settings.request_ttl()
    return {
        label: ApprovalPolicy(
            channel=settings.approval_channel(instance),
            approvers=approvers,
            destructive_approvals=settings.hubkeeper_destructive_approvals,
            request_ttl=ttl,
            audit_channel=settings.hubkeeper_audit_channel or None,
        )
        for label, instance in instances.items()
    }


async def open_bot(settings: Settings, *, http: bool) -> Bot:
    """Raises ConfigError (bot.settings) naming whatever setting is missing or wrong."""
    slack = settings.slack(http=http)
    instances = settings.instances()
    access_teams = settings.access_teams()
    policies = approval_policies(settings, instances)
    shutdown_grace = settings.shutdown_grace()
    store = await SqlRequestStore.open(settings.database_url())
    metrics = Metrics()
    store.on_executed = _executed(metrics)
    hubs = {
        label: HubClient(instance.connection(), observer=metrics.hub_observer(label))
        for label, instance in instances.items()
    }
    client = web_client(slack)
    messenger, directory = SlackMessenger(client), SlackDirectory(client)
    labels = tuple(hubs)
    upload = bot_upload(client)
    policy_file = settings.hubkeeper_policy_file or None
    index = SqlAccessIndexStore(store.engine)

    def contexts(instance: str, actor: str, request_id: str | None) -> HandlerContext | None:
        if instance not in hubs:
            return None
        # Whatever the handler logs from here on names the instance (and the request it acts on).
        logs.bind(instance=instance)
        if request_id is not None:
            logs.bind(request_id=request_id)
        return HandlerContext(
            hub=hubs[instance],
            instance=instance,
            actor=actor,
            instances=labels,
            messenger=messenger,
            directory=directory,
            store=store,
            access_index=index,
            request_id=request_id,
            access_teams=access_teams,
            upload=upload,
            digests=digests,
            policy_file=policy_file,
            stale_after_days=settings.hubkeeper_stale_after_days,
            onboardings=onboardings,
        )

    onboardings = SqlOnboardingStore(store.engine)
    affected = AffectedPeople(
        contexts=lambda instance: contexts(instance, SYSTEM, None),
        store=store,
        notices=onboardings,
        enabled=settings.hubkeeper_notify_affected,
    )

    async def follow_done(request: ChangeRequest) -> None:
        # Each follower on its own: one failing must not keep the next from hearing of the change.
        try:
            await apply_own_change(index, request.instance, request.kind, request.result or {}, now=request.updated_at)
        finally:
            await affected.follow(request)

    approvals = Approvals(
        store=store,
        messenger=messenger,
        directory=directory,
        policies=policies,
        contexts=contexts,
        after_done=follow_done,
        sweep_seconds=settings.hubkeeper_sweep_seconds,
        # Who executes, in each execution's lease: this process, told apart from a restarted one.
        executor=f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}",
    )
    # The turn and the cooldown live in the store, so they hold across replicas.
    scans = ScanGate(settings.hubkeeper_scan_cooldown_seconds, claims=SqlScanClaims(store.engine))
    digests = Digests(
        store=SqlDigestStore(store.engine, on_post=metrics.digest_post),
        poster=messenger,
        settings=DigestSettings(
            channels={
                label: channel
                for label, instance in instances.items()
                if (channel := settings.digest_channel(instance))
            },
            schedule=settings.digest_schedule(),
            timezone=settings.digest_timezone(),
            stale_after_days=settings.hubkeeper_stale_after_days,
            claimed_by=f"{socket.gethostname()}:{os.getpid()}",
        ),
        contexts=contexts,
        approvals=approvals,
        activity=SqlActivityStore(store.engine),
        scans=scans,
    )
    router = Router(
        hubs=hubs,
        viewers=settings.viewers(),
        directory=directory,
        contexts=contexts,
        approvals=approvals,
        digests=digests,
        policy_file=policy_file,
        scans=scans,
        onboardings=onboardings,
    )
    drift = (
        PolicyDrift(
            path=settings.hubkeeper_policy_file,
            claims=SqlDriftClaims(store.engine),
            messenger=messenger,
            contexts=contexts,
            channels={label: policy.channel for label, policy in policies.items() if policy.channel},
            claimed_by=f"{socket.gethostname()}:{os.getpid()}",
        )
        if settings.hubkeeper_policy_file
        else None
    )
    work = InFlight()
    access_jobs = AccessJobs(
        hubs=hubs,
        index=index,
        activity=SqlActivityStore(store.engine),
        messenger=messenger,
        audit_channel=settings.hubkeeper_audit_channel,
        claimed_by=f"{socket.gethostname()}:{os.getpid()}",
        track=work.track,
        rate_share=settings.hubkeeper_index_rate_share,
        index_schedule=settings.index_schedule(),
        activity_seconds=settings.hubkeeper_activity_seconds,
    )
    return Bot(
        app=build_app(slack, router, client, work, metrics),
        router=router,
        approvals=approvals,
        store=store,
        hubs=hubs,
        instances=instances,
        sweep_seconds=settings.hubkeeper_sweep_seconds,
        work=work,
        digests=digests,
        digest_schedule=settings.digest_schedule(),
        digest_timezone=settings.digest_timezone(),
        access_jobs=access_jobs,
        drift=drift,
        policy_schedule=settings.policy_schedule(),
        metrics=metrics,
        readiness=Readiness(hubs, store),
        readiness_seconds=settings.hubkeeper_readiness_seconds,
        onboardings=onboardings,
        affected=affected,
        shutdown_grace=shutdown_grace,
    )

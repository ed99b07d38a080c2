"""Prometheus metrics for one bot: counters fed by the Hub client's observer seam, Bolt, the store
and the digest store; the change-request gauge read from the store when scraped.

Each Bot has its own registry, so two bots in one process (tests, the sandbox) never mix counts.
Labels stay bounded: routes are templates, commands are the known /hub subcommands, never raw text.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from handlers.commands import SPECS
from handlers.lifecycle import Status
from hub.observe import ExchangeOutcome

CONTENT_TYPE = CONTENT_TYPE_LATEST
OTHER = "other"
_LABEL_SAFE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def build_version() -> str:
    try:
        return version("hubkeeper")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.hub_requests = Counter(
            "hubkeeper_hub_requests_total",
            "Docker Hub requests by route template and final status (retries included).",
            ["instance", "method", "route", "status"],
            registry=registry,
        )
        self.hub_request_duration = Histogram(
            "hubkeeper_hub_request_duration_seconds",
            "Time for a Docker Hub request, retries and rate-limit waits included.",
            ["instance", "method", "route"],
            registry=registry,
        )
        self.token_exchanges = Counter(
            "hubkeeper_token_exchanges_total",
            "Access token exchanges at /v2/auth/token by outcome (success, refused, error).",
            ["instance", "outcome"],
            registry=registry,
        )
        self.ratelimit_remaining = Gauge(
            "hubkeeper_hub_ratelimit_remaining",
            "Requests Docker Hub said were left in the current rate-limit window.",
            ["instance"],
            registry=registry,
        )
        self.ratelimit_wait = Counter(
            "hubkeeper_ratelimit_wait_seconds_total",
            "Seconds requests were held back to stay under Docker Hub's rate limit.",
            registry=registry,
        )
        self.slack_events = Counter(
            "hubkeeper_slack_events_total",
            "Slack requests that reached the app: slash commands, actions, view submissions, events.",
            ["kind", "command"],
            registry=registry,
        )
        self.change_requests = Gauge(
            "hubkeeper_change_requests",
            "Change requests in the store by state.",
            ["state"],
            registry=registry,
        )
        self.changes_executed = Counter(
            "hubkeeper_changes_executed_total",
            "Approved changes carried out, by kind and outcome (done, failed).",
            ["kind", "outcome"],
            registry=registry,
        )
        self.digest_posts = Counter(
            "hubkeeper_digest_posts_total",
            "Digest posts by outcome (posted, failed, skipped: another run had claimed the period).",
            ["instance", "outcome"],
            registry=registry,
        )
        self.build_info = Gauge(
            "hubkeeper_build_info", "The running hubkeeper version.", ["version"], registry=registry
        )
        self.build_info.labels(build_version()).set(1)

    def hub_observer(self, instance: str) -> HubMetrics:
        return HubMetrics(self, instance)

    def slack_event(self, body: Mapping[str, Any]) -> None:
        self.slack_events.labels(*slack_event_labels(body)).inc()

    def change_executed(self, kind: str, outcome: str) -> None:
        self.changes_executed.labels(bounded(kind), outcome).inc()

    def digest_post(self, instance: str, outcome: str) -> None:
        self.digest_posts.labels(instance, outcome).inc()

    async def exposition(self, count_requests: Callable[[], Awaitable[Mapping[str, int]]]) -> bytes:
        """The text a scrape gets; the request gauge is read from the store now (one grouped count)."""
        counts = await count_requests()
        for state in Status:
            self.change_requests.labels(state.value).set(counts.get(state.value, 0))
        return generate_latest(self.registry)


class HubMetrics:
    """The Hub client's observer (hub.observe.HubObserver) for one instance."""

    def __init__(self, metrics: Metrics, instance: str) -> None:
        self._metrics = metrics
        self._instance = instance

    def on_request(self, method: str, route: str, status: str, seconds: float) -> None:
        self._metrics.hub_requests.labels(self._instance, method, route, status).inc()
        self._metrics.hub_request_duration.labels(self._instance, method, route).observe(seconds)

    def on_token_exchange(self, outcome: ExchangeOutcome) -> None:
        self._metrics.token_exchanges.labels(self._instance, outcome).inc()

    def on_rate_limit(self, remaining: int) -> None:
        self._metrics.ratelimit_remaining.labels(self._instance).set(remaining)

    def on_wait(self, seconds: float) -> None:
        self._metrics.ratelimit_wait.inc(seconds)


def bounded(value: object) -> str:
    """A label value from something we named ourselves (an action id, a kind), or `other`."""
    text = str(value or "")
    return text if _LABEL_SAFE.fullmatch(text) else OTHER


def slash_subcommand(text: str) -> str:
    """The /hub subcommand (`members`, `team`, …); whatever is not one is `other`, a bare /hub is `help`."""
    words = text.split()
    if not words:
        return "help"
    word = words[0].lower()
    return word if word in SPECS or word == "help" else OTHER


def slack_event_labels(body: Mapping[str, Any]) -> tuple[str, str]:
    """(kind, command) for a request Bolt received."""
    if "command" in body:
        return "slash_command", slash_subcommand(str(body.get("text") or ""))
    kind = str(body.get("type") or "")
    if kind == "block_actions":
        actions = body.get("actions") or [{}]
        return "block_action", bounded(actions[0].get("action_id"))
    if kind in ("view_submission", "view_closed"):
        return kind, bounded((body.get("view") or {}).get("callback_id"))
    if kind == "event_callback":
        return "event", bounded((body.get("event") or {}).get("type"))
    return bounded(kind), ""

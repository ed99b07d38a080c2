"""A seam for watching the Docker Hub client at work (metrics), without hub/ knowing who watches.

The client takes an optional `HubObserver` and wraps its retrying transport in `ObservedTransport`,
which sees each request once (retries included in its time) with the route template, never the raw
path: the path may carry a username, and labels must stay few.
"""

from __future__ import annotations

import time
from typing import Literal, Protocol

import httpx

from hub import paths
from hub.retries import RetryingTransport

ExchangeOutcome = Literal["success", "refused", "error"]
TRANSPORT_ERROR = "error"
"""The status reported for a request that got no answer (connection refused, timeout)."""


class HubObserver(Protocol):
    """Told about every request of one client; must be cheap and must not raise."""

    def on_request(self, method: str, route: str, status: str, seconds: float) -> None: ...

    def on_token_exchange(self, outcome: ExchangeOutcome) -> None: ...

    def on_rate_limit(self, remaining: int) -> None: ...

    def on_wait(self, seconds: float) -> None: ...


class ObservedTransport(httpx.AsyncBaseTransport):
    """Reports each request going through the retrying transport beneath it to an observer."""

    def __init__(self, inner: RetryingTransport, observer: HubObserver) -> None:
        self._inner = inner
        self._observer = observer
        self._waited_seen = inner.throttle.waited

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        route = paths.route(request.url.path)
        started = time.monotonic()
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TransportError:
            self._report(request.method, route, TRANSPORT_ERROR, started)
            raise
        self._report(request.method, route, str(response.status_code), started)
        remaining = response.headers.get("x-ratelimit-remaining")
        if remaining is not None and remaining.isdigit():
            self._observer.on_rate_limit(int(remaining))
        return response

    def _report(self, method: str, route: str, status: str, started: float) -> None:
        self._observer.on_request(method, route, status, time.monotonic() - started)
        if route == paths.AUTH_TOKEN:
            self._observer.on_token_exchange(_exchange_outcome(status))
        # The throttle keeps a running total; what grew since the last look was spent waiting.
        waited = self._inner.throttle.waited
        if waited > self._waited_seen:
            self._observer.on_wait(waited - self._waited_seen)
            self._waited_seen = waited

    async def aclose(self) -> None:
        await self._inner.aclose()


def _exchange_outcome(status: str) -> ExchangeOutcome:
    if status == "200":
        return "success"
    if status.startswith("4") and status != "429":
        return "refused"
    return "error"

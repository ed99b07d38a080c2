"""The one place where Docker Hub requests are retried and paced: an httpx transport.

Sitting under the client (and under the auth flow), it sees every request, the token exchange
included, so no call site repeats this logic. What it retries:
- 429, whatever the method (a rate-limited request was not processed): after `Retry-After`;
- 5xx, timeouts and dropped connections, for idempotent requests only, with exponential backoff
  and jitter;
- a connection that could not be opened, for any request (nothing was sent).
It gives up after `max_retries` or once the next wait would pass the time budget, and then hands
back the last response (or raises the last error) for the client to report.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    retry_if_result,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

from hub import paths
from hub.errors import parse_retry_after
from hub.throttling import RateLimitThrottle, announce_wait, seconds_text

logger = logging.getLogger("hub.http")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
NOTHING_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
REDACTED = "[redacted]"
MAYBE_APPLIED = "hubkeeper_maybe_applied"
"""Set in a response's extensions when an earlier attempt of the same request may have reached Docker
Hub and been applied (it timed out, lost its connection or got a 5xx) before this answer came."""


@dataclass
class _Attempts:
    maybe_applied: bool = False


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4
    budget_seconds: float = 60.0
    """No retry starts once its wait would end after this long since the first attempt."""
    backoff_base: float = 0.5
    backoff_max: float = 8.0


def redacted_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers as they may be logged: credentials replaced."""
    return {
        name: REDACTED if name.lower() in ("authorization", "cookie", "set-cookie") else value
        for name, value in headers.items()
    }


def is_idempotent(request: httpx.Request) -> bool:
    return request.method in IDEMPOTENT_METHODS or bool(request.extensions.get("hubkeeper_idempotent"))


class RetryingTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        policy: RetryPolicy | None = None,
        throttle: RateLimitThrottle | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._inner = inner
        self.policy = policy or RetryPolicy()
        self.throttle = throttle or RateLimitThrottle()
        self._clock = clock
        self._backoff = wait_random_exponential(multiplier=self.policy.backoff_base, max=self.policy.backoff_max)
        self.sent = 0
        """Requests that reached the wire, retries included, for benchmarks."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        idempotent = is_idempotent(request)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.policy.max_retries + 1) | stop_before_delay(self.policy.budget_seconds),
            wait=self._wait,
            retry=retry_if_exception(lambda exc: self._retryable_error(exc, idempotent))
            | retry_if_result(lambda response: self._retryable_response(response, idempotent)),
            before_sleep=self._before_sleep,
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
            reraise=True,
        )
        earlier = _Attempts()
        response: httpx.Response = await retrying(self._send_once, request, earlier)
        if earlier.maybe_applied:
            response.extensions[MAYBE_APPLIED] = True
        return response

    async def _send_once(self, request: httpx.Request, earlier: _Attempts) -> httpx.Response:
        # The token exchange is limited apart from the API calls the JWT makes: its 429 (a health check
        # asked too often, say) must not hold lookups that still have a valid JWT, nor its headers
        # stand for their window. Its own retries still wait what it is told.
        paced = request.url.path != paths.AUTH_TOKEN
        if paced:
            await self.throttle.acquire()
        started = time.monotonic()
        self.sent += 1
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TransportError as exc:
            logger.debug("%s %s failed: %s", request.method, request.url.path, type(exc).__name__)
            earlier.maybe_applied |= not isinstance(exc, NOTHING_SENT)
            raise
        earlier.maybe_applied |= response.status_code >= 500
        if paced:
            self.throttle.observe(response)
        if paced and response.status_code == 429:
            wait = parse_retry_after(response.headers, self._clock())
            if wait is not None:
                self.throttle.hold_for(wait)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %s in %.0f ms headers=%s",
                request.method,
                request.url.path,
                response.status_code,
                (time.monotonic() - started) * 1000,
                redacted_headers(request.headers),
            )
        return response

    @staticmethod
    def _retryable_error(exc: BaseException, idempotent: bool) -> bool:
        if isinstance(exc, NOTHING_SENT):
            return True
        return idempotent and isinstance(exc, httpx.TransportError)

    @staticmethod
    def _retryable_response(response: httpx.Response, idempotent: bool) -> bool:
        if response.status_code == 429:
            return True
        return idempotent and response.status_code in (500, 502, 503, 504)

    def _wait(self, state: RetryCallState) -> float:
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            response: httpx.Response = outcome.result()
            if response.status_code == 429:
                retry_after = parse_retry_after(response.headers, self._clock())
                if retry_after is not None:
                    return retry_after
        return float(self._backoff(state))

    async def _before_sleep(self, state: RetryCallState) -> None:
        outcome = state.outcome
        if outcome is None:
            return
        seconds = state.upcoming_sleep
        if outcome.failed:
            reason = type(outcome.exception()).__name__
        else:
            response: httpx.Response = outcome.result()
            reason = f"HTTP {response.status_code}"
            # The answer is dropped for a fresh attempt; its connection goes back to the pool.
            await response.aclose()
            if response.status_code == 429:
                # Only Docker Hub's own "wait" is told to the asker: backoff after an error is short and
                # random, and the error itself is what they will hear about if it lasts.
                announce_wait(seconds, f"Docker Hub asked us to wait {seconds_text(seconds)}")
        logger.info(
            "Docker Hub: retrying after %s in %.1f s (attempt %d)",
            reason,
            seconds,
            state.attempt_number + 1,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()

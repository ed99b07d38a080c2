"""Token exchange as an httpx auth flow: no call site ever sees a credential or a JWT.

An access token (OAT, or a PAT for the repository connection) is exchanged once at
`POST /v2/auth/token` for a short-lived JWT, which is cached until shortly before its `exp` claim
and shared by every request on the connection. Docker Hub locks a login out for ten minutes once
it is rate-limited, so the exchange must never happen per request: one exchange is in flight at a
time, whatever number of requests wait for it.

The health check forces an exchange to prove the secret still works. Anyone may ask for a health
check, so a forced exchange happens at most once a minute (in between, the check reports what the
last one found), never makes requests that can use the cached JWT wait, and, when it fails, leaves
that JWT in place for them.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
from typing import Literal

import httpx
from pydantic import SecretStr, ValidationError

from hub import paths
from hub.errors import (
    AuthenticationFailed,
    HubError,
    UnexpectedResponse,
    WrongTokenType,
    error_from_response,
    is_json,
)
from hub.models import AuthCreateTokenResponse

DEFAULT_LIFETIME = 600.0
"""The spec: "This expires in 10 minutes." Used when a token carries no `exp` claim."""

REFRESH_MARGIN = 60.0
FORCED_EXCHANGE_INTERVAL = 60.0
"""At most one forced (health check) exchange this often, per connection."""

TokenKind = Literal["oat", "pat"]


@dataclass(frozen=True)
class CachedToken:
    jwt: str
    refresh_at: float
    """Wall-clock time (as `exp` is) after which the token is exchanged again."""

    def __repr__(self) -> str:
        return f"CachedToken(refresh_at={self.refresh_at:.0f})"


@dataclass(frozen=True)
class ExchangeCheck:
    """What a forced exchange proved: the secret was accepted `age` seconds ago."""

    fresh: bool
    """True when the exchange happened now; False when this repeats a check from the last minute."""
    age: float
    next_check_in: float
    """Seconds until a health check may exchange again."""


@dataclass(frozen=True)
class _ForcedAttempt:
    at: float
    """time.monotonic() when it started."""
    error: HubError | None = None


def refresh_time(jwt: str, now: float) -> float:
    """When to exchange again: `exp` less 60 s, or less a tenth of the lifetime when that is shorter.

    The claims are read without verifying the signature; only Docker Hub needs to trust the token.
    """
    claims = _unverified_claims(jwt)
    exp = claims.get("exp")
    if not isinstance(exp, int | float):
        return now + DEFAULT_LIFETIME - REFRESH_MARGIN
    iat = claims.get("iat")
    issued = float(iat) if isinstance(iat, int | float) and iat <= exp else now
    lifetime = max(float(exp) - issued, 0.0)
    return float(exp) - min(REFRESH_MARGIN, lifetime / 10)


def _unverified_claims(jwt: str) -> dict[str, object]:
    parts = jwt.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


class TokenExchangeAuth(httpx.Auth):
    """Bearer auth from an OAT (identifier = org name) or a PAT (identifier = its username)."""

    def __init__(
        self,
        identifier: str,
        secret: SecretStr,
        *,
        kind: TokenKind,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.identifier = identifier
        self.kind = kind
        self._secret = secret
        self._clock = clock
        self._monotonic = monotonic
        self._token: CachedToken | None = None
        self._lock = asyncio.Lock()
        """Held only while a request's exchange is in flight: requests with a usable token never wait on it."""
        self._forced_lock = asyncio.Lock()
        self._last_forced: _ForcedAttempt | None = None
        self.exchanges = 0
        """How many exchanges succeeded, for health checks and benchmarks."""

    def __repr__(self) -> str:
        return f"TokenExchangeAuth(identifier={self.identifier!r}, kind={self.kind!r})"

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never be shown: the long-lived secret and the current JWT."""
        current = (self._token.jwt,) if self._token else ()
        return (self._secret.get_secret_value(), *current)

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("hubkeeper's Docker Hub client is async only")
        yield request  # pragma: no cover - makes this a generator, as httpx expects

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        stale: CachedToken | None = None
        for attempt in range(2):
            token = self._cached(stale)
            if token is None:
                # The lock is held across the exchange, so the exchange is single-flight: the other
                # requests that need one wait here and then find the fresh token in the cache.
                # `async with` releases it even when httpx closes this flow because the exchange failed.
                async with self._lock:
                    token = self._cached(stale)
                    if token is None:
                        exchange_response = yield self._exchange_request(request)
                        token = await self._store(exchange_response)
            request.headers["Authorization"] = f"Bearer {token.jwt}"
            response = yield request
            if response.status_code != 401 or attempt == 1:
                return
            # The JWT was refused before its time (revoked, clock skew): exchange once, retry once.
            await response.aread()
            stale = token

    async def exchange(self, http: httpx.AsyncClient) -> ExchangeCheck:
        """Exchange now, whatever the cache holds (the health check proves the secret still works).

        Within a minute of the last forced exchange this repeats what that one found instead: its
        success, or its error (raised again, saying when it happened). Requests go on with the cached
        JWT meanwhile; a failed exchange does not discard it.
        """
        async with self._forced_lock:
            now = self._monotonic()
            last = self._last_forced
            if last is not None and now - last.at < FORCED_EXCHANGE_INTERVAL:
                return self._repeat(last, now)
            self._last_forced = _ForcedAttempt(at=now)
            request = self._exchange_request(http.build_request("POST", paths.AUTH_TOKEN))
            try:
                # auth=None: this request carries the secret itself and must not enter this flow.
                response = await http.send(request, auth=None)
                await self._store(response, keep_valid=True)
            except HubError as error:
                self._last_forced = _ForcedAttempt(at=now, error=error)
                raise
            except httpx.TransportError:
                self._last_forced = _ForcedAttempt(
                    at=now, error=HubError("could not reach Docker Hub for the token exchange")
                )
                raise
            return ExchangeCheck(fresh=True, age=0.0, next_check_in=FORCED_EXCHANGE_INTERVAL)

    def _repeat(self, last: _ForcedAttempt, now: float) -> ExchangeCheck:
        age = now - last.at
        next_check_in = FORCED_EXCHANGE_INTERVAL - age
        if last.error is not None:
            raise HubError(
                f"{last.error.message} (checked {age:.0f} s ago; next check in {next_check_in:.0f} s)",
                status=last.error.status,
            )
        return ExchangeCheck(fresh=False, age=age, next_check_in=next_check_in)

    @property
    def token_valid_for(self) -> float | None:
        """Seconds the cached JWT will still be used, or None when none is cached."""
        token = self._token
        return None if token is None else max(token.refresh_at - self._clock(), 0.0)

    def _cached(self, stale: CachedToken | None) -> CachedToken | None:
        token = self._token
        if token is None or token is stale or self._clock() >= token.refresh_at:
            return None
        return token

    def _exchange_request(self, request: httpx.Request) -> httpx.Request:
        return httpx.Request(
            "POST",
            request.url.copy_with(path=paths.AUTH_TOKEN, query=None),
            json={"identifier": self.identifier, "secret": self._secret.get_secret_value()},
            # The exchange creates nothing, so the retry layer may repeat it like a GET.
            extensions={**request.extensions, "hubkeeper_idempotent": True},
        )

    async def _store(self, response: httpx.Response, *, keep_valid: bool = False) -> CachedToken:
        """Cache the JWT from an exchange's answer, or raise what went wrong.

        A failed exchange drops the cached JWT unless `keep_valid` and it has not reached its refresh
        time: a refused health check must not take the working token away from every lookup.
        """
        await response.aread()
        if response.status_code != 200:
            if not (keep_valid and self._cached(None) is not None):
                self._token = None
            error = error_from_response(response, now=self._clock(), secrets=self.secrets)
            if self.kind == "oat" and self._secret.get_secret_value().startswith("dckr_pat_"):
                # Docker Hub only says "unauthorized"; the prefix tells what really went wrong.
                raise WrongTokenType(response.status_code) from None
            if response.status_code in (400, 401, 403):
                what = "organization access token" if self.kind == "oat" else "personal access token"
                raise AuthenticationFailed(
                    f"Docker Hub refused the {what} for {self.identifier!r} "
                    f"(HTTP {response.status_code}); check the token and the "
                    f"{'organization name' if self.kind == 'oat' else 'username'}",
                    status=response.status_code,
                ) from None
            raise error from None
        if not is_json(response):
            raise UnexpectedResponse(
                "the token exchange answered with something other than JSON; wrong base URL?",
                status=response.status_code,
            )
        try:
            jwt = AuthCreateTokenResponse.model_validate_json(response.content).access_token
        except ValidationError:
            raise UnexpectedResponse("the token exchange answer has no access_token") from None
        self._token = CachedToken(jwt=jwt, refresh_at=refresh_time(jwt, self._clock()))
        self.exchanges += 1
        return self._token

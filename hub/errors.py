"""One typed hierarchy for everything that can go wrong between hubkeeper and Docker Hub.

Callers catch meaning, not status codes: each class says what went wrong for a person, and its
message is written to be shown to them as it is. No message ever carries a credential.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Annotations only: settings and the command parsers check input with these errors and must not
    # pay for loading httpx.
    import httpx

MAX_ECHO = 100
"""How much of a person's input an error message repeats back."""


def echo(value: object, limit: int = MAX_ECHO) -> str:
    """A value as it may appear in a message: repr-quoted, cut to `limit` characters."""
    text = repr(str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


class HubError(Exception):
    """Anything that stopped a Docker Hub operation. `message` is meant for a person."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class InvalidInput(HubError, ValueError):
    """A value was refused before any request was sent."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        super().__init__(f"{field} {echo(value)} is not valid: {reason}")
        self.field = field
        self.reason = reason


class AuthenticationFailed(HubError):
    """Docker Hub refused the credentials themselves (token exchange failed, or the JWT was refused twice)."""


class WrongTokenType(HubError):
    """A Personal Access Token was used where Docker Hub wants an Organization Access Token."""

    def __init__(self, status: int | None = None) -> None:
        super().__init__(
            "this is a Personal Access Token; org endpoints need an Organization Access Token",
            status=status,
        )


class PermissionDenied(HubError):
    """The token is valid but lacks the right for this operation."""


class NotFound(HubError):
    """The named team, member, repository or invite does not exist."""

    def __init__(self, message: str, *, kind: str = "", name: str = "", status: int | None = 404) -> None:
        super().__init__(message, status=status)
        self.kind = kind
        self.name = name
        self.maybe_applied = False
        """The 404 answered a retry, and an earlier attempt may itself have made the thing go away."""


class NotAnOrgMember(NotFound):
    """The user exists (or may) but is not a member of the organization."""

    def __init__(self, username: str, org: str) -> None:
        super().__init__(
            f"{echo(username)} is not a member of the organization {echo(org)}; "
            "invite them first (adding to a team does not invite)",
            kind="member",
            name=username,
        )
        self.org = org


class Conflict(HubError):
    """The change collides with what exists (a team of that name already exists, say)."""


class BadRequest(HubError):
    """Docker Hub refused the request as malformed or not allowed in its current state."""


class RateLimited(HubError):
    """Docker Hub's rate limit was hit and the retry budget could not wait it out."""

    def __init__(self, retry_after: float | None) -> None:
        wait = f"; retry in {retry_after:.0f} s" if retry_after is not None else ""
        super().__init__(f"Docker Hub rate limit reached{wait}", status=429)
        self.retry_after = retry_after


class HubUnavailable(HubError):
    """Docker Hub did not answer usefully after the retries (5xx, timeouts, dropped connections)."""


class UnexpectedResponse(HubError):
    """The answer was not the JSON the API promises (an HTML page usually means a wrong path or base URL)."""


def _body_message(response: httpx.Response) -> str:
    """The error text Docker Hub gave: `message`, else `detail`, else `text` (the three error body shapes)."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return ""
    if not isinstance(body, dict):
        return ""
    for key in ("message", "detail", "text"):
        value = body.get(key)
        if isinstance(value, str) and value:
            # The generic `message` ("forbidden") says less than `detail` when both are given.
            detail = body.get("detail")
            if key == "message" and isinstance(detail, str) and detail and detail != value:
                return f"{value}: {detail}"
            return value
    return ""


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret replaced, should Docker Hub ever echo one back."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def is_json(response: httpx.Response) -> bool:
    return "json" in response.headers.get("content-type", "")


def parse_retry_after(headers: httpx.Headers, now: float) -> float | None:
    """Seconds to wait from `Retry-After` (seconds) or `X-Retry-After` (a unix time, older spec)."""
    for name in ("retry-after", "x-retry-after"):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            value = float(raw)
        except ValueError:
            continue
        # Older Docker Hub docs gave X-Retry-After as a unix time: values this large are epoch times.
        if value > 1e9:
            value = value - now
        return max(value, 0.0)
    return None


def error_from_response(
    response: httpx.Response,
    *,
    not_found: str | None = None,
    now: float,
    secrets: Iterable[str] = (),
) -> HubError:
    """Map a failed response to the error that says what went wrong for a person."""
    status = response.status_code
    if not is_json(response):
        kind = "an HTML page" if "html" in response.headers.get("content-type", "") else "a non-JSON body"
        return UnexpectedResponse(
            f"Docker Hub answered {response.request.method} {response.request.url.path} "
            f"with {kind} (HTTP {status}); wrong path or base URL?",
            status=status,
        )
    text = scrub(_body_message(response), secrets)
    if status in (401, 403) and "personal access token" in text.lower():
        return WrongTokenType(status)
    if status == 401:
        return AuthenticationFailed(f"Docker Hub refused the token: {text or 'unauthorized'}", status=status)
    if status == 403:
        return PermissionDenied(
            f"permission denied by Docker Hub: {text or 'forbidden'} (does the token have the scope?)",
            status=status,
        )
    if status == 404:
        return NotFound(not_found or f"not found: {text or response.request.url.path}")
    if status == 409:
        return Conflict(f"conflict: {text or 'it already exists'}", status=status)
    if status == 429:
        return RateLimited(parse_retry_after(response.headers, now))
    if status >= 500:
        return HubUnavailable(f"Docker Hub is unavailable (HTTP {status}); try again later", status=status)
    return BadRequest(f"Docker Hub refused the request: {text or f'HTTP {status}'}", status=status)

"""The one exception the state raises; the HTTP layer turns it into Docker Hub's `error` body."""

from __future__ import annotations

from typing import Any


class HubError(Exception):
    def __init__(self, status: int, message: str, detail: str, *, body: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {message}: {detail}")
        self.status = status
        self.message = message
        self.detail = detail
        # Some routes (repository listing) answer with another schema, e.g. `ValueError`.
        self.body = body

    def to_body(self) -> dict[str, Any]:
        if self.body is not None:
            return self.body
        return {"errinfo": {}, "detail": self.detail, "message": self.message}


def bad_request(detail: str) -> HubError:
    return HubError(400, "bad request", detail)


def unauthorized(detail: str) -> HubError:
    return HubError(401, "unauthorized", detail)


def permission_denied(detail: str) -> HubError:
    return HubError(403, "permission denied", detail)


def not_found(detail: str) -> HubError:
    return HubError(404, "not found", detail)


def conflict(detail: str) -> HubError:
    return HubError(409, "conflict", detail)


def pat_not_allowed() -> HubError:
    # The wording Docker Hub uses when it refuses a JWT exchanged from a personal access token.
    return HubError(403, "forbidden", "token issued from personal access token is not allowed")

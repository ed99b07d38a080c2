"""Fixed-window request counting, one window per caller identity, as Docker Hub's headers describe."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RateDecision:
    limit: int
    remaining: int
    reset_epoch: int  # unix time (whole seconds) at which the caller's window ends
    retry_after: int | None  # set only when the request is over the limit

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_epoch),
        }
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class FixedWindowLimiter:
    """Not thread-safe on its own: EmulatorState calls it under its lock."""

    def __init__(self, limit: int, window_seconds: float) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._windows: dict[str, tuple[float, int]] = {}  # key → (window end, requests seen)

    def hit(self, key: str, now: float) -> RateDecision:
        end, used = self._windows.get(key, (0.0, 0))
        if now >= end:
            end, used = now + self.window_seconds, 0
        used += 1
        self._windows[key] = (end, used)
        over = used > self.limit
        return RateDecision(
            limit=self.limit,
            remaining=max(0, self.limit - used),
            reset_epoch=math.ceil(end),
            retry_after=max(1, math.ceil(end - now)) if over else None,
        )

"""Knobs a test or benchmark turns before (or while) the emulator runs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EmulatorConfig:
    # Docker Hub documents a 10-minute JWT; tests shorten it to exercise re-exchange.
    token_ttl_seconds: float = 600.0
    latency_ms: float = 0.0
    rate_limit_per_minute: int | None = None
    # "per minute" in Docker Hub; tests shorten the window so a reset can be observed quickly.
    rate_limit_window_seconds: float = 60.0

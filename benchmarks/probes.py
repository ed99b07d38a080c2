"""Benchmark: what the probes cost, and that they cost Docker Hub nothing.

The sandbox assembly (real bot over HTTP, emulator, Slack stand-in) with `--requests` change
requests in its store. Calls GET /readyz and GET /metrics `--probes` times each, one after another,
and prints p50/p99 latency, the size of the metrics page, and how many token exchanges and other
Docker Hub requests the probes caused (expected: none; readiness reads state, it does not ask).

    .venv/bin/python benchmarks/probes.py [--probes 200] [--requests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx

from bot.sandbox.run import Sandbox
from handlers.lifecycle import NewRequest
from hub.emulator import EmulatorConfig, EmulatorState, seed_demo


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def timed(http: httpx.AsyncClient, url: str, probes: int) -> tuple[list[float], httpx.Response]:
    times: list[float] = []
    response = None
    for _ in range(probes):
        started = time.perf_counter()
        response = await http.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    assert response is not None
    return times, response


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()

    state = EmulatorState(EmulatorConfig())
    seed_demo(state)
    async with Sandbox(console_port=0, emulator_state=state) as sandbox, httpx.AsyncClient() as http:
        assert sandbox.bot is not None
        now = datetime.now(UTC)
        for index in range(args.requests):
            await sandbox.bot.store.create(
                NewRequest(
                    instance="acme",
                    kind="team_add",
                    params={"team": "backend", "usernames": [f"user{index}"]},
                    requester="U0IVANP01",
                    reason="benchmark",
                    summary=f"Add user{index} to backend",
                    destructive=False,
                    approvals_required=1,
                    expires_at=now + timedelta(hours=24),
                ),
                now=now,
            )
        await sandbox.bot.startup_checks()
        base = sandbox.bot_url.removesuffix("/slack/events")
        exchanges, requests = state.token_exchanges, len(state.requests)
        ready, _ = await timed(http, base + "/readyz", args.probes)
        scraped, page = await timed(http, base + "/metrics", args.probes)
        caused_exchanges, caused_requests = state.token_exchanges - exchanges, len(state.requests) - requests

    print(f"{args.requests} change requests in the store, {args.probes} probes of each, one at a time")
    print(f"GET /readyz   p50 {percentile(ready, 0.5):6.1f} ms   p99 {percentile(ready, 0.99):6.1f} ms")
    print(f"GET /metrics  p50 {percentile(scraped, 0.5):6.1f} ms   p99 {percentile(scraped, 0.99):6.1f} ms")
    print(f"metrics page: {len(page.content)} bytes, {len(page.text.splitlines())} lines")
    print(f"Docker Hub during the probes: {caused_exchanges} token exchanges, {caused_requests} requests")


if __name__ == "__main__":
    asyncio.run(main())

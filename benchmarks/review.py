"""Benchmark: the access review of a 5,000-member, 300-team org at 50 ms Docker Hub latency.

Prints, against the emulator (its own process, so it shares neither our interpreter nor our memory):
- requests issued vs the minimum (1 exchange + 1 invites call + ceil(members / 100) member pages);
- wall time vs the latency-bound limit at the client's page concurrency: the exchange, then the first
  members page (the invites call rides along with it), then the other pages in waves of `concurrency`;
- peak resident memory of `hubkeeper review --csv /dev/null` run as a child process, for the
  5,000-member org and for a 50,000-member one, next to the same interpreter's RSS after only the
  imports, so what the review itself adds is visible.
Targets (issue 4): requests = minimum; wall <= 1.5x the limit; peak RSS for 50,000 members < 150 MB.

    .venv/bin/python benchmarks/review.py [--members 5000] [--teams 300] [--latency-ms 50]
                                          [--concurrency 8] [--memory-members 50000]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import statistics
import subprocess
import sys
import time

from pydantic import SecretStr

from handlers.review import write_review_csv
from hub.client import HubClient, HubConnection
from hub.emulator.process import emulator_process
from hub.emulator.seeds import LARGE_OAT

ORG = "bigcorp"
MEMORY_TARGET_MB = 150.0


async def listing_only(base_url: str, concurrency: int) -> float:
    """The same listing without the CSV: what the review adds over it is the review's own cost."""
    connection = HubConnection(org=ORG, oat=SecretStr(LARGE_OAT), base_url=base_url)
    async with HubClient(connection, page_concurrency=concurrency) as hub:
        started = time.perf_counter()
        async for _ in hub.iter_members():
            pass
        return time.perf_counter() - started


async def review_in_process(base_url: str, concurrency: int) -> tuple[int, float, int, int]:
    """(members, wall seconds, requests, token exchanges) for one review written to /dev/null."""
    connection = HubConnection(org=ORG, oat=SecretStr(LARGE_OAT), base_url=base_url)
    async with HubClient(connection, page_concurrency=concurrency) as hub:
        with open(os.devnull, "w", encoding="utf-8", newline="") as out:  # noqa: ASYNC230 - /dev/null never blocks
            started = time.perf_counter()
            summary = await write_review_csv(hub, out)
            wall = time.perf_counter() - started
        return summary.members, wall, hub.requests_sent, hub.token_exchanges


# The child reports its own high-water mark (VmHWM, reset by exec) as it exits. Not ru_maxrss: on
# Linux a child's ru_maxrss starts from its parent's RSS at fork, so it would show ours (about 60 MB
# of imports and the in-process runs) whatever the child did.
_REPORT_PEAK = """
import atexit, re, sys
def _report():
    with open("/proc/self/status") as status:
        sys.stderr.write("\\n" + re.search(r"VmHWM:\\s*\\d+ kB", status.read()).group(0) + "\\n")
atexit.register(_report)
sys.argv = ["hubkeeper review", *sys.argv[1:]]
if sys.argv[1:]:
    from bot.cli.review import review
    review()
else:
    import bot.cli.review
"""


def child_peak_rss_mb(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Run `hubkeeper review ARGS` (no ARGS: only its imports) in a child; its peak RSS and stderr."""
    result = subprocess.run(
        [sys.executable, "-c", _REPORT_PEAK, *args], env=env, capture_output=True, text=True, check=False
    )
    peak = re.search(r"VmHWM:\s*(\d+) kB", result.stderr)
    if result.returncode != 0 or peak is None:
        raise SystemExit(f"child {args} failed ({result.returncode}): {result.stderr.strip()}")
    return int(peak.group(1)) / 1024, result.stderr[: peak.start()].strip()


def review_env(base_url: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKERHUB_", "HUBKEEPER_"))}
    return {**clean, "DOCKERHUB_ORG": ORG, "DOCKERHUB_OAT": LARGE_OAT, "DOCKERHUB_API_URL": base_url}


def review_rss(base_url: str) -> tuple[float, str]:
    return child_peak_rss_mb(["--csv", os.devnull], review_env(base_url))


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--teams", type=int, default=300)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--memory-members", type=int, default=50_000, help="0 skips the large memory run")
    parser.add_argument("--runs", type=int, default=5, help="timed runs; the median is judged (a shared box is noisy)")
    args = parser.parse_args()

    pages = math.ceil(args.members / 100)
    minimum = 1 + 1 + pages
    latency = args.latency_ms / 1000
    limit = latency * (2 + math.ceil((pages - 1) / args.concurrency))

    with emulator_process(members=args.members, teams=args.teams, latency_ms=args.latency_ms) as base_url:
        await review_in_process(base_url, args.concurrency)  # warm-up: imports, connections, emulator caches
        walls: list[float] = []
        listing_walls: list[float] = []
        for _ in range(args.runs):
            count, wall, requests, exchanges = await review_in_process(base_url, args.concurrency)
            walls.append(wall)
            listing_walls.append(await listing_only(base_url, args.concurrency))
        baseline_rss, _ = child_peak_rss_mb([], review_env(base_url))
        small_rss, small_summary = review_rss(base_url)

    print(
        f"access review: {args.members} members, {args.teams} teams, {args.latency_ms:.0f} ms latency, "
        f"concurrency {args.concurrency}"
    )
    print(f"  members written         {count}")
    print(f"  requests                {requests} (minimum {minimum})  [{verdict(requests == minimum)}]")
    print(f"  token exchanges         {exchanges}")
    wall = statistics.median(walls)
    print(
        f"  wall time, median of {args.runs}  {wall * 1000:.0f} ms (latency-bound limit {limit * 1000:.0f} ms, "
        f"{wall / limit:.2f}x; target <= 1.5x)  [{verdict(wall <= 1.5 * limit)}]"
    )
    print(
        f"    review runs           {', '.join(f'{w * 1000:.0f}' for w in walls)} ms (best {min(walls) / limit:.2f}x)"
    )
    print(
        f"    listing alone         {', '.join(f'{w * 1000:.0f}' for w in listing_walls)} ms "
        f"(median {statistics.median(listing_walls) / limit:.2f}x): the same pages without the CSV"
    )
    print(f"  peak RSS, imports only  {baseline_rss:.1f} MB")
    print(f"  peak RSS, {args.members:>6} members {small_rss:.1f} MB   ({small_summary})")

    if args.memory_members:
        with emulator_process(members=args.memory_members, teams=args.teams, latency_ms=args.latency_ms) as base_url:
            large_rss, large_summary = review_rss(base_url)
        members = re.search(r": ([\d,]+) members", large_summary)
        print(
            f"  peak RSS, {args.memory_members:>6} members {large_rss:.1f} MB "
            f"(target < {MEMORY_TARGET_MB:.0f} MB; +{large_rss - small_rss:.1f} MB over {args.members})  "
            f"[{verdict(large_rss < MEMORY_TARGET_MB)}]"
        )
        print(f"    {members.group(1) if members else '?'} members reviewed: {large_summary}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main())

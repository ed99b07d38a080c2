"""Benchmark: applying an access policy of 500 repositories × 4 teams under a 600-requests-a-minute limit.

Against the emulator (in this process, on its own thread), with a fresh org whose repositories have no
grants, so the apply makes one grant per repository and team. Prints:
- the plan's reads (members once, teams once, one per repository and team) and their time;
- the apply's request rate as a share of the limit (target ≥ 90%) and the 429s met (target 0);
- that a second plan finds nothing to do.

    .venv/bin/python benchmarks/policy_apply.py [--repos 500] [--teams 4] [--limit 600] [--window 60]
        [--concurrency 8]

The full run takes about 7 minutes (2,000 reads then 2,000 grants at 10 a second). For a quicker
look, `--repos 50 --limit 60 --window 6` keeps the same rate (10 a second) at a tenth of the work;
a shorter window only changes how bursty each window is.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from pydantic import SecretStr

from handlers.policy.engine import apply_changes, plan_policy
from handlers.policy.model import Policy
from hub.client import HubClient, HubConnection
from hub.emulator import EmulatorConfig, EmulatorServer, EmulatorState, seed_large

ORG = "bigcorp"
LEVELS = ("read", "write", "admin")


def window_counts(times: list[float], window: float) -> list[int]:
    """Requests per rate-limit window, rebuilt as the emulator's fixed windows run (each opens on a request)."""
    counts: list[int] = []
    end = float("-inf")
    for at in sorted(times):
        if at >= end:
            end = at + window
            counts.append(0)
        counts[-1] += 1
    return counts


def build_policy(repos: int, teams: int) -> Policy:
    names = [f"team{index:04d}" for index in range(1, teams + 1)]
    repositories = {
        f"{ORG}/repo{index:05d}": {team: LEVELS[(index + offset) % 3] for offset, team in enumerate(names)}
        for index in range(repos)
    }
    return Policy(source="benchmark", repositories=repositories)


async def run(args: argparse.Namespace) -> None:
    state = EmulatorState(EmulatorConfig(rate_limit_per_minute=args.limit, rate_limit_window_seconds=args.window))
    oat = seed_large(state, members=args.members, teams=args.teams + 1, repositories=args.repos, org=ORG)
    policy = build_policy(args.repos, args.teams)
    budget = args.limit / args.window  # requests a second the limit allows
    with EmulatorServer(state, host="127.0.0.1", port=0) as server:
        connection = HubConnection(org=ORG, oat=SecretStr(oat), base_url=server.base_url)
        async with HubClient(connection) as hub:
            started = time.monotonic()
            state_read, changes = await plan_policy(hub, policy, concurrency=args.concurrency)
            plan_seconds = time.monotonic() - started
            plan_requests = hub.requests_sent
            print(
                f"plan: {plan_requests} requests ({args.repos * args.teams} permission reads) in "
                f"{plan_seconds:.1f} s; {len(changes)} changes"
            )
            apply_started = time.monotonic()
            sent_before = hub.requests_sent
            result = await apply_changes(hub, changes, state_read.team_ids, concurrency=args.concurrency)
            apply_seconds = time.monotonic() - apply_started
            apply_requests = hub.requests_sent - sent_before
            rate = apply_requests / apply_seconds
            print(
                f"apply: {len(result.applied)} applied, {len(result.failed)} failed; {apply_requests} requests in "
                f"{apply_seconds:.1f} s = {rate * 60:.0f}/min = {rate / budget:.0%} of the limit "
                f"({args.limit} per {args.window:g} s)"
            )
            counts = window_counts([r.time for r in state.requests], args.window)
            full = counts[:-1] or counts
            print(
                f"plan + apply, requests per {args.window:g} s rate-limit window: {counts}; every window but the "
                f"last: {sum(full) / (len(full) * args.limit):.0%} of the limit"
            )
            total_seconds = time.monotonic() - started
            total_rate = hub.requests_sent / total_seconds
            print(f"plan + apply: {hub.requests_sent} requests in {total_seconds:.1f} s = {total_rate / budget:.0%}")
            _, again = await plan_policy(hub, policy, concurrency=args.concurrency)
            print(f"second plan: {len(again)} changes")
    statuses = [request.status for request in state.requests]
    print(f"429s: {statuses.count(429)} of {len(statuses)} requests; other errors: "
          f"{sum(1 for s in statuses if s is not None and s >= 400 and s not in (404, 429))}")  # fmt: skip


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repos", type=int, default=500)
    parser.add_argument("--teams", type=int, default=4)
    parser.add_argument("--limit", type=int, default=600, help="requests per window")
    parser.add_argument("--window", type=float, default=60.0, help="seconds")
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

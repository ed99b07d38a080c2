"""Benchmark: a 100-person team add and a 100-person invite, each one request through approval.

Against the emulator (in this process, on its own thread) with Docker Hub's rate limit switched on,
and the Slack stand-in; the request is planned (`Approvals.submit`), stored, posted, approved and
executed (`Approvals.approve`) exactly as a click on Approve does. Prints for each: the Docker Hub
requests made (plan and execution), the wall time, and the wall time against the rate limit's bound:
- even pacing: the requests spread evenly at the limit (requests ÷ limit × window);
- fixed window: the least time the emulator's fixed window allows (a window's worth at once, then
  wait for the next window).

    .venv/bin/python benchmarks/bulk.py [--people 100] [--limit 600] [--window 60] [--latency-ms 50]

`--limit 60 --window 6` keeps 600 a minute but makes 100 requests cross a window, so the pacing shows.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
from pathlib import Path

from pydantic import SecretStr
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack_api import SlackStandIn
from bot.slack_io import SlackDirectory, SlackMessenger
from bot.store import SqlRequestStore
from bot.store.access_store import SqlAccessIndexStore
from handlers.commands import Change, parse
from handlers.context import HandlerContext
from handlers.requests.approvals import ApprovalPolicy, Approvals
from handlers.requests.lifecycle import Status
from hub.client import HubClient, HubConnection
from hub.emulator import EmulatorConfig, EmulatorServer, EmulatorState, seed_large

ORG = "bigcorp"
TOKEN = "xoxb-bench"
CHANNEL = "C0HUBOPS01"
REQUESTER, APPROVER = "U0IVANP01", "U0ALICE01"


def bounds(requests: int, limit: int, window: float) -> tuple[float, float]:
    """(even pacing, fixed window) seconds the rate limit alone imposes on `requests`."""
    return requests / limit * window, math.floor(max(requests - 1, 0) / limit) * window


async def measure(
    label: str, approvals: Approvals, ctx: HandlerContext, hub: HubClient, text: str, args: argparse.Namespace
) -> None:
    command = parse(text).command
    assert isinstance(command, Change)
    sent = hub.requests_sent
    started = time.monotonic()
    reply = await approvals.submit(ctx, command.kind, command.params, command.reason)
    planned = time.monotonic()
    plan_requests = hub.requests_sent - sent
    request = (await approvals.store.list_requests(requester=REQUESTER, limit=1))[0]
    assert "Requested" in reply.text, reply.text
    await approvals.approve(request.id, APPROVER)
    finished = time.monotonic()
    done = await approvals.store.get(request.id)
    assert done is not None
    total = hub.requests_sent - sent
    even, window = bounds(total, args.limit, args.window)
    changed = len((done.result or {}).get("changed", []))
    print(
        f"{label}: {done.status.value}, {changed} changed; {total} Docker Hub requests "
        f"({plan_requests} to plan, {total - plan_requests} to execute) in {finished - started:.2f} s "
        f"(plan {planned - started:.2f} s); rate-limit bound {even:.1f} s at even pacing, "
        f"{window:.1f} s in fixed {args.window:g} s windows of {args.limit}"
    )
    if done.status is not Status.DONE:
        print(f"  error: {done.error}")


async def run(args: argparse.Namespace) -> None:
    state = EmulatorState(
        EmulatorConfig(
            rate_limit_per_minute=args.limit, rate_limit_window_seconds=args.window, latency_ms=args.latency_ms
        )
    )
    oat = seed_large(state, members=args.people + 20, teams=3, org=ORG)
    state.add_group(ORG, "newcomers", "Benchmark team")
    people = [f"user{index:05d}" for index in range(20, 20 + args.people)]
    invitees = [f"hire{index:03d}@{ORG}.example" for index in range(args.people)]
    with (
        EmulatorServer(state, host="127.0.0.1", port=0) as server,
        SlackStandIn(bot_token=TOKEN) as slack,
        tempfile.TemporaryDirectory() as folder,
    ):
        async with (
            await SqlRequestStore.open(f"sqlite:///{Path(folder) / 'bench.db'}") as store,
            HubClient(HubConnection(org=ORG, oat=SecretStr(oat), base_url=server.base_url)) as hub,
        ):
            client = AsyncWebClient(token=TOKEN, base_url=slack.api_url)
            messenger, directory = SlackMessenger(client), SlackDirectory(client)

            def make(instance: str, actor: str, request_id: str | None) -> HandlerContext:
                return HandlerContext(
                    hub=hub,
                    access_index=SqlAccessIndexStore(store.engine),
                    instance=instance,
                    actor=actor,
                    messenger=messenger,
                    directory=directory,
                    store=store,
                    request_id=request_id,
                )

            approvals = Approvals(
                store=store,
                messenger=messenger,
                directory=directory,
                policies={ORG: ApprovalPolicy(channel=CHANNEL, approvers=frozenset({APPROVER}))},
                contexts=make,
            )
            ctx = make(ORG, REQUESTER, None)
            await hub.list_groups()  # the token exchange, outside the figures
            print(f"{args.people} people; limit {args.limit} per {args.window:g} s; {args.latency_ms:g} ms latency")
            await measure("team add", approvals, ctx, hub, f"team add newcomers {' '.join(people)}", args)
            await measure("invite", approvals, ctx, hub, f"invite {' '.join(invitees)} --team newcomers", args)
    statuses = [request.status for request in state.requests]
    print(f"429s: {statuses.count(429)} of {len(statuses)} requests")


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--limit", type=int, default=600, help="requests per window")
    parser.add_argument("--window", type=float, default=60.0, help="seconds")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="the emulator's answer latency")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

"""Benchmark: refreshing the access index of R repositories × T teams at Docker Hub's rate limit, and
`/hub access` answered from the index for an org of M members.

Against the emulator in its own process (seeded with `--seed large`, rate-limited like Docker Hub),
the refresh runs here into a SQLite store and prints:
- requests: exactly R·T pair reads, plus the listings (repositories, teams) and the token exchanges
  (one, and one more every 10 minutes: the JWT's lifetime);
- the achieved rate of the pair reads as a % of the configured share of the limit (target 90–100 %);
- how many 429s came back (target 0);
- this process's peak RSS (the refresh, the client and the store; the emulator is elsewhere);
then times `/hub access` (the handler, from the index) for random members: p50/p99 (target p99 < 200 ms).

The full run (500 × 20 at 600 a minute, a share of 0.5) reads 10,000 pairs at 300 a minute: about
33 minutes. `--repositories 50` takes about 3.

    .venv/bin/python benchmarks/access_index.py [--repositories 500] [--teams 20] [--rate-limit 600]
        [--share 0.5] [--members 5000] [--latency-ms 20] [--lookups 300]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from pydantic import SecretStr
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack_io import SlackDirectory, SlackMessenger
from bot.store import SqlRequestStore
from bot.store.access_store import SqlAccessIndexStore
from handlers.access_index import refresh_index
from handlers.context import HandlerContext
from handlers.member_access import access
from hub.client import HubClient, HubConnection
from hub.emulator.process import emulator_process
from hub.emulator.seeds import LARGE_OAT

ORG = "bigcorp"
P99_TARGET_MS = 200.0


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts what came back by status (429s especially), under the client's own retrying transport."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.statuses: dict[int, int] = {}
        self.pair_times: list[float] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        if request.url.path.startswith("/v2/repositories/") and "/groups/" in request.url.path:
            self.pair_times.append(time.monotonic())
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repositories", type=int, default=500)
    parser.add_argument("--teams", type=int, default=20, help="teams in all, the owners team included")
    parser.add_argument("--rate-limit", type=int, default=600, help="the emulator's requests a minute")
    parser.add_argument("--share", type=float, default=0.5, help="HUBKEEPER_INDEX_RATE_SHARE")
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--lookups", type=int, default=300)
    args = parser.parse_args()

    pairs = args.repositories * args.teams
    listings = max(1, math.ceil(args.repositories / 100)) + max(1, math.ceil(args.teams / 100))
    target_rate = args.rate_limit * args.share
    print(
        f"access index: {args.repositories} repositories × {args.teams} teams = {pairs:,} pairs, "
        f"{args.rate_limit}/min limit, share {args.share} ({target_rate:.0f}/min), {args.latency_ms:.0f} ms latency; "
        f"expect ~{pairs / target_rate:.1f} min"
    )
    with (
        emulator_process(
            members=args.members,
            teams=args.teams,
            latency_ms=args.latency_ms,
            repositories=args.repositories,
            rate_limit=args.rate_limit,
        ) as base_url,
        tempfile.TemporaryDirectory(prefix="hubkeeper-bench-") as folder,
    ):
        store = await SqlRequestStore.open(f"sqlite:///{Path(folder) / 'index.db'}")
        index = SqlAccessIndexStore(store.engine)
        counting = CountingTransport()
        connection = HubConnection(org=ORG, oat=SecretStr(LARGE_OAT), base_url=base_url)
        try:
            async with HubClient(connection, transport=counting) as hub:
                last = [0.0]

                def progress(done: int, total: int) -> None:
                    if time.monotonic() - last[0] > 30 or done == total:
                        last[0] = time.monotonic()
                        print(f"    {done:,}/{total:,} pairs", flush=True)

                started = time.monotonic()
                result = await refresh_index(
                    hub, index, ORG, claimed_by="benchmark", rate_share=args.share, progress=progress
                )
                wall = time.monotonic() - started
                requests = hub.requests_sent
                rss_after_refresh = peak_rss_mb()

                times = counting.pair_times
                span = times[-1] - times[0] if len(times) > 1 else 0.0
                achieved = (len(times) - 1) / span * 60 if span else float("inf")
                overall = requests / wall * 60
                print(f"  pairs read              {result.pairs_read:,}; grants found {result.grants:,}")
                exchanges = hub.token_exchanges  # the JWT lasts 10 minutes: a long refresh renews it
                print(
                    f"  requests                {requests:,} = {pairs:,} pairs + {requests - pairs:,} "
                    f"(listings {listings} + token exchanges {exchanges})  "
                    f"[{verdict(requests == pairs + listings + exchanges)}]"
                )
                print(
                    f"  achieved rate           {achieved:.1f}/min over the pair reads = "
                    f"{achieved / target_rate * 100:.1f} % of the share (target 90–100 %)  "
                    f"[{verdict(0.9 * target_rate <= achieved <= target_rate * 1.0001)}]"
                )
                print(f"    whole refresh         {overall:.1f}/min including listings, wall {wall:.1f} s")
                limited = counting.statuses.get(429, 0)
                print(f"  429 answers             {limited}  [{verdict(limited == 0)}]")
                print(f"  peak RSS (this process) {rss_after_refresh:.1f} MB")

                # /hub access from the index, for random members of the org.
                # The context as the bot builds it; the Slack parts are never called (no mention is asked).
                slack = AsyncWebClient(token="xoxb-benchmark", base_url="http://127.0.0.1:9/")
                ctx = HandlerContext(
                    hub=hub,
                    instance=ORG,
                    actor="UBENCH",
                    messenger=SlackMessenger(slack),
                    directory=SlackDirectory(slack),
                    store=store,
                    access_index=index,
                )
                width = max(5, len(str(args.members)))
                rng = random.Random(12)
                usernames = [f"user{rng.randrange(args.members):0{width}d}" for _ in range(args.lookups)]
                latencies = []
                for username in usernames:
                    began = time.perf_counter()
                    reply = await access(ctx, username, index=ctx.access_index)
                    latencies.append((time.perf_counter() - began) * 1000)
                    if "as of" not in reply.text:
                        raise SystemExit(f"/hub access {username} did not answer from the index: {reply.text[:200]}")
                index_only = []
                member_teams = [[f"team{rng.randrange(1, args.teams):04d}" for _ in range(3)] for _ in range(200)]
                for teams in member_teams:
                    began = time.perf_counter()
                    await index.grants_of_teams(ORG, teams)
                    index_only.append((time.perf_counter() - began) * 1000)
                p50 = statistics.median(latencies)
                p99 = statistics.quantiles(latencies, n=100)[98]
                print(
                    f"  /hub access, {args.members:,} members  p50 {p50:.1f} ms, p99 {p99:.1f} ms over {args.lookups} "
                    f"lookups (one member search on Docker Hub at {args.latency_ms:.0f} ms + the index) "
                    f"(target p99 < {P99_TARGET_MS:.0f} ms)  [{verdict(p99 < P99_TARGET_MS)}]"
                )
                print(
                    f"    index query alone     p50 {statistics.median(index_only):.2f} ms, "
                    f"p99 {statistics.quantiles(index_only, n=100)[98]:.2f} ms"
                )
                print(f"  peak RSS at the end     {peak_rss_mb():.1f} MB")
        finally:
            await store.close()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main())

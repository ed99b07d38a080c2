"""Benchmark: listing a 5,000-member org at 50 ms Docker Hub latency.

Prints, in one run against the emulator (its own process, so it does not share our interpreter):
- requests issued by the client vs the minimum (1 exchange + ceil(members / 100) pages);
- wall time vs the latency-bound limit at the chosen concurrency;
- token exchanges;
- the same listing done by sequentially following `next` (page_size kept), and what following
  `next` naively (as Docker Hub returns it, without page_size) would have read.
Targets (issue 2): requests = minimum; wall ≤ 1.5× the limit; ≥ 5× faster than sequential.

    .venv/bin/python benchmarks/members_listing.py [--members 5000] [--latency-ms 50] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import time
from urllib.parse import parse_qsl, urlsplit

import httpx
from pydantic import SecretStr

from hub.auth import TokenExchangeAuth
from hub.client import HubClient, HubConnection
from hub.emulator.process import emulator_process
from hub.emulator.seeds import LARGE_OAT

ORG = "bigcorp"


async def list_with_client(base_url: str, concurrency: int) -> tuple[int, float, int, int]:
    connection = HubConnection(org=ORG, oat=SecretStr(LARGE_OAT), base_url=base_url)
    async with HubClient(connection, page_concurrency=concurrency) as hub:
        started = time.perf_counter()
        members = await hub.list_members()
        wall = time.perf_counter() - started
        return len(members), wall, hub.requests_sent, hub.token_exchanges


async def list_following_next(base_url: str, *, keep_page_size: bool) -> tuple[int, int, float, int]:
    """One page after another by `next`; returns (items, distinct usernames, wall, requests)."""
    auth = TokenExchangeAuth(ORG, SecretStr(LARGE_OAT), kind="oat")
    requests = 0
    usernames: list[str] = []
    async with httpx.AsyncClient(base_url=base_url, auth=auth) as http:
        started = time.perf_counter()
        url: str | None = f"/v2/orgs/{ORG}/members?page=1&page_size=100"
        while url:
            response = await http.get(url)
            requests += 1
            response.raise_for_status()
            body = response.json()
            usernames += [member["username"] for member in body["results"]]
            following = body.get("next")
            if not following:
                break
            # Docker Hub's `next` may say http:// and another host; keep only path and query.
            parts = urlsplit(following)
            query = dict(parse_qsl(parts.query))
            if keep_page_size:
                query["page_size"] = "100"
            url = parts.path + "?" + "&".join(f"{k}={v}" for k, v in query.items())
        wall = time.perf_counter() - started
    return len(usernames), len(set(usernames)), wall, requests + auth.exchanges


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--teams", type=int, default=300)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    pages = math.ceil(args.members / 100)
    minimum = 1 + pages
    latency = args.latency_ms / 1000
    # Exchange, first page (tells the count), then the rest in waves of `concurrency`.
    limit = latency * (2 + math.ceil((pages - 1) / args.concurrency))

    with emulator_process(members=args.members, teams=args.teams, latency_ms=args.latency_ms) as base_url:
        await list_with_client(base_url, args.concurrency)  # warm-up: imports, connections
        count, wall, requests, exchanges = await list_with_client(base_url, args.concurrency)
        seq_items, _, seq_wall, seq_requests = await list_following_next(base_url, keep_page_size=True)
        naive_items, naive_distinct, naive_wall, naive_requests = await list_following_next(
            base_url, keep_page_size=False
        )

    def verdict(ok: bool) -> str:
        return "OK" if ok else "MISSED"

    print(f"members listing: {args.members} members, {args.latency_ms:.0f} ms latency, concurrency {args.concurrency}")
    print(f"  members read            {count}")
    print(f"  requests                {requests} (minimum {minimum})  [{verdict(requests == minimum)}]")
    print(f"  token exchanges         {exchanges}")
    print(
        f"  wall time               {wall * 1000:.0f} ms (latency-bound limit {limit * 1000:.0f} ms, "
        f"{wall / limit:.2f}x; target <= 1.5x)  [{verdict(wall <= 1.5 * limit)}]"
    )
    print(
        f"  sequential, next        {seq_wall * 1000:.0f} ms, {seq_requests} requests, {seq_items} members "
        f"-> {seq_wall / wall:.1f}x slower (target >= 5x)  [{verdict(seq_wall >= 5 * wall)}]"
    )
    print(
        f"  naive next (as sent)    {naive_wall * 1000:.0f} ms, {naive_requests} requests, {naive_items} rows "
        f"for {naive_distinct} distinct members (next drops page_size)"
    )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main())

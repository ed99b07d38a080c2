"""`hubkeeper emulator`: serve the Docker Hub emulator (for the sandbox, demos and benchmarks)."""

from __future__ import annotations

import asyncio
import contextlib

import click

from hub.emulator import DEMO, EmulatorConfig, EmulatorState, seed_demo, seed_large, serve_forever

LARGE_ORG = "bigcorp"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option("--seed", type=click.Choice(["demo", "large", "none"]), default="demo", show_default=True)
@click.option("--members", default=5000, show_default=True, type=click.IntRange(1), help="With --seed large.")
@click.option("--teams", default=300, show_default=True, type=click.IntRange(1), help="With --seed large.")
@click.option("--repositories", default=0, show_default=True, type=click.IntRange(0), help="With --seed large.")
@click.option("--token-ttl", default=600.0, show_default=True, type=click.FloatRange(min=1), help="JWT lifetime, s.")
@click.option("--latency-ms", default=0.0, show_default=True, type=click.FloatRange(min=0))
@click.option("--rate-limit", default=None, type=click.IntRange(1), help="Requests a minute; none by default.")
def emulator(
    host: str,
    port: int,
    seed: str,
    members: int,
    teams: int,
    repositories: int,
    token_ttl: float,
    latency_ms: float,
    rate_limit: int | None,
) -> None:
    """Serve the Docker Hub emulator (for the sandbox, demos and benchmarks)."""
    state = EmulatorState(
        EmulatorConfig(token_ttl_seconds=token_ttl, latency_ms=latency_ms, rate_limit_per_minute=rate_limit)
    )
    if seed == "demo":
        seed_demo(state)
        click.echo(f"demo org {DEMO.org!r}: DOCKERHUB_ORG={DEMO.org} DOCKERHUB_OAT={DEMO.oat} (emulator only)")
    elif seed == "large":
        oat = seed_large(state, members=members, teams=teams, repositories=repositories, org=LARGE_ORG)
        click.echo(f"large org {LARGE_ORG!r}: {members} members, {teams} teams; OAT {oat} (emulator only)")
    click.echo(f"Docker Hub emulator on http://{host}:{port} (Ctrl-C to stop)")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(state, host=host, port=port))

"""`hubkeeper demo`: the health checks and a short tour of the emulator's demo org."""

from __future__ import annotations

import asyncio
import sys

import click
from pydantic import SecretStr

from bot.cli.check import check_instances
from bot.settings import InstanceConfig
from hub.client import HubClient
from hub.emulator import DEMO, EmulatorConfig, EmulatorServer, EmulatorState, seed_demo


def demo_instance(base_url: str) -> InstanceConfig:
    return InstanceConfig(
        label="demo",
        organization_name=DEMO.org,
        organization_access_token=SecretStr(DEMO.oat),
        api_url=base_url,
        pat_username=DEMO.pat_username,
        pat=SecretStr(DEMO.pat),
    )


async def _demo_tour(instance: InstanceConfig) -> bool:
    ok = await check_instances([instance])
    async with HubClient(instance.connection()) as hub:
        members = await hub.list_members()
        teams = await hub.list_groups()
        invites = await hub.list_invites()
        repositories = await hub.list_repositories()
    owners = sorted(m.username for m in members if m.role_key == "owner")
    click.echo(
        f"\n{instance.organization_name}: {len(members)} members ({len(owners)} owners: {', '.join(owners)}), "
        f"{len(teams)} teams, {len(repositories)} repositories, {len(invites)} pending invites"
    )
    for team in teams:
        click.echo(f"  team {team.name:<14} {team.member_count or 0:>3} members  {team.description or ''}")
    return ok


@click.command()
def demo() -> None:
    """Start the emulator with the demo org and run the health checks and a short tour against it."""
    state = EmulatorState(EmulatorConfig())
    seed_demo(state)
    with EmulatorServer(state, host="127.0.0.1", port=0) as server:
        click.echo(f"Docker Hub emulator with the demo org at {server.base_url}\n")
        ok = asyncio.run(_demo_tour(demo_instance(server.base_url)))
    sys.exit(0 if ok else 1)

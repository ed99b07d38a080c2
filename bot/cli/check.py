"""`hubkeeper check`: the health checks against every configured instance (or one)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

import click

from bot.cli.output import fail_config
from bot.settings import ConfigError, InstanceConfig, load_settings
from handlers.health_checks import CheckResult, run_health_checks
from hub.client import HubClient


def _print_results(instance: InstanceConfig, results: Sequence[CheckResult]) -> None:
    click.echo(f"{instance.label} ({instance.organization_name} at {instance.api_url})")
    for result in results:
        mark = click.style("PASS", fg="green") if result.ok else click.style("FAIL", fg="red")
        click.echo(f"  {mark}  {result.name}: {result.detail}")


async def check_instances(instances: Sequence[InstanceConfig]) -> bool:
    """Run and print the checks of each instance; True when every one passed."""
    all_ok = True
    for instance in instances:
        async with HubClient(instance.connection()) as hub:
            results = await run_health_checks(hub)
        _print_results(instance, results)
        all_ok = all_ok and all(result.ok for result in results)
    return all_ok


@click.command()
@click.option("--instance", "label", help="Check only this instance (by its label).")
def check(label: str | None) -> None:
    """Run the health checks: exchange the OAT, list one member, list one team."""
    try:
        instances = load_settings().select_instances(label)
    except ConfigError as error:
        fail_config(error)
    sys.exit(0 if asyncio.run(check_instances(instances)) else 1)

"""`hubkeeper index` (refresh the access index now, with a progress bar) and the `--access` half of
`hubkeeper review`."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import Sequence
from typing import Any

import click

from bot.cli.review import _output
from bot.settings import ConfigError, InstanceConfig, Settings, load_settings
from bot.store.access_store import SqlAccessIndexStore
from bot.store.sql_store import SqlRequestStore
from handlers.access_index import RefreshResult, refresh_index
from handlers.access_review import AccessReviewSummary, NoIndex, write_access_csv
from hub.client import HubClient
from hub.errors import HubError

EXIT_CONFIG = 2
EXIT_FAILED = 1


def _fail(message: str, code: int = EXIT_CONFIG) -> None:
    click.echo(f"hubkeeper: {message}", err=True)
    sys.exit(code)


def select_instances(settings: Settings, label: str | None) -> list[InstanceConfig]:
    instances = settings.instances()
    if label is None:
        return list(instances.values())
    if label not in instances:
        raise ConfigError(f"--instance {label!r} is not configured; known instances: {', '.join(sorted(instances))}")
    return [instances[label]]


def claimant() -> str:
    return f"cli:{socket.gethostname()}:{os.getpid()}"


class _Bar:
    """A click progress bar opened once the total is known (after the listings)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._bar: Any = None
        self._shown = 0

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = click.progressbar(length=total, label=self.label, file=sys.stderr, show_pos=True)
            self._bar.__enter__()
        self._bar.update(done - self._shown)
        self._shown = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


async def _index(settings: Settings, instances: Sequence[InstanceConfig]) -> bool:
    store = await SqlRequestStore.open(settings.database_url())
    index = SqlAccessIndexStore(store.engine)
    all_done = True
    try:
        for instance in instances:
            bar = _Bar(f"{instance.label}: reading (repository, team) pairs")
            try:
                async with HubClient(instance.connection()) as hub:
                    result = await refresh_index(
                        hub,
                        index,
                        instance.label,
                        claimed_by=claimant(),
                        rate_share=settings.hubkeeper_index_rate_share,
                        progress=bar,
                    )
            except HubError as error:
                bar.close()
                click.echo(f"hubkeeper: {instance.label}: {error.message} (the next run resumes here)", err=True)
                all_done = False
                continue
            bar.close()
            click.echo(_describe(instance.label, result))
            all_done = all_done and result.ran
    finally:
        await store.close()
    return all_done


def _describe(label: str, result: RefreshResult) -> str:
    if not result.ran:
        return f"{label}: another process is refreshing the access index; not started"
    resumed = " (resumed)" if result.resumed else ""
    return (
        f"{label}: access index refreshed{resumed}: {result.repositories:,} repositories × {result.teams:,} teams, "
        f"{result.pairs_read:,} pairs read in {result.seconds:.1f} s, {result.grants:,} grants"
    )


@click.command()
@click.option("--instance", "label", metavar="LABEL", help="Only this instance (by its label).")
def index(label: str | None) -> None:
    """Refresh the access index now: every (repository, team) pair, paced to HUBKEEPER_INDEX_RATE_SHARE."""
    try:
        settings = load_settings()
        instances = select_instances(settings, label)
    except ConfigError as error:
        _fail(str(error))
        return
    sys.exit(0 if asyncio.run(_index(settings, instances)) else EXIT_FAILED)


async def _access_review(settings: Settings, instance: InstanceConfig, target: str) -> AccessReviewSummary:
    store = await SqlRequestStore.open(settings.database_url())
    try:
        async with HubClient(instance.connection()) as hub:
            with _output(target) as out:
                return await write_access_csv(hub, SqlAccessIndexStore(store.engine), instance.label, out)
    finally:
        await store.close()


def access_review_cli(target: str, label: str | None) -> None:
    """`hubkeeper review --access --csv FILE`: rows from the index; the summary on stderr."""
    try:
        settings = load_settings()
        instances = select_instances(settings, label)
        if len(instances) > 1:
            raise ConfigError(
                "several instances are configured; choose one with --instance: "
                + ", ".join(instance.label for instance in instances)
            )
    except ConfigError as error:
        _fail(str(error))
        return
    instance = instances[0]
    try:
        summary = asyncio.run(_access_review(settings, instance, target))
    except NoIndex as missing:
        _fail(f"{instance.label}: {missing}", EXIT_FAILED)
        return
    except HubError as error:
        _fail(f"{instance.label}: {error}", EXIT_FAILED)
        return
    except OSError as error:
        _fail(f"cannot write {target}: {error.strerror or error}", EXIT_FAILED)
        return
    click.echo(summary.text(), err=True)

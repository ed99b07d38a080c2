"""`hubkeeper policy plan|apply|export`: access policy as code, from the command line.

Wiring only: parsing lives in handlers/policy/model.py, the diff in handlers/policy/diff.py, reading
and applying in handlers/policy/engine.py. Exit codes (like `terraform plan -detailed-exitcode`):
- plan: 0 nothing to do, 2 changes to make, 1 error (a configuration error too: 2 means changes);
- apply: 0 when the org matches the policy at the end, 1 otherwise;
- export: 0, or 1 on error.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

import click

from bot.cli.output import printable
from bot.settings import ConfigError, InstanceConfig, load_settings
from handlers.policy.diff import Change, OrgState, render_plan
from handlers.policy.engine import (
    DEFAULT_CONCURRENCY,
    ApplyResult,
    apply_plan,
    dump_policy,
    export_policy,
    plan_policy,
)
from handlers.policy.model import Policy, PolicyError, load_policy, resolve
from hub.client import HubClient
from hub.errors import HubError

if TYPE_CHECKING:
    from bot.store import SqlRequestStore

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2


def _fail(message: str) -> NoReturn:
    click.echo(f"hubkeeper: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _style(text: str, colour: str) -> str:
    # Each styled text is one line of the plan, names and descriptions from Docker Hub included.
    return click.style(printable(text, multiline=False), fg=colour)


def _instance_for(policy: Policy | None, option: str | None) -> InstanceConfig:
    """The instance --instance names, else the policy's `instance:`, else the only one configured."""
    if option and policy is not None and policy.instance and option != policy.instance:
        raise ConfigError(f"--instance {option!r} differs from the policy's instance {policy.instance!r}")
    from_file = policy.instance if policy is not None else None
    return load_settings().one_instance(
        option or from_file,
        hint="name one with `instance:` or --instance",
        named_by="--instance" if option else "instance",
    )


def _load(file: str, option: str | None) -> tuple[Policy, InstanceConfig]:
    try:
        policy = load_policy(file)
        return policy, _instance_for(policy, option)
    except PolicyError as error:
        for problem in error.problems:
            click.echo(problem, err=True)
        _fail(f"{file}: {len(error.problems)} problem(s); nothing was planned or applied")
    except ConfigError as error:
        _fail(str(error))


async def _plan(instance: InstanceConfig, policy: Policy, concurrency: int) -> tuple[OrgState, list[Change]]:
    async with HubClient(instance.connection()) as hub:
        state, changes = await plan_policy(hub, policy, concurrency=concurrency)
    for warning in resolve(policy, state.repositories).warnings:
        click.echo(click.style(f"warning: {warning}", fg="yellow"), err=True)
    return state, changes


def _show_plan(instance: InstanceConfig, policy: Policy, changes: list[Change]) -> None:
    click.echo(f"Policy {policy.source} against {instance.label} ({instance.organization_name}):")
    click.echo(render_plan(changes, _style))


def _report_plan_error(error: Exception) -> NoReturn:
    if isinstance(error, PolicyError):
        for problem in error.problems:
            click.echo(problem, err=True)
        _fail(f"{len(error.problems)} problem(s); nothing was applied")
    assert isinstance(error, HubError)
    _fail(f"Docker Hub: {error.message}")


@click.group()
def policy() -> None:
    """Access policy as code: which teams exist, who is in them, and what they may do."""


concurrency_option = click.option(
    "--concurrency",
    default=DEFAULT_CONCURRENCY,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Requests in flight at once (the pace follows Docker Hub's rate-limit headers).",
)
instance_option = click.option("--instance", "instance_label", help="The instance (by label), if not in the file.")


@policy.command()
@click.argument("file", type=click.Path(dir_okay=False))
@instance_option
@concurrency_option
def plan(file: str, instance_label: str | None, concurrency: int) -> None:
    """Show what applying FILE would change. Exit 0: nothing to do; 2: changes; 1: error."""
    loaded, instance = _load(file, instance_label)
    try:
        _, changes = asyncio.run(_plan(instance, loaded, concurrency))
    except (PolicyError, HubError) as error:
        _report_plan_error(error)
    _show_plan(instance, loaded, changes)
    sys.exit(EXIT_CHANGES if changes else EXIT_OK)


async def _apply(
    instance: InstanceConfig,
    changes: list[Change],
    seen: OrgState | None,
    concurrency: int,
    store: SqlRequestStore,
    actor: str,
    source: str,
) -> ApplyResult:
    with click.progressbar(length=len(changes), label="Applying", file=sys.stderr) as bar:

        async def step(change: Change, error: str | None) -> None:
            bar.update(1)

        async with HubClient(instance.connection()) as hub:
            # Exactly the changes shown (and confirmed), each from the state the plan saw: the org may
            # have changed while the question waited for an answer.
            return await apply_plan(
                hub,
                changes,
                audit=store,
                actor=actor,
                instance=instance.label,
                source=source,
                concurrency=concurrency,
                progress=step,
                state=seen,
            )


async def _open_store() -> SqlRequestStore:
    # Imported here: only apply keeps an audit log, so plan and export never load SQLAlchemy.
    from bot.store import SqlRequestStore

    return await SqlRequestStore.open(load_settings().database_url())


def _report_apply(result: ApplyResult, total: int, file: str) -> None:
    click.echo(f"Applied {len(result.applied)} of {total} change(s).")
    if result.already:
        click.echo(f"Already so ({len(result.already)}):")
        for change, why in result.already:
            click.echo(_style(f"  = {change.describe()}: {why}", "white"))
    if result.stale:
        click.echo(click.style(f"Skipped, the org changed since the plan ({len(result.stale)}):", fg="red"))
        for change, why in result.stale:
            click.echo(_style(f"  ! {change.describe()}: {why}", "red"))
        click.echo(f"Run `hubkeeper policy plan {file}` to see what is to do now.")
    if result.ok and not result.stale:
        click.echo(click.style("The organization matches the policy.", fg="green"))
        return
    click.echo(click.style(f"Not applied ({len(result.failed) + len(result.skipped)}):", fg="red"))
    for change, error in [*result.failed, *result.skipped]:
        click.echo(_style(f"  ! {change.describe()}: {error}", "red"))
    click.echo(f"Run `hubkeeper policy apply {file}` again to finish; it plans only what is left.")


@policy.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--yes", "-y", is_flag=True, help="Apply without asking.")
@instance_option
@concurrency_option
def apply(file: str, yes: bool, instance_label: str | None, concurrency: int) -> None:
    """Make the organization match FILE. Exit 0 when it matches at the end, 1 otherwise."""
    loaded, instance = _load(file, instance_label)
    try:
        seen, changes = asyncio.run(_plan(instance, loaded, concurrency))
    except (PolicyError, HubError) as error:
        _report_plan_error(error)
    _show_plan(instance, loaded, changes)
    if not changes:
        sys.exit(EXIT_OK)
    if not yes and not click.confirm(f"Apply these {len(changes)} change(s)?", default=False, err=True):
        _fail("not applied")
    # With --yes nothing waits between the plan and the apply: the plan's own read stands. After the
    # question the org is read again, since a person may have taken their time.
    result = asyncio.run(_apply_with_store(instance, changes, seen if yes else None, concurrency, loaded.source))
    _report_apply(result, len(changes), file)
    # 0 only when the org now matches the plan: a skipped change leaves it different from the policy.
    sys.exit(EXIT_OK if result.ok and not result.stale else EXIT_ERROR)


async def _apply_with_store(
    instance: InstanceConfig, changes: list[Change], seen: OrgState | None, concurrency: int, source: str
) -> ApplyResult:
    try:
        store = await _open_store()
    except Exception as error:  # the audit log is required: nothing is applied without it
        _fail(f"cannot open the audit log ({type(error).__name__}: {error}); nothing was applied")
    try:
        return await _apply(instance, changes, seen, concurrency, store, getpass.getuser(), source)
    finally:
        await store.close()


async def _export(
    instance: InstanceConfig, repositories: Sequence[str] | None, concurrency: int, fold: bool = False
) -> str:
    async with HubClient(instance.connection()) as hub:
        document = await export_policy(
            hub, instance=instance.label, repositories=repositories, concurrency=concurrency, fold=fold
        )
    return dump_policy(document)


@policy.command()
@click.option(
    "--repository",
    "-r",
    "repositories",
    multiple=True,
    help="namespace/repository to include (repeatable); default: every repository of the org.",
)
@click.option(
    "--fold",
    is_flag=True,
    help="Fold identical grants into patterns (acme/*, acme/api-*) where that means exactly the same.",
)
@instance_option
@concurrency_option
def export(repositories: tuple[str, ...], fold: bool, instance_label: str | None, concurrency: int) -> None:
    """Print the org's teams, members and team permissions as a policy file (a starting point)."""
    try:
        instance = _instance_for(None, instance_label)
        text = asyncio.run(_export(instance, list(repositories) or None, concurrency, fold))
    except ConfigError as error:
        _fail(str(error))
    except HubError as error:
        _fail(f"Docker Hub: {error.message}")
    click.echo(text, nl=False)


__all__ = ["policy"]

"""`hubkeeper team add|remove <team> --from FILE` and `hubkeeper invite --from FILE`: bulk changes from a file.

The same change kinds as `/hub team add`, `/hub team remove` and `/hub invite` (up to 100 people a
request). With an approval channel configured (HUBKEEPER_APPROVAL_CHANNEL or the instance's own) the
change goes through approval as it would from Slack: it is planned, stored and its approval message
posted, and the request id printed; nothing changes until an approver clicks Approve. Without one it
is planned, shown, and executed here (after a confirmation, or with --yes), and its outcome kept in
the audit log. A progress bar runs either way (planning, or executing).

Files:
- `team add|remove --from members.txt`: one Docker ID or email a line; blank lines and `#` comments
  (a whole line, or after a space) are ignored.
- `invite --from new-hires.csv`: CSV with a header row; the column `email` (an email or a Docker ID)
  is required, `team` and `role` are optional. Rows are grouped by their (team, role), one request
  per group; an empty cell takes --team / --role.
"""

from __future__ import annotations

import asyncio
import csv
import getpass
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from bot.cli.index import _Bar
from bot.cli.output import EXIT_CONFIG, echo
from bot.settings import ConfigError, InstanceConfig, Settings, load_settings
from handlers.blocks import unescape
from handlers.changes import bulk
from handlers.context import Reply
from handlers.grammar import UsageError, member_ref
from handlers.requests import kinds
from handlers.requests.kind import ChangeKind, ChangeRefused, Params, PartlyApplied
from handlers.requests.lifecycle import SYSTEM, AuditEvent
from hub.client import HubClient
from hub.errors import HubError, InvalidInput

if TYPE_CHECKING:
    from bot.store.sql_store import SqlRequestStore
    from handlers.context import HandlerContext
    from handlers.requests.approvals import Approvals

EXIT_FAILED = 1
FC = TypeVar("FC", bound=Callable[..., Any] | click.Command)
CSV_COLUMNS = ("email", "team", "role")


def _fail(message: str, code: int = EXIT_CONFIG) -> NoReturn:
    click.echo(f"hubkeeper: {message}", err=True)
    sys.exit(code)


@dataclass(frozen=True)
class Batch:
    """One request's worth: the words after the command, as `/hub` would get them."""

    kind: ChangeKind[Any]
    args: list[str]
    label: str
    """How the output names it ("team add backend", "invite into team data as editor")."""


# -- reading files ----------------------------------------------------------------------------------


def read_lines(path: str) -> list[str]:
    """One subject a line; blank lines and `#` comments are skipped."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        _fail(f"cannot read {path}: {getattr(error, 'strerror', None) or error}")
    subjects = []
    for line in text.splitlines():
        content = line.split(" #", 1)[0].split("\t#", 1)[0].strip()
        if content and not content.startswith("#"):
            subjects.append(content)
    if not subjects:
        _fail(f"{path} names nobody (one Docker ID or email a line)")
    return subjects


def read_invites(path: str, team: str | None, role: str | None) -> dict[tuple[str | None, str | None], list[str]]:
    """(team, role) → the invitees of the CSV's rows with them, in file order; every problem named by line."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        _fail(f"cannot read {path}: {getattr(error, 'strerror', None) or error}")
    if not rows:
        _fail(f"{path} is empty: it needs a header row (email[,team,role])")
    header = [cell.strip().lower() for cell in rows[0]]
    unknown = [cell for cell in header if cell not in CSV_COLUMNS]
    if "email" not in header or unknown or len(set(header)) != len(header):
        _fail(f"{path}: the header must name the column email, and may name team and role (it has {rows[0]})")
    groups: dict[tuple[str | None, str | None], list[str]] = {}
    problems = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = dict(zip(header, (cell.strip() for cell in row), strict=False))
        invitee = cells.get("email", "")
        try:
            member_ref(invitee)
        except InvalidInput as error:
            problems.append(f"{path} line {number}: {error.message}")
            continue
        key = (cells.get("team") or team, (cells.get("role") or role or "").lower() or None)
        groups.setdefault(key, []).append(invitee)
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        _fail(f"{path}: {len(problems)} problem(s); nothing was requested")
    if not groups:
        _fail(f"{path} has no rows under its header")
    return groups


# -- running ----------------------------------------------------------------------------------------


class NoSlack:
    """Messenger and directory for a change executed here: the change kinds never reach Slack."""

    async def post(self, channel: str, reply: Reply, thread_ts: str | None = None) -> str:
        raise RuntimeError("no Slack is configured for this command")

    async def update(self, channel: str, ts: str, reply: Reply) -> None:
        raise RuntimeError("no Slack is configured for this command")

    async def dm(self, user_id: str, reply: Reply) -> str:
        raise RuntimeError("no Slack is configured for this command")

    async def user_group_members(self, group_id: str) -> frozenset[str]:
        return frozenset()

    async def user_email(self, user_id: str) -> str | None:
        return None

    async def user_by_email(self, email: str) -> str | None:
        return None


def _terminal(text: str) -> str:
    return unescape(text)


def _parse(batch: Batch, reason: str | None) -> Params:
    spec = batch.kind.syntax
    if reason is None and batch.kind.reason_required:
        _fail(f"{spec.name} needs --reason TEXT: why, for the audit log")
    try:
        params: Params = batch.kind.parse(batch.args)
    except (UsageError, InvalidInput) as error:
        _fail(f"{batch.label}: {_terminal(error.message)}")
    return params


async def _through_approval(
    settings: Settings,
    instance: InstanceConfig,
    batches: Sequence[tuple[Batch, Params]],
    reason: str | None,
    requester: str,
) -> bool:
    # Imported here: only this path talks to Slack.
    from bot.slack_io import SlackDirectory, SlackMessenger, web_client
    from bot.store.access_store import SqlAccessIndexStore
    from bot.store.sql_store import SqlRequestStore
    from handlers.context import HandlerContext
    from handlers.requests.approvals import ApprovalPolicy, Approvals

    slack = settings.slack_for_posting()
    client = web_client(slack)
    messenger, directory = SlackMessenger(client), SlackDirectory(client)
    policy = ApprovalPolicy(
        channel=settings.approval_channel(instance),
        approvers=settings.approvers(),
        destructive_approvals=settings.hubkeeper_destructive_approvals,
        request_ttl=settings.request_ttl(),
        audit_channel=settings.hubkeeper_audit_channel or None,
    )
    filed = True
    async with await SqlRequestStore.open(settings.database_url()) as store, HubClient(instance.connection()) as hub:
        approvals = Approvals(
            store=store,
            messenger=messenger,
            directory=directory,
            policies={instance.label: policy},
            contexts=lambda label, actor, request_id: None,
        )
        ctx = HandlerContext(
            hub=hub,
            access_index=SqlAccessIndexStore(store.engine),
            instance=instance.label,
            actor=requester,
            instances=(instance.label,),
            messenger=messenger,
            directory=directory,
            store=store,
        )
        for batch, params in batches:
            filed = await _file(approvals, store, ctx, batch, params, reason) and filed
    return filed


async def _file(
    approvals: Approvals,
    store: SqlRequestStore,
    ctx: HandlerContext,
    batch: Batch,
    params: Params,
    reason: str | None,
) -> bool:
    before = {request.id for request in await store.list_requests(requester=ctx.actor, limit=100)}
    bar = _Bar(f"{batch.label}: checking")
    try:
        with bulk.reporting_progress(bar):
            reply = await approvals.submit(ctx, batch.kind, params, reason)
    finally:
        bar.close()
    filed = [r for r in await store.list_requests(requester=ctx.actor, limit=100) if r.id not in before]
    echo(_terminal(reply.text))
    if not filed:
        return False
    click.echo(f"request {filed[0].id}")
    return True


async def _directly(
    settings: Settings, instance: InstanceConfig, batches: Sequence[tuple[Batch, Params]], reason: str | None, yes: bool
) -> bool:
    from bot.store.access_store import SqlAccessIndexStore
    from bot.store.sql_store import SqlRequestStore
    from handlers.context import HandlerContext

    actor = f"cli:{getpass.getuser()}"
    none = NoSlack()
    all_done = True
    async with await SqlRequestStore.open(settings.database_url()) as store, HubClient(instance.connection()) as hub:
        ctx = HandlerContext(
            hub=hub,
            access_index=SqlAccessIndexStore(store.engine),
            instance=instance.label,
            actor=actor,
            instances=(instance.label,),
            messenger=none,
            directory=none,
            store=store,
        )
        for batch, params in batches:
            kind = batch.kind
            try:
                plan = await kind.plan(ctx, kind.load(params))
            except ChangeRefused as refused:
                echo(f"{batch.label}: {_terminal(refused.message)}", err=True)
                all_done = False
                continue
            echo("\n".join(_terminal(line) for line in [plan.summary, *plan.details]))
            if not yes and not click.confirm("Make this change?", default=False, err=True):
                click.echo("not changed", err=True)
                all_done = False
                continue
            all_done = await _execute(store, ctx, kind, plan.params, instance.label, reason) and all_done
    return all_done


async def _execute(
    store: SqlRequestStore, ctx: HandlerContext, kind: ChangeKind[Any], params: Params, label: str, reason: str | None
) -> bool:
    bar = _Bar(f"{label}: {kind.syntax.name}")
    detail: dict[str, Any] = {"kind": kind.name, "params": kind.dump(params), "reason": reason or ""}
    try:
        with bulk.reporting_progress(bar):
            outcome = await kind.execute(ctx, kind.load(params))
    except PartlyApplied as partial:
        bar.close()
        result = partial.result or partial.record()
        echo(_terminal(str(result.get("summary") or partial.message)))
        echo(_terminal(partial.message), err=True)
        await store.append_audit(
            AuditEvent("change.failed", ctx.actor, label, detail={**detail, "error": partial.message, "result": result})
        )
        return False
    except (ChangeRefused, HubError) as error:
        bar.close()
        echo(f"hubkeeper: {_terminal(error.message)}", err=True)
        await store.append_audit(
            AuditEvent("change.failed", ctx.actor, label, detail={**detail, "error": error.message})
        )
        return False
    bar.close()
    echo(_terminal(outcome.summary))
    await store.append_audit(
        AuditEvent(
            "change.done", ctx.actor, label, detail={**detail, "result": {"summary": outcome.summary, **outcome.result}}
        )
    )
    return True


def _run(
    batches: Sequence[Batch], instance_label: str | None, reason: str | None, requester: str | None, yes: bool
) -> None:
    try:
        settings = load_settings()
        instance = settings.one_instance(instance_label, hint="choose one with --instance")
        parsed = [(batch, _parse(batch, reason)) for batch in batches]
        if settings.approval_channel(instance):
            settings.slack_for_posting()  # the one setting it needs, checked before anything is read
    except ConfigError as error:
        _fail(str(error))
    try:
        if settings.approval_channel(instance):
            ok = asyncio.run(_through_approval(settings, instance, parsed, reason, requester or SYSTEM))
        else:
            ok = asyncio.run(_directly(settings, instance, parsed, reason, yes))
    except HubError as error:
        _fail(f"Docker Hub: {error.message}", EXIT_FAILED)
    sys.exit(0 if ok else EXIT_FAILED)


# -- the commands -----------------------------------------------------------------------------------


def from_option(what: str) -> Callable[[FC], FC]:
    return click.option("--from", "source", required=True, type=click.Path(dir_okay=False), help=what)


reason_option = click.option("--reason", help="Why, for the audit log and the approvers.")
instance_option = click.option("--instance", "instance_label", metavar="LABEL", help="The instance (by its label).")
requester_option = click.option(
    "--requester", metavar="SLACK_USER_ID", help="Through approval: who asks (told of the outcome by DM)."
)
yes_option = click.option("--yes", "-y", is_flag=True, help="Without approval: execute without asking.")


@click.group()
def team() -> None:
    """Add people to a team, or take them out, from a file (through approval when configured)."""


def _subjects_command(kind_name: str, verb: str) -> click.Command:
    @from_option("One Docker ID or email a line; blank lines and # comments are skipped.")
    @reason_option
    @instance_option
    @requester_option
    @yes_option
    @click.argument("team_name", metavar="TEAM")
    def command(
        team_name: str, source: str, reason: str | None, instance_label: str | None, requester: str | None, yes: bool
    ) -> None:
        kind = kinds.named(kind_name)
        batch = Batch(kind, [team_name, *read_lines(source)], f"team {verb} {team_name}")
        _run([batch], instance_label, reason, requester, yes)

    command.__doc__ = (
        f"{verb.capitalize()} the people FILE names (one Docker ID or email a line) "
        f"{'to' if verb == 'add' else 'from'} TEAM."
    )
    return click.command(verb)(command)


team.add_command(_subjects_command("team_add", "add"))
team.add_command(_subjects_command("team_remove", "remove"))


@click.command()
@from_option("CSV with a header row: email (or a Docker ID), and optionally team and role.")
@click.option("--team", "default_team", help="The team for rows without one.")
@click.option("--role", "default_role", help="The role for rows without one (member, editor, owner).")
@reason_option
@instance_option
@requester_option
@yes_option
def invite(
    source: str,
    default_team: str | None,
    default_role: str | None,
    reason: str | None,
    instance_label: str | None,
    requester: str | None,
    yes: bool,
) -> None:
    """Invite the people of a CSV file (header: email[,team,role]), one request per team and role."""
    kind = kinds.named("invite")
    batches = []
    for (team_name, role), invitees in read_invites(source, default_team, default_role).items():
        args = list(invitees)
        label = "invite"
        if team_name:
            args += ["--team", team_name]
            label += f" into team {team_name}"
        if role:
            args += ["--role", role]
            label += f" as {role}"
        batches.append(Batch(kind, args, label))
    _run(batches, instance_label, reason, requester, yes)


__all__ = ["invite", "team"]

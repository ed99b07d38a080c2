"""`--dry-run` on every change command: the asker sees the plan exactly as approvers would, and nothing
is filed, posted or changed. Through the whole Router, against the emulator, the SQL store and the
Slack stand-in; parametrized over the kind registry, so a kind added tomorrow is covered too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.sandbox.slack_api import SlackStandIn
from bot.store import SqlRequestStore
from handlers.blocks import context
from handlers.commands import Change, parse
from handlers.context import HandlerContext
from handlers.grammar import UsageError, positional
from handlers.help import help_reply
from handlers.requests import kinds
from handlers.requests.kind import ChangeKind, Outcome, Params, Plan
from handlers.requests.render import DRY_RUN_NOTE, render_plan
from handlers.router import Router
from hub.client import HubClient
from hub.emulator import EmulatorState
from tests.handlers.routers import HUB_OPS, IVAN, Clock, hub_writes, open_router

# A line each kind of today plans against the demo org; a kind not listed (added since) is asked
# with its own first example, and its dry run must then answer as filing it for real would.
PLANNED: dict[str, str] = {
    "team_create": "team create mobile Mobile apps --reason new app",
    "team_update": "team update frontend --name web --description Web UI --reason clearer",
    "team_delete": "team delete security --reason merged",
    "team_add": "team add data umarkhan@acme.example --reason joins data",
    "team_remove": "team remove backend ivanpetrov --reason moved",
    "role": "role kenjisato owner --reason lead",
    "member_remove": "remove weizhang --reason left",
    "invite": "invite new.person@acme.example --team backend --reason new hire",
    "invite_cancel": "invite cancel newhire@acme.example --reason not joining",
    "grant": "grant data acme/api write --reason dashboards",
    "revoke": "revoke security acme/api --reason not needed",
    "access_request": "request acme/docs write for 2h fixing the docs",
    "offboard": "offboard weizhang --reason leaving",
}
COMMANDS = [kind for kind in kinds.ALL if kind.command is not None]


def line_for(kind: ChangeKind[Any]) -> str:
    return PLANNED.get(kind.name) or kind.syntax.example.removeprefix("/hub ")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def router(store: SqlRequestStore, hub: HubClient, slack: SlackStandIn, clock: Clock) -> Router:
    return open_router(store, hub, slack, clock)


def test_the_known_kinds_all_have_a_planned_line() -> None:
    # A kind renamed or dropped here would silently fall back to its example.
    names = {kind.name for kind in COMMANDS}
    assert set(PLANNED) <= names, set(PLANNED) - names


@pytest.mark.parametrize("kind", COMMANDS, ids=lambda kind: kind.name)
async def test_a_dry_run_is_the_approvers_plan_and_files_nothing(
    kind: ChangeKind[Any],
    router: Router,
    store: SqlRequestStore,
    slack: SlackStandIn,
    emulator_state: EmulatorState,
) -> None:
    line = line_for(kind)
    dry = await router.command(f"{line} --dry-run", IVAN, HUB_OPS)
    assert dry.ephemeral
    assert await store.list_requests() == []  # nothing filed
    assert slack.messages(HUB_OPS) == []  # nothing posted
    assert hub_writes(emulator_state) == []  # nothing changed

    real = await router.command(line, IVAN, HUB_OPS)
    posted = slack.messages(HUB_OPS)
    if kind.name in PLANNED:
        assert "Requested" in real.text, real.text
    if not posted:
        # Refused (or a usage error): the dry run said exactly what asking for real says.
        assert dry.text == real.text and dry.blocks == real.blocks
        return
    (stored,) = await store.list_requests()
    plan = render_plan(stored)
    assert dry.blocks == [*plan, context(DRY_RUN_NOTE)]
    # …which is what the approval message shows above its status and buttons.
    # (Slack gives every block a block_id of its own; those aside.)
    shown = [{k: v for k, v in block.items() if k != "block_id"} for block in posted[-1]["blocks"]]
    assert shown[: len(plan)] == plan


async def test_the_flag_stands_anywhere_before_the_reason_or_last(
    router: Router, store: SqlRequestStore, slack: SlackStandIn
) -> None:
    for line in (
        "team add --dry-run data umarkhan --reason joins data",
        "team add data umarkhan --reason joins data --dry-run",
        "request acme/docs write --dry-run fixing the docs",
    ):
        reply = await router.command(line, IVAN, HUB_OPS)
        assert "Dry run" in reply.text, (line, reply.text)
    assert await store.list_requests() == [] and slack.messages(HUB_OPS) == []


def test_the_reason_is_never_cut() -> None:
    parsed = parse("team add data umarkhan --reason not --dry-run but this")
    assert isinstance(parsed.command, Change)
    assert not parsed.command.dry_run and parsed.command.reason == "not --dry-run but this"
    quoted = parse('request acme/docs write "docs --dry-run"')
    assert isinstance(quoted.command, Change) and not quoted.command.dry_run
    plain = parse("request acme/docs write docs fix --dry-run")
    assert isinstance(plain.command, Change) and plain.command.dry_run and plain.command.reason == "docs fix"


@pytest.mark.parametrize("line", ["members --dry-run", "whois ivanpetrov --dry-run", "--dry-run"])
def test_lookups_refuse_the_flag(line: str) -> None:
    with pytest.raises(UsageError, match="--dry-run goes with a change command"):
        parse(line)


def test_help_shows_the_flag() -> None:
    assert "--dry-run" in help_reply(None, ("acme",)).text
    assert "--dry-run" in help_reply("grant", ("acme",)).text
    assert "--dry-run" not in help_reply("members", ("acme",)).text


class RenameParams(Params):
    team: str


class Rename(ChangeKind[RenameParams]):
    """A kind this module's dry run was never told of: it only declares a command."""

    name = "test_rename"
    command = "test rename"
    usage = "test rename <team>"
    description = "A test's own kind"
    examples = ("/hub test rename data",)
    params_model = RenameParams

    def parse(self, args: list[str]) -> RenameParams:
        (team,) = positional(self.syntax, args, 1, "a team")
        return RenameParams(team=team)

    async def plan(self, ctx: HandlerContext, params: RenameParams) -> Plan:
        group = await ctx.hub.get_group(params.team)
        return Plan(summary=f"Rename *{group.name}*", params=params, details=["a detail line"])

    async def execute(self, ctx: HandlerContext, params: RenameParams) -> Outcome:
        raise AssertionError("a dry run never executes")


async def test_a_kind_added_later_has_it_too(
    extra_kinds: Callable[[ChangeKind[Any]], None], router: Router, store: SqlRequestStore, slack: SlackStandIn
) -> None:
    extra_kinds(Rename())
    reply = await router.command("test rename data --dry-run", IVAN, HUB_OPS)
    assert "Rename *data*" in reply.text and "a detail line" in reply.text and "Dry run" in reply.text
    assert await store.list_requests() == [] and slack.messages(HUB_OPS) == []

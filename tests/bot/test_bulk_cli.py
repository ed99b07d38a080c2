"""`hubkeeper team add --from` and `hubkeeper invite --from`, run as real processes against the
emulator: executed directly without an approval channel, filed for approval (posted to the Slack
stand-in) with one."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.sandbox.slack_api import SlackStandIn
from bot.store.sql_store import SqlRequestStore
from handlers.requests.lifecycle import AuditEvent, ChangeRequest, Status
from hub.emulator import EmulatorServer, EmulatorState
from tests.bot.test_cli import demo_env, hubkeeper

TOKEN = "xoxb-bulk-cli"
HUB_OPS = "C0HUBOPS01"


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(bot_token=TOKEN) as standin:
        yield standin


def env(emulator: EmulatorServer, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**demo_env(emulator.base_url), "HUBKEEPER_DATABASE_URL": database(tmp_path), **extra}


def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hk.db'}"


def with_approval(emulator: EmulatorServer, tmp_path: Path, slack: SlackStandIn) -> dict[str, str]:
    return env(
        emulator,
        tmp_path,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_API_URL=slack.api_url,
        HUBKEEPER_APPROVAL_CHANNEL=HUB_OPS,
        HUBKEEPER_APPROVERS="S0APPROVERS",
    )


async def _stored(url: str) -> tuple[list[ChangeRequest], list[AuditEvent]]:
    async with await SqlRequestStore.open(url) as store:
        return await store.list_requests(limit=100), await store.audit_log(limit=100)


def stored(tmp_path: Path) -> tuple[list[ChangeRequest], list[AuditEvent]]:
    return asyncio.run(_stored(database(tmp_path)))


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


MEMBERS = """# new backend people
umarkhan
aaronwright   # joined Monday

ivanpetrov
newhire@acme.example
"""


def test_team_add_from_a_file_without_approval_executes_here(
    emulator: EmulatorServer, emulator_state: EmulatorState, tmp_path: Path
) -> None:
    members = write(tmp_path, "members.txt", MEMBERS)
    result = hubkeeper("team", "add", "backend", "--from", members, "--yes", env=env(emulator, tmp_path))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Add 2 members to team *backend*" in out and "Cannot be done, left out (2):" in out
    assert "*ivanpetrov* is already in team *backend*." in out and "`newhire@acme.example` is not a member" in out
    assert "Added to team *backend* (2 done)" in out
    assert "acme: team add" in result.stderr  # the progress bar's label
    assert {"umarkhan", "aaronwright"} <= set(emulator_state.org("acme").groups["backend"].members)
    requests, audit = stored(tmp_path)
    assert requests == []
    (done,) = [event for event in audit if event.event == "change.done"]
    assert done.actor.startswith("cli:") and done.instance == "acme"
    assert done.detail["kind"] == "team_add" and done.detail["result"]["changed"] == ["umarkhan", "aaronwright"]


def test_a_failure_without_approval_is_named_recorded_and_exits_1(
    emulator: EmulatorServer, emulator_state: EmulatorState, tmp_path: Path
) -> None:
    members = write(tmp_path, "members.txt", "umarkhan\naaronwright\nelenarossi\n")
    emulator_state.fail_next(1, 500, method="POST", path="/v2/orgs/acme/groups/data/members", detail="injected")
    result = hubkeeper("team", "add", "data", "--from", members, "-y", env=env(emulator, tmp_path))
    assert result.returncode == 1, result.stderr
    assert "Added to team *data* (2 done, 1 failed)" in result.stdout
    assert "1 of 3 failed" in result.stderr
    in_data = {
        name
        for name in ("umarkhan", "aaronwright", "elenarossi")
        if "data" in emulator_state.org("acme").members[name].groups
    }
    assert len(in_data) == 2
    _, audit = stored(tmp_path)
    (failed,) = [event for event in audit if event.event == "change.failed"]
    assert sorted(failed.detail["result"]["changed"]) == sorted(in_data)
    assert [item["status"] for item in failed.detail["result"]["items"]].count("failed") == 1


def test_invite_from_a_csv_with_approval_files_one_request_per_team(
    emulator: EmulatorServer, emulator_state: EmulatorState, tmp_path: Path, slack: SlackStandIn
) -> None:
    before = dict(emulator_state.org("acme").invites)
    hires = write(
        tmp_path,
        "new-hires.csv",
        "Email,Team,Role\nada@acme.example,backend,\ngrace@acme.example,backend,\nlin@acme.example,data,editor\n",
    )
    result = hubkeeper(
        "invite", "--from", hires, "--reason", "new hires", "--requester", "U0IVANP01",
        env=with_approval(emulator, tmp_path, slack),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    ids = re.findall(r"^request (\w+)$", result.stdout, re.MULTILINE)
    assert len(ids) == 2
    assert "Requested: Invite 2 people to *acme*, into team *backend*" in result.stdout
    assert emulator_state.org("acme").invites == before  # nothing before approval
    requests, _ = stored(tmp_path)
    by_id = {request.id: request for request in requests}
    assert {by_id[i].status for i in ids} == {Status.PENDING}
    groups = emulator_state.org("acme").groups
    assert by_id[ids[0]].params == {
        "invitees": ["ada@acme.example", "grace@acme.example"],
        "team": "backend",
        "role": None,
        "team_id": groups["backend"].id,
    }
    assert by_id[ids[1]].params == {
        "invitees": ["lin@acme.example"],
        "team": "data",
        "role": "editor",
        "team_id": groups["data"].id,
    }
    assert by_id[ids[0]].requester == "U0IVANP01" and by_id[ids[0]].reason == "new hires"
    posted = json.dumps(slack.messages(HUB_OPS))
    assert "`ada@acme.example` would be invited" in posted and "`lin@acme.example` would be invited" in posted


def test_team_add_with_approval_files_and_posts(
    emulator: EmulatorServer, emulator_state: EmulatorState, tmp_path: Path, slack: SlackStandIn
) -> None:
    members = write(tmp_path, "members.txt", "umarkhan\naaronwright\n")
    result = hubkeeper("team", "add", "data", "--from", members, env=with_approval(emulator, tmp_path, slack))
    assert result.returncode == 0, result.stderr
    (request_id,) = re.findall(r"^request (\w+)$", result.stdout, re.MULTILINE)
    assert "data" not in emulator_state.org("acme").members["umarkhan"].groups
    (message,) = slack.messages(HUB_OPS)
    assert "Add 2 members to team *data*" in json.dumps(message) and request_id in json.dumps(message)


@pytest.mark.parametrize(
    ("name", "text", "args", "error"),
    [
        (
            "many.txt",
            "".join(f"user{n:03d}\n" for n in range(101)),
            ("team", "add", "backend"),
            "101 subjects is more than the 100 one request may name",
        ),
        ("twice.txt", "umarkhan\nUmarKhan\n", ("team", "add", "backend"), "named more than once: `umarkhan`"),
        ("empty.txt", "# nobody yet\n\n", ("team", "remove", "data"), "names nobody"),
        ("bad.csv", "email\nada@acme.example\nnot an email\n", ("invite",), "bad.csv line 3: username"),
        ("header.csv", "mail,team\nada@acme.example,backend\n", ("invite",), "the header must name the column email"),
    ],
)
def test_bad_files_are_refused_and_nothing_is_filed_or_changed(
    emulator: EmulatorServer,
    emulator_state: EmulatorState,
    tmp_path: Path,
    slack: SlackStandIn,
    name: str,
    text: str,
    args: tuple[str, ...],
    error: str,
) -> None:
    source = write(tmp_path, name, text)
    emulator_state.clear_requests()
    result = hubkeeper(*args, "--from", source, env=with_approval(emulator, tmp_path, slack))
    assert result.returncode == 2, result.stdout
    assert error in result.stderr
    assert slack.messages(HUB_OPS) == [] and emulator_state.requests == []

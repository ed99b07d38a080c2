"""`hubkeeper log`, run as a real process against a store filled through the real store."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from slack_sdk.web.async_client import AsyncWebClient

from bot.cli.log import log
from bot.sandbox.slack_api import SlackStandIn
from bot.slack_io import SlackMessenger
from bot.store.sql_store import SqlRequestStore
from handlers.context import Reply
from handlers.lifecycle import ChangeRequest, NewRequest, Status
from handlers.request_log import COLUMNS
from tests.bot.test_cli import hubkeeper

TOKEN = "xoxb-log-cli"
CHANNEL = "C0HUBOPS01"


async def _fill(url: str, slack_url: str) -> list[ChangeRequest]:
    """Four decided requests with approval messages on the Slack stand-in, and one still pending."""
    now = datetime.now(UTC)
    messenger = SlackMessenger(AsyncWebClient(token=TOKEN, base_url=slack_url))
    async with await SqlRequestStore.open(url) as store:
        made = []
        for kind, params, final, hours_ago in (
            ("team_add", {"team": "backend", "member": "umarkhan"}, Status.DONE, 50 * 24),
            ("role", {"username": "umarkhan", "role": "editor"}, Status.DENIED, 48),
            ("grant", {"team": "data", "namespace": "acme", "repository": "web", "permission": "read"}, Status.DONE, 2),
            ("member_remove", {"username": "umarkhan"}, Status.FAILED, 1),
        ):
            at = now - timedelta(hours=hours_ago)
            draft = NewRequest(
                instance="acme",
                kind=kind,
                params=params,
                requester="U0KENJI001",
                reason='audit me, "quoted"',
                summary=f"*{kind}* &amp; more",
                destructive=False,
                approvals_required=1,
                expires_at=at + timedelta(days=1),
            )
            request = await store.create(draft, now=at - timedelta(minutes=1))
            await store.attach_message(request.id, CHANNEL, await messenger.post(CHANNEL, Reply(kind)))
            if final is Status.DENIED:
                await store.transition(request.id, Status.PENDING, final, actor="U0ALICE001", now=at, note="no")
            else:
                await store.approve(request.id, "U0ALICE001", now=at)
                await store.transition(request.id, Status.APPROVED, Status.EXECUTING, actor="U0ALICE001", now=at)
                await store.transition(request.id, Status.EXECUTING, final, actor="U0ALICE001", now=at, error="x")
            loaded = await store.get(request.id)
            assert loaded is not None
            made.append(loaded)
        await store.create(draft, now=now)  # pending: never in the log
    return made


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(bot_token=TOKEN) as standin:
        yield standin


@pytest.fixture
def database(tmp_path: Path, slack: SlackStandIn) -> tuple[str, list[ChangeRequest]]:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    return url, asyncio.run(_fill(url, slack.api_url))


def test_csv_with_header_newest_first(database: tuple[str, list[ChangeRequest]]) -> None:
    url, made = database
    result = hubkeeper("log", "--since", "30d", env={"HUBKEEPER_DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert tuple(csv.reader(io.StringIO(result.stdout)).__next__()) == COLUMNS
    assert [row["request_id"] for row in rows] == [made[3].id, made[2].id, made[1].id]
    failed, done, denied = rows
    assert (failed["outcome"], failed["note"], failed["decided_by"]) == ("failed", "x", "U0ALICE001")
    assert (denied["outcome"], denied["note"]) == ("denied", "no")
    assert done["summary"] == "*grant* & more" and done["reason"] == 'audit me, "quoted"'
    assert done["approval_channel"] == CHANNEL and done["approval_ts"] == made[2].ts
    assert done["approval_link"] == ""  # no Slack configured: channel and ts only
    assert "3 decided request(s)" in result.stderr


def in_process(url: str, *args: str, **env: str) -> Result:
    return CliRunner().invoke(log, list(args), env={"HUBKEEPER_DATABASE_URL": url, **env})


def test_since_and_subject_select(database: tuple[str, list[ChangeRequest]]) -> None:
    url, made = database
    everything = in_process(url, "--since", "60d")
    assert [row["request_id"] for row in csv.DictReader(io.StringIO(everything.stdout))] == [r.id for r in made[::-1]]
    since_date = in_process(url, "--since", (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%d"))
    assert len(list(csv.DictReader(io.StringIO(since_date.stdout)))) == 3
    by_repo = in_process(url, "--format", "json", "acme/web")
    assert [row["kind"] for row in json.loads(by_repo.stdout)] == ["grant"]
    by_team = in_process(url, "--format", "json", "--since", "90d", "backend")
    assert [row["kind"] for row in json.loads(by_team.stdout)] == ["team_add"]


def test_json_about_a_subject_with_permalinks(database: tuple[str, list[ChangeRequest]], slack: SlackStandIn) -> None:
    url, made = database
    env = {"HUBKEEPER_DATABASE_URL": url, "SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": slack.api_url}
    result = hubkeeper("log", "--since", "7d", "--format", "json", "umarkhan", env=env)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["request_id"] for row in rows] == [made[3].id, made[1].id]
    assert list(rows[0]) == list(COLUMNS)
    for row, request in zip(rows, (made[3], made[1]), strict=True):
        assert request.ts is not None
        assert row["approval_link"] == f"https://acme.slack.com/archives/{CHANNEL}/p{request.ts.replace('.', '')}"
    assert len(slack.calls_to("chat.getPermalink")) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "x"], "is not a time"),
        (["--since", "0d"], "give from 1h"),
        (["--since", "2999-01-01"], "in the future"),
        (["not a subject!"], "subject"),
        (["acme/"], "repository"),
        (["--format", "xml"], "Invalid value for '--format'"),
    ],
)
def test_bad_input_exits_2(
    database: tuple[str, list[ChangeRequest]], args: list[str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = database
    monkeypatch.setenv("HUBKEEPER_DATABASE_URL", url)
    result = CliRunner().invoke(log, args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stdout == ""


def test_bad_input_exits_2_from_the_process(database: tuple[str, list[ChangeRequest]]) -> None:
    url, _ = database
    result = hubkeeper("log", "--since", "yesterday", env={"HUBKEEPER_DATABASE_URL": url})
    assert result.returncode == 2
    assert result.stderr.startswith("hubkeeper: --since 'yesterday' is not a time")
    assert result.stdout == ""


def test_unknown_instance_exits_2(database: tuple[str, list[ChangeRequest]]) -> None:
    url, _ = database
    env = {"DOCKERHUB_ORG": "acme", "DOCKERHUB_OAT": "dckr_oat_x"}
    result = in_process(url, "--instance", "nope", **env)
    assert result.exit_code == 2 and "'nope' is not configured; known instances: acme" in result.stderr
    ok = in_process(url, "--instance", "acme", **env)
    assert ok.exit_code == 0, ok.stderr
    assert len(list(csv.DictReader(io.StringIO(ok.stdout)))) == 3

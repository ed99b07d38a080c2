"""`/hub repo`, `/hub repos` (and its paging button), `/hub access` and `/hub review access` end to end:
typed in the sandbox console, which escapes and signs them as Slack does, into the real bot over HTTP,
against the Docker Hub emulator and the Slack stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.sandbox.run import Sandbox
from bot.sandbox.slack_state import Message
from hub.emulator import DEMO, EmulatorState
from tests.bot.test_slack_e2e import ALICE, HUB_OPS, IVAN, Person, text_of

BOB = "U0BOBOK01"


@pytest.fixture
def alice(sandbox: Sandbox, http: httpx.AsyncClient) -> Person:
    return Person(sandbox, http, ALICE)


async def build_index(sandbox: Sandbox) -> None:
    assert sandbox.bot is not None and sandbox.bot.access_jobs is not None
    await sandbox.bot.access_jobs.refresh(DEMO.org)
    assert await sandbox.bot.access_jobs.index.index_status(DEMO.org) is not None


def changes(state: EmulatorState) -> list[str]:
    """Every request that could have changed something on Docker Hub."""
    return [f"{r.method} {r.path}" for r in state.requests if r.method not in ("GET", "HEAD") and "auth" not in r.path]


def nothing_posted(sandbox: Sandbox) -> bool:
    return sandbox.slack.messages(HUB_OPS) == [] and sandbox.slack.files == []


async def test_repo_lists_teams_and_who_can_push_read_live(
    alice: Person, sandbox: Sandbox, emulator_state: EmulatorState
) -> None:
    emulator_state.clear_requests()
    shown = text_of(await alice.command("repo acme/api"))
    assert "*platform* — admin" in shown and "*backend* — write" in shown and "*security* — read" in shown
    assert "Can push" in shown and "erinpatel" in shown and "read live just now" in shown
    org = emulator_state.org(DEMO.org)
    reads = [r for r in emulator_state.requests if r.path.startswith("/v2/repositories/acme/api/groups/")]
    assert len(reads) == len(org.groups)  # its T pairs, nothing more
    # A bare name is a repository of the instance's org.
    assert "*platform* — admin" in text_of(await alice.command("repo infra-tools"))


@pytest.mark.parametrize(
    ("line", "expected", "reads_nothing"),
    [
        ("repo acme/nope", "There is no repository `acme/nope`", False),
        ("repo a/b/c", "expected namespace/repository", True),
        ("repo Acme/API", "is not valid", True),
        ("repo", "repo needs one repository", True),
        ("repo globex/reactor", "is not in `acme`", True),
    ],
)
async def test_repo_bad_input_says_what_is_wrong_and_changes_nothing(
    alice: Person, sandbox: Sandbox, emulator_state: EmulatorState, line: str, expected: str, reads_nothing: bool
) -> None:
    emulator_state.clear_requests()
    shown = text_of(await alice.command(line))
    assert expected in shown, shown
    assert changes(emulator_state) == [] and nothing_posted(sandbox)
    if reads_nothing:
        assert emulator_state.requests == []


async def test_repos_pages_with_team_counts_from_the_index(
    alice: Person, sandbox: Sandbox, emulator_state: EmulatorState
) -> None:
    for number in range(30):
        emulator_state.add_repository(DEMO.org, f"svc{number:02d}")
    before = text_of(await alice.command("repos"))
    assert "Showing 1–20 of 35 repositories." in before and "Teams with access" not in before
    await build_index(sandbox)
    first = await alice.command("repos")
    shown = text_of(first)
    assert "Showing 1–20 of 35 repositories. Teams with access as of " in shown and "UTC" in shown
    assert "*acme/api* — private · 3 teams" in shown
    second = await alice.click(first, "repos_page")
    assert second["ts"] == first["ts"]  # the page replaced itself
    assert "Showing 21–35 of 35" in text_of(second) and "svc29" in text_of(second)
    back = await alice.click(second, "repos_page")
    assert "Showing 1–20 of 35" in text_of(back)
    searched = text_of(await alice.command("repos svc1"))
    assert "of 10 repositories matching `svc1`" in searched
    assert "unknown option '--teams'" in text_of(await alice.command("repos --teams"))


ERIN_API = "*acme/api* — *admin* via platform (admin), backend (write)"


async def test_access_by_username_email_and_slack_mention(
    alice: Person, sandbox: Sandbox, emulator_state: EmulatorState
) -> None:
    await build_index(sandbox)
    emulator_state.clear_requests()
    by_name = text_of(await alice.command("access erinpatel"))
    assert "What erinpatel can reach in acme" in by_name and ERIN_API in by_name
    assert "as of " in by_name and " UTC" in by_name
    # Answered from the index: no repository was read.
    assert not [r for r in emulator_state.requests if r.path.startswith("/v2/repositories/")]
    assert ERIN_API in text_of(await alice.command("access erinpatel@acme.example"))
    # Picked with @ in Slack: the console sends <@U0ERINP01|erin>, as Slack does with escaping on;
    # the bot asks Slack for her email, then finds the member.
    mentioned = text_of(await alice.command("access @erin"))
    assert "What erinpatel can reach in acme" in mentioned and ERIN_API in mentioned
    owner = text_of(await alice.command("access alicechen"))
    assert "Owner" in owner and "owners" in owner
    guest = text_of(await alice.command("access contractorkai"))
    assert "Guest" in guest and "*acme/web* — *write* via frontend (write)" in guest


async def test_access_reads_live_with_a_progress_message_when_there_is_no_index(
    alice: Person, sandbox: Sandbox
) -> None:
    await alice.command("access kenjisato")

    def answered() -> list[Message] | None:
        replies = alice.replies()
        return replies if any("read live just now" in text_of(r) for r in replies) else None

    replies = await sandbox.slack.wait_for_async(answered, timeout=20)
    shown = [text_of(r) for r in replies]
    progress = next(i for i, text in enumerate(shown) if "Reading kenjisato's access live" in text)
    answer = next(i for i, text in enumerate(shown) if "read live just now" in text)
    assert progress < answer and "not built yet" in shown[progress]
    assert "*acme/web* — *write* via frontend (write)" in shown[answer]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("access nobody99", "`nobody99` is not a member of `acme`"),
        ("access nobody@acme.example", "`nobody@acme.example` is not a member of `acme`"),
        # Noa is on Slack but has no Docker Hub account.
        ("access @newbie", "<@U0NEWBI01> (`newbie@acme.example` on Slack) is not a member of `acme`"),
        ("access @ghost", "'@ghost' is nobody on Slack"),
        ("access <@U0GHOST00|ghost>", "Slack shows no email for <@U0GHOST00>, so"),
        ("access ../etc", "username '../etc' is not valid"),
        ("access", "access needs a Docker username"),
    ],
)
async def test_access_bad_input_says_what_is_wrong_and_changes_nothing(
    alice: Person, sandbox: Sandbox, emulator_state: EmulatorState, line: str, expected: str
) -> None:
    emulator_state.clear_requests()
    shown = text_of(await alice.command(line))
    assert expected in shown, shown
    assert changes(emulator_state) == [] and nothing_posted(sandbox)


async def test_review_access_sends_the_csv_by_dm(alice: Person, sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    missing = text_of(await alice.command("review access"))
    assert "has not been built yet" in missing and "hubkeeper index" in missing
    assert sandbox.slack.files == []
    await build_index(sandbox)
    # A full-org scan, like `/hub review`: Alice's attempt started her cooldown, so Bob asks.
    assert "please wait" in text_of(await alice.command("review access"))
    reply = text_of(await Person(sandbox, http, BOB).command("review access"))
    assert "Repository access review of `acme`" in reply and "sent to you by DM" in reply
    files = await sandbox.slack.wait_for_async(lambda: sandbox.slack.files or None, timeout=10)
    assert files[-1].name.startswith("repository-access-acme-")
    rows = (files[-1].content or b"").decode().splitlines()
    assert rows[0] == "username,repository,permission,teams"
    assert "erinpatel,acme/api,admin,platform; backend" in rows


class TestViewers:
    @pytest.fixture
    async def sandbox(self, emulator_state: EmulatorState) -> AsyncIterator[Sandbox]:
        async with Sandbox(console_port=0, emulator_state=emulator_state, viewers="S0APPROVERS") as running:
            yield running

    async def test_a_non_viewer_is_refused_and_nothing_is_read(
        self, sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
    ) -> None:
        ivan = Person(sandbox, http, IVAN)
        for line in ("repo acme/api", "repos", "repos api", "access erinpatel", "access @erin", "review access"):
            emulator_state.clear_requests()
            refused = text_of(await ivan.command(line))
            assert "HUBKEEPER_VIEWERS" in refused, line
            assert "erinpatel" not in refused and "platform" not in refused, line
            assert emulator_state.requests == [], line  # nothing was read from Docker Hub
        assert sandbox.slack.files == []
        # A viewer gets the answer.
        assert "*platform* — admin" in text_of(await Person(sandbox, http, ALICE).command("repo acme/api"))

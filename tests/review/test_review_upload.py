"""`/hub review`: the CSV lands in the requester's DM through slack_sdk's files_upload_v2 and the Slack stand-in."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pydantic import SecretStr
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import SlackStandIn
from bot.sandbox.directory import dm_channel_id
from bot.slack_io import bot_upload
from handlers.context import HandlerContext
from handlers.review import COLUMNS, review
from hub.client import HubClient, HubConnection
from hub.emulator import EmulatorServer, EmulatorState
from tests.conftest import FAST_RETRIES

from .conftest import BOT_TOKEN

ALICE = "U0ALICE01"


def context(hub: HubClient, actor: str = ALICE) -> HandlerContext:
    return HandlerContext(hub=hub, instance="acme", actor=actor, instances=("acme",))


async def test_review_dms_the_csv_to_the_requester(
    hub: HubClient, emulator_state: EmulatorState, standin: SlackStandIn
) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=standin.api_url)
    reply = await review(context(hub), upload=bot_upload(client), stale_after_days=90)

    [stored] = standin.files
    assert stored.channels == [dm_channel_id(ALICE)]
    assert stored.name.startswith("access-review-acme-") and stored.name.endswith(".csv")
    assert stored.content is not None
    rows = list(csv.reader(io.StringIO(stored.content.decode("utf-8"), newline="")))
    assert tuple(rows[0]) == COLUMNS
    org = emulator_state.org("acme")
    assert {r[0] for r in rows[1:] if r[3] != "Invitee"} == set(org.members)
    assert len(rows) == 1 + len(org.members) + len(org.invites)

    [message] = standin.dms(ALICE)
    assert message["files"][0]["id"] == stored.id
    assert message["text"].startswith("Access review of acme: 40 members (3 owners, 4 guests)")
    assert [c.method for c in standin.calls] == [
        "conversations.open",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    # The reply only summarises: emails go by DM, not into the channel.
    assert reply.ephemeral
    assert "40 members" in reply.text and "3 owners" in reply.text and "4 pending invites" in reply.text
    assert "@acme.example" not in reply.text


async def test_a_refused_upload_is_reported_not_raised(hub: HubClient, standin: SlackStandIn) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=standin.api_url)
    reply = await review(context(hub, actor="U0NOBODY99"), upload=bot_upload(client))
    assert "could not be sent to you" in reply.text and "user_not_found" in reply.text
    assert standin.files == []


async def test_a_docker_hub_failure_is_an_error_reply_and_nothing_is_uploaded(emulator: EmulatorServer) -> None:
    uploads: list[tuple[str, str, bytes | Path, str]] = []

    async def upload(user: str, filename: str, content: bytes | Path, comment: str) -> None:
        uploads.append((user, filename, content, comment))

    connection = HubConnection(org="acme", oat=SecretStr("dckr_oat_wrong"), base_url=emulator.base_url)
    async with HubClient(connection, retry_policy=FAST_RETRIES) as bad:
        reply = await review(context(bad), upload=upload)
    assert uploads == []
    assert "access token" in reply.text.lower()


async def test_the_uploaded_path_is_gone_after_the_review(hub: HubClient) -> None:
    seen: list[tuple[Path, str]] = []

    def read(path: Path) -> str:
        return path.read_text(encoding="utf-8")

    async def upload(user: str, filename: str, content: bytes | Path, comment: str) -> None:
        assert isinstance(content, Path) and content.name == filename
        assert user == ALICE and comment.startswith("Access review of acme")
        seen.append((content, read(content)))

    await review(context(hub), upload=upload)
    [(path, text)] = seen
    assert text.startswith(",".join(COLUMNS)) and len(text.splitlines()) == 45
    # A temporary file: it held emails, so it does not outlive the upload.
    assert not path.exists()

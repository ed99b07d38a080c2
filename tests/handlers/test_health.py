"""`/hub health`: every check with pass or fail and why."""

from __future__ import annotations

from handlers.context import HandlerContext
from handlers.health import health
from hub.client import HubClient
from hub.emulator import EmulatorServer
from tests.conftest import FAST_RETRIES, MakeContext, demo_connection
from tests.handlers.slack_limits import assert_valid_message


async def test_health_all_pass(ctx: HandlerContext) -> None:
    reply = await health(ctx)
    assert_valid_message(reply)
    assert "All 3 health checks passed for acme" in reply.text
    assert reply.text.count(":white_check_mark: *pass*") == 3
    assert "exchange the OAT — organization access token accepted for acme" in reply.text


async def test_health_failures_say_why(emulator: EmulatorServer, make_context: MakeContext) -> None:
    connection = demo_connection(emulator.base_url, oat="dckr_oat_NotTheRightToken00000001")
    async with HubClient(connection, retry_policy=FAST_RETRIES) as wrong:
        reply = await health(make_context(hub=wrong))
    assert_valid_message(reply)
    assert "3 of 3 health checks failed for acme" in reply.text
    assert reply.text.count(":x: *FAIL*") == 3
    assert "Docker Hub refused the organization access token for 'acme'" in reply.text


async def test_health_with_a_pat_runs_four_checks(hub_with_pat: HubClient, make_context: MakeContext) -> None:
    reply = await health(make_context(hub=hub_with_pat))
    assert_valid_message(reply)
    assert "All 4 health checks passed for acme" in reply.text
    assert "exchange the PAT — personal access token accepted" in reply.text

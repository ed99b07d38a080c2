"""`GET /metrics` after real traffic: signed slash commands and approval clicks through Bolt against the
emulator and the Slack stand-in, parsed by prometheus_client's own parser."""

from __future__ import annotations

from collections.abc import Iterable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from bot.sandbox.run import Sandbox
from hub import paths
from hub.emulator import EmulatorConfig, EmulatorState
from tests.bot.test_approvals_e2e import ALICE, IVAN, approval, click
from tests.bot.test_slack_e2e import Person, text_of

USERNAMES = ("ivanpetrov", "erinpatel", "alice", "bob")


def parse(text: str) -> list[Sample]:
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def value(samples: Iterable[Sample], name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    assert found, f"no {name} sample with {labels}"
    return sum(found)


async def scrape(http: httpx.AsyncClient, base: str) -> list[Sample]:
    response = await http.get(base + "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


async def approve(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    await click(sandbox, http, ALICE, "approval_approve")
    assert await sandbox.slack.wait_for_async(lambda: "Done" in text_of(approval(sandbox)) or None, timeout=15)


@pytest.mark.parametrize("emulator_config", [EmulatorConfig(rate_limit_per_minute=1000)])
async def test_metrics_after_commands_and_approvals(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    ivan = Person(sandbox, http, IVAN)
    await ivan.command("members")
    await ivan.command("team add data ivanpetrov --reason onboarding")
    await approve(sandbox, http)
    await ivan.command("team remove data ivanpetrov --reason offboarding")
    await approve(sandbox, http)
    await ivan.command("digest")
    base = sandbox.bot_url.removesuffix("/slack/events")  # HTTP mode: the Slack port serves them

    samples = await scrape(http, base)

    requests = "hubkeeper_hub_requests_total"
    assert value(samples, requests, instance="acme", method="POST", route="/v2/auth/token", status="200") >= 1
    assert value(samples, requests, method="POST", route="/v2/orgs/{org}/groups/{group_name}/members") == 1
    assert value(samples, requests, method="DELETE", route="/v2/orgs/{org}/groups/{group_name}/members/{username}") == 1
    assert value(samples, "hubkeeper_hub_request_duration_seconds_count", route="/v2/orgs/{org}/members") >= 1
    assert value(samples, "hubkeeper_token_exchanges_total", instance="acme", outcome="success") >= 1
    assert 0 < value(samples, "hubkeeper_hub_ratelimit_remaining", instance="acme") < 1000
    assert value(samples, "hubkeeper_ratelimit_wait_seconds_total") == 0
    assert value(samples, "hubkeeper_slack_events_total", kind="slash_command", command="team") == 2
    assert value(samples, "hubkeeper_slack_events_total", kind="slash_command", command="members") == 1
    assert value(samples, "hubkeeper_slack_events_total", kind="block_action", command="approval_approve") == 2
    assert value(samples, "hubkeeper_change_requests", state="done") == 2
    assert value(samples, "hubkeeper_change_requests", state="pending") == 0
    assert value(samples, "hubkeeper_changes_executed_total", outcome="done") == 2
    executed = [s for s in samples if s.name == "hubkeeper_changes_executed_total"]
    assert {(s.labels["outcome"], s.value) for s in executed} == {("done", 1.0)} and len(executed) == 2
    assert value(samples, "hubkeeper_digest_posts_total", instance="acme", outcome="posted") == 1
    build = [s for s in samples if s.name == "hubkeeper_build_info"]
    assert len(build) == 1 and build[0].value == 1 and build[0].labels["version"]

    # Bounded labels: routes are templates, commands known names, and no username anywhere.
    routes = {s.labels["route"] for s in samples if "route" in s.labels}
    assert routes <= {*paths.ROUTES, paths.OTHER_ROUTE}
    for sample in samples:
        for label in sample.labels.values():
            assert not any(name in label for name in USERNAMES), sample


async def test_an_unknown_subcommand_is_counted_as_other(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    await Person(sandbox, http, IVAN).command("frobnicate ivanpetrov")
    samples = await scrape(http, sandbox.bot_url.removesuffix("/slack/events"))
    assert value(samples, "hubkeeper_slack_events_total", kind="slash_command", command="other") == 1
    assert not [s for s in samples if "frobnicate" in str(s.labels)]


async def test_a_failed_change_is_counted(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    await Person(sandbox, http, IVAN).command("team add data ivanpetrov --reason onboarding")
    emulator_state.fail_next(10, 500, method="POST", path="/v2/orgs/acme/groups/data/members")
    await click(sandbox, http, ALICE, "approval_approve")
    assert await sandbox.slack.wait_for_async(lambda: "Failed" in text_of(approval(sandbox)) or None, timeout=30)
    samples = await scrape(http, sandbox.bot_url.removesuffix("/slack/events"))
    assert value(samples, "hubkeeper_changes_executed_total", outcome="failed") == 1
    assert value(samples, "hubkeeper_change_requests", state="failed") == 1
    assert value(samples, "hubkeeper_hub_requests_total", method="POST", status="500") >= 1


async def test_two_bots_keep_separate_counts(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    await Person(sandbox, http, IVAN).command("members")
    async with Sandbox(console_port=0) as other:
        samples = await scrape(http, other.bot_url.removesuffix("/slack/events"))
        assert not [s for s in samples if s.name == "hubkeeper_slack_events_total"]

"""The drift check in the running bot: posted once to the approval channel, its Apply button clicked
through Bolt files the policy_apply request; the scheduler runs it on HUBKEEPER_POLICY_SCHEDULE."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.sandbox.run import Sandbox
from bot.scheduler import POLICY_DRIFT_JOB, start_scheduler
from bot.settings import ConfigError, load_settings
from handlers.policy_drift import DriftOutcome
from hub.emulator import DEMO, EmulatorState
from tests.bot.test_approvals_e2e import BOB, HUB_OPS, click, hub_writes
from tests.bot.test_slack_e2e import text_of

POLICY = "repositories:\n  acme/*:\n    security: read\n"


@pytest.fixture
async def sandbox(emulator_state: EmulatorState, tmp_path: Path) -> AsyncIterator[Sandbox]:
    policy = tmp_path / "policy.yml"
    policy.write_text(POLICY, encoding="utf-8")
    async with Sandbox(console_port=0, emulator_state=emulator_state, policy_file=str(policy)) as running:
        yield running


def drift_posts(sandbox: Sandbox) -> list[dict[str, object]]:
    return [m for m in sandbox.slack.messages(HUB_OPS) if "Policy drift on acme" in json.dumps(m)]


async def test_drift_is_posted_once_and_apply_goes_to_approval(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    assert sandbox.bot is not None
    assert await sandbox.bot.check_policy_drift() is DriftOutcome.POSTED
    assert await sandbox.bot.check_policy_drift() is DriftOutcome.ALREADY_POSTED
    posted = drift_posts(sandbox)
    assert len(posted) == 1 and "policy_apply" in json.dumps(posted[0])
    assert hub_writes(emulator_state) == []

    await click(sandbox, http, BOB, "policy_apply", posted[0])
    request = await sandbox.slack.wait_for_async(
        lambda: [m for m in sandbox.slack.messages(HUB_OPS) if "approval_approve" in json.dumps(m)] or None,
        timeout=20,
    )
    assert "Apply the policy" in text_of(request[-1])
    assert hub_writes(emulator_state) == []  # applying waits for its approval

    org = emulator_state.org(DEMO.org)
    del org.repositories["web"].grants[org.groups["security"].id]  # someone revoked by hand: a new drift
    assert await sandbox.bot.check_policy_drift() is DriftOutcome.POSTED
    assert len(drift_posts(sandbox)) == 2


async def test_the_scheduler_runs_the_check_on_its_schedule(sandbox: Sandbox) -> None:
    assert sandbox.bot is not None and sandbox.scheduler is not None
    assert sandbox.scheduler.get_job(POLICY_DRIFT_JOB) is None  # no HUBKEEPER_POLICY_SCHEDULE in the sandbox
    sandbox.bot.policy_schedule = "*/15 * * * *"
    scheduler = start_scheduler(sandbox.bot)
    try:
        job = scheduler.get_job(POLICY_DRIFT_JOB)
        assert job is not None and "minute='*/15'" in str(job.trigger)
        assert await job.func() is DriftOutcome.POSTED
    finally:
        scheduler.shutdown(wait=False)


def test_schedule_setting_is_checked() -> None:
    assert load_settings().policy_schedule() is None
    good = load_settings(hubkeeper_policy_schedule="0 * * * *", hubkeeper_policy_file="policy.yml")
    assert good.policy_schedule() == "0 * * * *"
    with pytest.raises(ConfigError, match="HUBKEEPER_POLICY_FILE is not"):
        load_settings(hubkeeper_policy_schedule="0 * * * *").policy_schedule()
    with pytest.raises(ConfigError, match="HUBKEEPER_POLICY_SCHEDULE: 'every hour' is not a cron line"):
        load_settings(hubkeeper_policy_schedule="every hour", hubkeeper_policy_file="p.yml").policy_schedule()

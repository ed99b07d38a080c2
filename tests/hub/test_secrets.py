"""No OAT, PAT or JWT in a log line (even at DEBUG), a repr, an exception or CLI output."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from bot.settings import load_settings
from hub.client import HubClient
from hub.emulator import DEMO, EmulatorServer, EmulatorState
from hub.errors import HubError
from tests.conftest import FAST_RETRIES, demo_connection


async def test_no_secret_reaches_debug_logs_reprs_or_errors(
    emulator: EmulatorServer, emulator_state: EmulatorState, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[HubError] = []
    async with HubClient(demo_connection(emulator.base_url, with_pat=True), retry_policy=FAST_RETRIES) as hub:
        await hub.list_members()
        await hub.grant_team_access("data", "docs", "read")
        jwts = [secret for auth in (hub.oat_auth, hub.pat_auth) if auth for secret in auth.secrets[1:]]
        emulator_state.revoke_tokens()  # a 401 and a re-exchange
        await hub.list_groups()
        jwts += hub.oat_auth.secrets[1:]
        emulator_state.fail_next(1, status=503)
        await hub.list_invites()
        for call in (hub.get_group("nosuchteam"), hub.get_member("ghost@acme.example")):
            try:
                await call
            except HubError as error:
                errors.append(error)
        reprs = [repr(hub), repr(hub.oat_auth), repr(hub.pat_auth), repr(hub.connection)]
    async with HubClient(demo_connection(emulator.base_url, oat="dckr_oat_wrong"), retry_policy=FAST_RETRIES) as bad:
        try:
            await bad.list_members()
        except HubError as error:
            errors.append(error)

    assert len(jwts) >= 3 and len(errors) == 3
    assert "'authorization': '[redacted]'" in caplog.text  # headers were logged at DEBUG, redacted
    shown = "\n".join([caplog.text, *reprs, *(str(e) for e in errors), *(repr(e) for e in errors)])
    for secret in (DEMO.oat, DEMO.pat, "dckr_oat_wrong", *jwts):
        assert secret not in shown


def test_settings_and_instances_mask_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKERHUB_ORG", "acme")
    monkeypatch.setenv("DOCKERHUB_OAT", DEMO.oat)
    monkeypatch.setenv("DOCKERHUB_PAT_USERNAME", DEMO.pat_username)
    monkeypatch.setenv("DOCKERHUB_PAT", DEMO.pat)
    settings = load_settings()
    instance = settings.instances()["acme"]
    shown = " ".join(
        [repr(settings), str(settings), repr(instance), str(instance.model_dump()), instance.model_dump_json()]
    )
    assert DEMO.oat not in shown and DEMO.pat not in shown
    assert isinstance(instance.organization_access_token, SecretStr)

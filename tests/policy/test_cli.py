"""`hubkeeper policy plan|apply|export` end to end against the emulator's demo org `acme`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli.policy import policy
from bot.store import SqlRequestStore
from handlers.policy_diff import Change
from handlers.policy_engine import apply_changes, plan_policy
from handlers.policy_model import parse_policy
from hub.client import HubClient
from hub.emulator import DEMO, EmulatorServer, EmulatorState
from tests.conftest import FAST_RETRIES, demo_connection

POLICY = """\
teams:
  backend:
    description: Backend engineers
    members: [erinpatel, danielkim, ivanpetrov, umarkhan]
  release-eng:
    description: Release engineering
    members: [alicechen, ximenalopez]
repositories:
  acme/api:
    backend: admin
    release-eng: write
    platform: admin
  acme/web:
    security: write
"""
# against the demo: backend gets umarkhan and loses julianaruiz, marcusbrown, priyanair, samuelosei,
# weizhang, beatrizsilva, gracehopper, contractorlin; release-eng is created with two members;
# api: backend write→admin, release-eng granted write, security's read revoked; web: security read→write,
# and the other teams named (backend, platform, release-eng) get nothing on web (frontend is not named).


@pytest.fixture
def env(emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DOCKERHUB_ORG", DEMO.org)
    monkeypatch.setenv("DOCKERHUB_OAT", DEMO.oat)
    monkeypatch.setenv("DOCKERHUB_API_URL", emulator.base_url)
    monkeypatch.setenv("HUBKEEPER_DATABASE_URL", f"sqlite:///{tmp_path / 'audit.db'}")
    return tmp_path


def write(folder: Path, text: str, name: str = "policy.yml") -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(policy, list(args), input=stdin)


def audit_rows(folder: Path) -> list[dict[str, str]]:
    async def read() -> list[dict[str, str]]:
        store = await SqlRequestStore.open(f"sqlite:///{folder / 'audit.db'}")
        try:
            return [event.detail for event in await store.audit_log(limit=1000) if event.event == "policy.change"]
        finally:
            await store.close()

    return asyncio.run(read())


def test_plan_apply_and_idempotence(env: Path, emulator_state: EmulatorState) -> None:
    path = write(env, POLICY)
    planned = run("plan", path)
    assert planned.exit_code == 2, planned.output
    for line in (
        "Create team (1):",
        "+ create team release-eng (Release engineering)",
        "+ add umarkhan to team backend",
        "+ add alicechen to team release-eng",
        "- remove julianaruiz from team backend",
        "+ grant write on acme/api to team release-eng",
        "~ change team backend on acme/api from write to admin",
        "~ change team security on acme/web from read to write",
        "Update team description (1):",
        "Revoke permission (1):",
    ):
        assert line in planned.output, line

    applied = run("apply", path, "--yes")
    assert applied.exit_code == 0, applied.output
    assert "The organization matches the policy." in applied.output
    org = emulator_state.org(DEMO.org)
    assert set(org.groups["release-eng"].members) == {"alicechen", "ximenalopez"}
    assert set(org.groups["backend"].members) == {"erinpatel", "danielkim", "ivanpetrov", "umarkhan"}
    api = org.repositories["api"].grants
    assert api[org.groups["backend"].id] == "admin"
    assert org.groups["security"].id not in api
    assert org.repositories["web"].grants[org.groups["frontend"].id] == "write"  # not named: left alone

    again = run("plan", path)
    assert again.exit_code == 0, again.output
    assert "No changes" in again.output
    assert run("apply", path, "--yes").exit_code == 0

    rows = audit_rows(env)
    actions = [row["action"] for row in rows]
    assert actions.count("create_team") == 1 and actions.count("revoke") == 1
    assert len(rows) == planned.output.count("\n  ")


def test_plan_reads_the_fewest_requests(env: Path, emulator_state: EmulatorState) -> None:
    path = write(env, POLICY)
    emulator_state.clear_requests()
    assert run("plan", path).exit_code == 2
    paths = [request.path for request in emulator_state.requests if request.method == "GET"]
    assert sum(path.endswith("/members") and "/groups/" not in path for path in paths) == 1
    assert sum(path.endswith("/groups") for path in paths) == 1
    # 2 repositories × the 3 existing teams named (release-eng does not exist yet: nothing to read)
    assert sum("/v2/repositories/" in path for path in paths) == 6
    assert len(paths) == 8
    assert all(request.method in ("GET", "POST") for request in emulator_state.requests)  # POST: token


def test_validation_error_applies_nothing(env: Path, emulator_state: EmulatorState) -> None:
    path = write(env, "teams:\n  backend:\n    members: [erinpatel]\nrepositories:\n  acme/api:\n    backend: rw\n")
    emulator_state.clear_requests()
    result = run("apply", path, "--yes")
    assert result.exit_code == 1
    assert f"{path}:6: repositories.acme/api.backend: permission must be read, write or admin" in result.output
    assert emulator_state.requests == []


def test_missing_team_named_only_under_repositories(env: Path) -> None:
    path = write(env, "repositories:\n  acme/api:\n    ghost-team: read\n")
    result = run("plan", path)
    assert result.exit_code == 1
    assert f"{path}:3: team 'ghost-team' does not exist" in result.output


def test_unknown_instance_is_an_error(env: Path) -> None:
    result = run("plan", write(env, "instance: nowhere\n"))
    assert result.exit_code == 1
    assert "instance 'nowhere' is not configured" in result.output


def test_apply_asks_first(env: Path, emulator_state: EmulatorState) -> None:
    path = write(env, "teams:\n  release-eng:\n    members: [alicechen]\n")
    result = run("apply", path, stdin="n\n")
    assert result.exit_code == 1
    assert "release-eng" not in emulator_state.org(DEMO.org).groups
    assert run("apply", path, stdin="y\n").exit_code == 0
    assert "release-eng" in emulator_state.org(DEMO.org).groups


def test_export_then_plan_shows_no_changes(env: Path) -> None:
    exported = run("export")
    assert exported.exit_code == 0, exported.output
    assert "acme/api:" in exported.output and "backend: write" in exported.output
    path = write(env, exported.stdout)
    planned = run("plan", path)
    assert planned.exit_code == 0, planned.output


def test_export_of_some_repositories(env: Path) -> None:
    exported = run("export", "-r", "acme/web")
    assert exported.exit_code == 0, exported.output
    document = parse_policy(exported.stdout)
    assert list(document.repositories) == ["acme/web"]
    assert run("plan", write(env, exported.stdout)).exit_code == 0


async def test_failure_half_way_then_rerun_completes(
    emulator: EmulatorServer, emulator_state: EmulatorState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = parse_policy(POLICY)
    done: list[Change] = []

    async with HubClient(demo_connection(emulator.base_url), retry_policy=FAST_RETRIES) as hub:
        state, changes = await plan_policy(hub, loaded)

        async def on_done(change: Change, error: str | None) -> None:
            done.append(change)
            if len(done) == 4:  # the next change meets a server error (POSTs are not retried)
                emulator_state.fail_next(1, status=500)

        result = await apply_changes(hub, changes, state.team_ids, concurrency=1, on_done=on_done)
    assert not result.ok
    assert len(result.failed) == 1 and len(result.applied) == len(changes) - 1
    failed_change, error = result.failed[0]
    assert failed_change == changes[4]
    assert error

    monkeypatch.setenv("DOCKERHUB_ORG", DEMO.org)
    monkeypatch.setenv("DOCKERHUB_OAT", DEMO.oat)
    monkeypatch.setenv("DOCKERHUB_API_URL", emulator.base_url)
    monkeypatch.setenv("HUBKEEPER_DATABASE_URL", f"sqlite:///{tmp_path / 'audit.db'}")
    path = write(tmp_path, POLICY)
    rerun = await asyncio.to_thread(run, "apply", path, "--yes")
    assert rerun.exit_code == 0, rerun.output
    assert "Applied 1 of 1 change(s)." in rerun.output
    assert failed_change.describe() in rerun.output
    assert (await asyncio.to_thread(run, "plan", path)).exit_code == 0


def test_partial_failure_exits_1_and_says_what_was_not_applied(env: Path, emulator_state: EmulatorState) -> None:
    path = write(env, POLICY)
    # umarkhan is the only member the policy adds to backend: Docker Hub fails that one request.
    emulator_state.fail_next(1, status=500, method="POST", path=f"/v2/orgs/{DEMO.org}/groups/backend/members")
    failed = run("apply", path, "--yes")
    assert failed.exit_code == 1, failed.output
    assert "Not applied (1):" in failed.output
    assert "! add umarkhan to team backend: Docker Hub is unavailable (HTTP 500)" in failed.output
    assert "again to finish" in failed.output
    assert "umarkhan" not in emulator_state.org(DEMO.org).groups["backend"].members
    assert len(audit_rows(env)) == planned_count(failed.output) - 1

    rerun = run("apply", path, "--yes")
    assert rerun.exit_code == 0 and "Applied 1 of 1 change(s)." in rerun.output


def planned_count(output: str) -> int:
    return sum(line.startswith("  ") and not line.startswith("  !") for line in output.splitlines())


def test_export_fold_then_plan_shows_no_changes(env: Path, emulator_state: EmulatorState) -> None:
    for repository in ("api-v2", "api-v3"):
        emulator_state.add_repository(DEMO.org, repository, is_private=True, description="")
        emulator_state.add_grant(DEMO.org, repository, "backend", "admin")
    exported = run("export", "--fold")
    assert exported.exit_code == 0, exported.output
    document = parse_policy(exported.stdout)
    assert document.repositories["acme/api-*"] == {"backend": "admin"}
    assert "acme/api-v2" not in document.repositories and "acme/api" in document.repositories
    planned = run("plan", write(env, exported.stdout))
    assert planned.exit_code == 0, planned.output
    assert "No changes" in planned.output


def test_plan_shows_the_rule_behind_each_grant_and_warns_of_empty_patterns(env: Path) -> None:
    text = "repositories:\n  acme/*:\n    security: read\n  acme/legacy-*:\n    security: write\n"
    planned = run("plan", write(env, text))
    assert planned.exit_code == 2, planned.output
    assert "+ grant read on acme/docs to team security  [acme/*]" in planned.stdout
    assert "warning: " in planned.stderr and "acme/legacy-*: matches no repository" in planned.stderr

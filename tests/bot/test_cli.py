"""`hubkeeper check` and `hubkeeper demo`, run as real processes against the emulator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hub.emulator import DEMO, EmulatorServer


def hubkeeper(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKERHUB_", "HUBKEEPER_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def demo_env(base_url: str, oat: str = DEMO.oat) -> dict[str, str]:
    return {"DOCKERHUB_ORG": DEMO.org, "DOCKERHUB_OAT": oat, "DOCKERHUB_API_URL": base_url}


def test_check_passes_against_the_emulator(emulator: EmulatorServer) -> None:
    result = hubkeeper("check", env=demo_env(emulator.base_url))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("acme (acme at http://127.0.0.1:")
    assert [line.split(":")[0].strip() for line in lines[1:]] == [
        "PASS  exchange the OAT",
        "PASS  list one org member",
        "PASS  list one team",
    ]


def test_check_with_a_bad_oat_fails_every_check_and_shows_no_secret(emulator: EmulatorServer) -> None:
    secret = "dckr_oat_definitely-wrong"
    result = hubkeeper("-v", "check", env=demo_env(emulator.base_url, oat=secret))
    assert result.returncode == 1
    assert result.stdout.count("FAIL") == 3
    assert "refused the organization access token" in result.stdout
    assert secret not in result.stdout + result.stderr
    assert DEMO.oat not in result.stdout + result.stderr


def test_check_when_docker_hub_is_unreachable() -> None:
    result = hubkeeper("check", env=demo_env("http://127.0.0.1:9"))
    assert result.returncode == 1
    assert "could not reach Docker Hub at http://127.0.0.1:9" in result.stdout


def test_check_without_configuration_is_one_line_and_exit_2() -> None:
    result = hubkeeper("check")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "hubkeeper: DOCKERHUB_ORG is not set: give the organization name (or HUBKEEPER_CONFIG for several)"
    )


def test_check_one_instance_of_several(emulator: EmulatorServer, tmp_path: Path) -> None:
    config = tmp_path / "hubkeeper.toml"
    config.write_text(
        f"""
[instances.acme]
organization_name = "{DEMO.org}"
organization_access_token = "{DEMO.oat}"
api_url = "{emulator.base_url}"

[instances.globex]
organization_name = "{DEMO.other_org}"
organization_access_token = "{DEMO.other_oat}"
api_url = "{emulator.base_url}"
""",
        encoding="utf-8",
    )
    both = hubkeeper("check", env={"HUBKEEPER_CONFIG": str(config)})
    assert both.returncode == 0, both.stdout
    assert both.stdout.count("PASS") == 6
    one = hubkeeper("check", "--instance", "globex", env={"HUBKEEPER_CONFIG": str(config)})
    assert one.returncode == 0 and one.stdout.startswith("globex (globex at")
    unknown = hubkeeper("check", "--instance", "prod", env={"HUBKEEPER_CONFIG": str(config)})
    assert unknown.returncode == 2
    assert "known instances: acme, globex" in unknown.stderr


def test_demo_runs_the_checks_and_a_tour() -> None:
    result = hubkeeper("demo")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASS") == 4  # the PAT check too
    assert "acme: 40 members (3 owners: alicechen, bobokafor, carolsmith)" in result.stdout
    assert "4 pending invites" in result.stdout
    assert DEMO.oat not in result.stdout

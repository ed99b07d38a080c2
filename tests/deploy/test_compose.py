"""deploy/compose.yaml: valid against the Compose Specification's JSON schema (the copy
check-jsonschema carries, so this runs offline), accepted by `docker compose config` where the
plugin is installed, and wired together: replicas, secrets as files, health checks, one port."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import DEPLOY

COMPOSE = DEPLOY / "compose.yaml"
SECRETS_DIR = "/run/secrets/"


def schema_check(path: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def test_compose_file_matches_the_compose_spec_schema() -> None:
    result = schema_check(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_broken_compose_file(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text(COMPOSE.read_text(encoding="utf-8").replace("start_period:", "start_perod:"), encoding="utf-8")
    result = schema_check(broken)
    assert result.returncode != 0 and "start_perod" in result.stdout


def _docker_compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode == 0


@pytest.mark.skipif(not _docker_compose_available(), reason="the docker compose plugin is not installed")
def test_docker_compose_accepts_it(tmp_path: Path, compose: dict[str, Any]) -> None:
    # A copy beside stand-in secret files, so that nothing depends on deploy/secrets/ being filled in.
    shutil.copy(COMPOSE, tmp_path / COMPOSE.name)
    shutil.copy(DEPLOY / compose["configs"]["nginx"]["file"], tmp_path / "nginx.conf")
    for secret in compose["secrets"].values():
        (tmp_path / secret["file"]).parent.mkdir(exist_ok=True)
        (tmp_path / secret["file"]).write_text("stand-in\n", encoding="utf-8")
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "DOCKERHUB_ORG": "acme", "POSTGRES_PASSWORD": "x"}
    command = ["docker", "compose", "--file", str(tmp_path / COMPOSE.name), "config", "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


def test_two_http_replicas_on_postgresql(compose: dict[str, Any]) -> None:
    hubkeeper = compose["services"]["hubkeeper"]
    assert hubkeeper["deploy"]["replicas"] == 2
    assert hubkeeper["command"][:2] == ["serve", "--http"]
    assert hubkeeper["environment"]["HUBKEEPER_DATABASE_URL"].startswith("postgresql://")
    assert "@postgres:5432/" in hubkeeper["environment"]["HUBKEEPER_DATABASE_URL"]
    assert hubkeeper["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert hubkeeper["read_only"] is True


def test_one_public_port_through_the_proxy(compose: dict[str, Any]) -> None:
    published = {name for name, service in compose["services"].items() if service.get("ports")}
    assert published == {"proxy"}
    hubkeeper = compose["services"]["hubkeeper"]
    port = hubkeeper["command"][hubkeeper["command"].index("--port") + 1]
    nginx = (COMPOSE.parent / compose["configs"]["nginx"]["file"]).read_text(encoding="utf-8")
    assert re.search(rf"http://hubkeeper:{port}\b", nginx), "nginx proxies to the replicas' port"
    assert compose["services"]["proxy"]["depends_on"]["hubkeeper"]["condition"] == "service_healthy"


def test_every_service_has_a_health_check(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert service["healthcheck"]["test"][0] == "CMD", name
    assert compose["services"]["hubkeeper"]["healthcheck"]["test"][-1] == "/readyz"


def test_secrets_come_in_as_files(compose: dict[str, Any]) -> None:
    hubkeeper = compose["services"]["hubkeeper"]
    env = hubkeeper["environment"]
    file_settings = {name: value for name, value in env.items() if name.endswith("_FILE")}
    assert set(file_settings) == {"DOCKERHUB_OAT_FILE", "SLACK_BOT_TOKEN_FILE", "SLACK_SIGNING_SECRET_FILE"}
    for name, path in file_settings.items():
        assert path.startswith(SECRETS_DIR), name
        secret = path.removeprefix(SECRETS_DIR)
        assert secret in hubkeeper["secrets"] and "file" in compose["secrets"][secret], name
    for name in ("DOCKERHUB_OAT", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        assert name not in env, f"{name} as a plain variable: secrets come in as files"

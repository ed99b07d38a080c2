"""The Dockerfile, its health check and the orchestrators agree on the user and the probe port.

The image itself is built and run by `make image-test` (deploy/image_test.py), which needs Docker."""

from __future__ import annotations

import importlib.util
import re
from types import ModuleType

import pytest

from .conftest import DEPLOY, ROOT, kubernetes_resources


def _healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("healthcheck", DEPLOY / "healthcheck.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_image_user_is_the_one_kubernetes_runs_as() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    pod = kubernetes_resources()["Deployment"]["spec"]["template"]["spec"]
    uid = pod["securityContext"]["runAsUser"]
    assert re.search(rf"^USER {uid}:{uid}$", dockerfile, re.MULTILINE)
    assert f"--uid {uid}" in dockerfile
    assert re.search(r'^ENTRYPOINT \["hubkeeper"\]$', dockerfile, re.MULTILINE)
    assert re.search(r'^CMD \["serve"\]$', dockerfile, re.MULTILINE)
    assert re.search(r"^ARG BASE_IMAGE=python:3\.11-slim", dockerfile, re.MULTILINE)


@pytest.mark.parametrize(
    ("arguments", "admin_port", "port"),
    [
        (["--http"], None, "3000"),
        (["--http", "--port", "3100"], None, "3100"),
        (["--port=3200", "--http"], None, "3200"),
        ([], None, "8080"),
        ([], "9090", "9090"),
        (["--port", "3100"], "9090", "9090"),  # --port is for HTTP mode; Socket Mode serves probes on the admin port
    ],
)
def test_healthcheck_probes_the_port_serve_listens_on(
    monkeypatch: pytest.MonkeyPatch, arguments: list[str], admin_port: str | None, port: str
) -> None:
    if admin_port is None:
        monkeypatch.delenv("HUBKEEPER_ADMIN_PORT", raising=False)
    else:
        monkeypatch.setenv("HUBKEEPER_ADMIN_PORT", admin_port)
    assert _healthcheck().port(arguments) == port

"""Secrets from files, as Docker and Kubernetes mount them: `*_FILE` variables and `*_file` TOML keys."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import ConfigError, load_settings
from hub.emulator import DEMO, EmulatorServer

OAT = "dckr_oat_from-a-file"


def secret_file(folder: Path, name: str, content: str) -> Path:
    path = folder / name
    path.write_text(content, encoding="utf-8")
    return path


def test_every_secret_setting_reads_its_file_without_the_trailing_newline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    values = {
        "DOCKERHUB_OAT": OAT,
        "DOCKERHUB_PAT": "dckr_pat_file",
        "SLACK_BOT_TOKEN": "xoxb-file",
        "SLACK_SIGNING_SECRET": "signing-file",
        "SLACK_APP_TOKEN": "xapp-file",
    }
    for name, value in values.items():
        monkeypatch.setenv(f"{name}_FILE", str(secret_file(tmp_path, name.lower(), value + "\n")))
    monkeypatch.setenv("DOCKERHUB_ORG", "acme")
    monkeypatch.setenv("DOCKERHUB_PAT_USERNAME", "erinpatel")
    settings = load_settings()
    instance = settings.instances()["acme"]
    assert instance.organization_access_token.get_secret_value() == OAT
    assert instance.pat is not None and instance.pat.get_secret_value() == "dckr_pat_file"
    slack = settings.slack(http=True)
    assert slack.bot_token.get_secret_value() == "xoxb-file"
    assert slack.signing_secret.get_secret_value() == "signing-file"
    assert slack.app_token is not None and slack.app_token.get_secret_value() == "xapp-file"
    for value in values.values():
        assert value not in repr(settings) + repr(instance) + repr(slack)


def test_a_windows_line_ending_is_dropped_too(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKERHUB_ORG", "acme")
    monkeypatch.setenv("DOCKERHUB_OAT_FILE", str(secret_file(tmp_path, "oat", OAT + "\r\n")))
    assert load_settings().instances()["acme"].organization_access_token.get_secret_value() == OAT


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda folder: str(folder / "missing"), "DOCKERHUB_OAT_FILE ({folder}/missing): no such file"),
        (lambda folder: str(folder), "DOCKERHUB_OAT_FILE ({folder}): cannot be read (Is a directory)"),
        (lambda folder: str(secret_file(folder, "empty", "\n")), "DOCKERHUB_OAT_FILE ({folder}/empty) is empty"),
    ],
)
def test_an_unusable_file_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, setup: object, message: str
) -> None:
    monkeypatch.setenv("DOCKERHUB_ORG", "acme")
    monkeypatch.setenv("DOCKERHUB_OAT_FILE", setup(tmp_path))  # type: ignore[operator]
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == message.format(folder=tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_a_file_without_read_permission_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = secret_file(tmp_path, "oat", OAT)
    path.chmod(0)
    monkeypatch.setenv("DOCKERHUB_OAT_FILE", str(path))
    with pytest.raises(ConfigError, match=r"DOCKERHUB_OAT_FILE \(.*\): cannot be read \(Permission denied\)"):
        load_settings()


def test_both_forms_set_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-plain")
    monkeypatch.setenv("SLACK_BOT_TOKEN_FILE", str(secret_file(tmp_path, "bot", "xoxb-file")))
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == "SLACK_BOT_TOKEN and SLACK_BOT_TOKEN_FILE are both set: give one of them"


def write_config(folder: Path, body: str) -> Path:
    config = folder / "hubkeeper.toml"
    config.write_text(body, encoding="utf-8")
    return config


def test_toml_secrets_from_files_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    secret_file(tmp_path / "secrets", "oat", OAT + "\n")
    pat = secret_file(tmp_path, "pat", "dckr_pat_toml\n")
    config = write_config(
        tmp_path,
        f"""
[instances.prod]
organization_name = "acme"
organization_access_token_file = "secrets/oat"
pat_username = "erinpatel"
pat_file = "{pat}"
""",
    )
    instance = load_settings(hubkeeper_config=config).instances()["prod"]
    assert instance.organization_access_token.get_secret_value() == OAT
    assert instance.pat is not None and instance.pat.get_secret_value() == "dckr_pat_toml"


def test_toml_with_both_forms_is_refused(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        f"""
[instances.prod]
organization_name = "acme"
organization_access_token = "{OAT}"
organization_access_token_file = "{secret_file(tmp_path, "oat", OAT)}"
""",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(hubkeeper_config=config).instances()
    assert str(caught.value) == (
        f"HUBKEEPER_CONFIG ({config}) [instances.prod] organization_access_token and "
        "organization_access_token_file are both set: give one of them"
    )
    assert OAT not in str(caught.value)


def test_toml_with_an_unreadable_file_names_the_key(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        """
[instances.prod]
organization_name = "acme"
organization_access_token_file = "nowhere/oat"
""",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(hubkeeper_config=config).instances()
    assert str(caught.value) == (
        f"HUBKEEPER_CONFIG ({config}) [instances.prod] organization_access_token_file "
        f"({tmp_path}/nowhere/oat): no such file"
    )


def hubkeeper(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKERHUB_", "HUBKEEPER_", "SLACK_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_reads_the_oat_from_a_file(emulator: EmulatorServer, tmp_path: Path) -> None:
    env = {
        "DOCKERHUB_ORG": DEMO.org,
        "DOCKERHUB_OAT_FILE": str(secret_file(tmp_path, "oat", DEMO.oat + "\n")),
        "DOCKERHUB_API_URL": emulator.base_url,
    }
    result = hubkeeper("check", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASS") == 3
    assert DEMO.oat not in result.stdout + result.stderr


def test_check_with_both_forms_is_one_line_and_exit_2(emulator: EmulatorServer, tmp_path: Path) -> None:
    env = {
        "DOCKERHUB_ORG": DEMO.org,
        "DOCKERHUB_OAT": DEMO.oat,
        "DOCKERHUB_OAT_FILE": str(secret_file(tmp_path, "oat", DEMO.oat)),
        "DOCKERHUB_API_URL": emulator.base_url,
    }
    result = hubkeeper("check", env=env)
    assert result.returncode == 2
    assert result.stderr == "hubkeeper: DOCKERHUB_OAT and DOCKERHUB_OAT_FILE are both set: give one of them\n"
    assert result.stdout == ""


def test_serve_with_an_unreadable_secret_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    env = {
        "DOCKERHUB_ORG": DEMO.org,
        "DOCKERHUB_OAT": DEMO.oat,
        "SLACK_BOT_TOKEN": "xoxb-serve",
        "SLACK_SIGNING_SECRET_FILE": str(tmp_path / "signing"),
    }
    result = hubkeeper("serve", "--http", "--port", "0", env=env)
    assert result.returncode == 2
    assert result.stderr == f"hubkeeper: SLACK_SIGNING_SECRET_FILE ({tmp_path}/signing): no such file\n"

"""Configuration: one instance from the environment, several from TOML, one clear line when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import ConfigError, load_settings

ENV = {"DOCKERHUB_ORG": "acme", "DOCKERHUB_OAT": "dckr_oat_x"}


def settings_from(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, object]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return dict(load_settings().instances())


def test_one_instance_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    instances = settings_from(monkeypatch, **ENV, DOCKERHUB_INSTANCE="Production")
    production = instances["Production"]
    assert production.organization_name == "acme"  # type: ignore[attr-defined]
    assert production.api_url == "https://hub.docker.com"  # type: ignore[attr-defined]
    assert production.connection().pat is None  # type: ignore[attr-defined]


def test_the_label_defaults_to_the_org(monkeypatch: pytest.MonkeyPatch) -> None:
    assert list(settings_from(monkeypatch, **ENV)) == ["acme"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "DOCKERHUB_ORG is not set"),
        ({"DOCKERHUB_ORG": "acme"}, "DOCKERHUB_OAT is not set"),
        ({**ENV, "DOCKERHUB_ORG": "Acme Corp"}, "DOCKERHUB_ORG: organization 'Acme Corp' is not valid"),
        ({**ENV, "DOCKERHUB_API_URL": "hub.docker.com"}, "DOCKERHUB_API_URL: expected an http(s) URL"),
        ({**ENV, "DOCKERHUB_PAT": "dckr_pat_x"}, "DOCKERHUB_PAT and DOCKERHUB_PAT_USERNAME go together"),
        ({**ENV, "DOCKERHUB_PAT_USERNAME": "a/b", "DOCKERHUB_PAT": "p"}, "DOCKERHUB_PAT_USERNAME: username"),
    ],
)
def test_a_bad_environment_is_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from(monkeypatch, **env)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert "dckr_" not in str(caught.value)


def test_several_instances_from_a_toml_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "hubkeeper.toml"
    config.write_text(
        """
[instances.prod]
organization_name = "acme"
organization_access_token = "dckr_oat_prod"
pat_username = "erinpatel"
pat = "dckr_pat_prod"

[instances.staging]
organization_name = "acme-staging"
organization_access_token = "dckr_oat_staging"
api_url = "http://127.0.0.1:8765"
""",
        encoding="utf-8",
    )
    instances = settings_from(monkeypatch, HUBKEEPER_CONFIG=str(config))
    assert sorted(instances) == ["prod", "staging"]
    assert instances["prod"].connection().pat_username == "erinpatel"  # type: ignore[attr-defined]
    assert instances["staging"].api_url == "http://127.0.0.1:8765"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[instances.prod\n", "not valid TOML"),
        ("title = 'x'\n", "no [instances.<label>] table"),
        ("[instances.prod]\norganization_name = 'acme'\n", "[instances.prod] organization_access_token is missing"),
        (
            "[instances.prod]\norganization_name = 'acme'\norganization_access_token = 'x'\ntoken = 'y'\n",
            "[instances.prod] token is not a known setting",
        ),
        (
            "[instances.prod]\norganization_name = 'acme'\norganization_access_token = 'x'\napi_url = 'ftp://x'\n",
            "[instances.prod] api_url: expected an http(s) URL",
        ),
    ],
)
def test_a_bad_config_file_is_one_line_naming_the_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str, message: str
) -> None:
    config = tmp_path / "hubkeeper.toml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        settings_from(monkeypatch, HUBKEEPER_CONFIG=str(config))
    assert message in str(caught.value)
    assert str(config) in str(caught.value)


def test_a_missing_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        settings_from(monkeypatch, HUBKEEPER_CONFIG=str(tmp_path / "absent.toml"))

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


TWO_INSTANCES = """
[instances.prod]
organization_name = "acme"
organization_access_token = "dckr_oat_prod"
approval_channel = "C0PRODAPP1"
digest_channel = "C0PRODDIG1"

[instances.staging]
organization_name = "acme-staging"
organization_access_token = "dckr_oat_staging"
"""


@pytest.fixture
def two_instances(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "hubkeeper.toml"
    config.write_text(TWO_INSTANCES, encoding="utf-8")
    monkeypatch.setenv("HUBKEEPER_CONFIG", str(config))


@pytest.mark.usefixtures("two_instances")
def test_choosing_all_instances_or_the_one_named() -> None:
    settings = load_settings()
    assert [instance.label for instance in settings.select_instances(None)] == ["prod", "staging"]
    assert [instance.label for instance in settings.select_instances("staging")] == ["staging"]
    with pytest.raises(ConfigError, match=r"^--instance 'dev' is not configured; known instances: prod, staging$"):
        settings.select_instances("dev")


@pytest.mark.usefixtures("two_instances")
def test_a_command_for_one_instance_refuses_to_guess_among_several() -> None:
    settings = load_settings()
    assert settings.one_instance("prod", hint="choose one with --instance").label == "prod"
    with pytest.raises(ConfigError, match=r"^several instances are configured \(prod, staging\): choose one with"):
        settings.one_instance(None, hint="choose one with --instance")
    with pytest.raises(ConfigError, match=r"^instance 'dev' is not configured"):
        settings.one_instance("dev", hint="", named_by="instance")


def test_the_only_instance_needs_no_name(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    assert load_settings().one_instance(None, hint="choose one with --instance").label == "acme"


@pytest.mark.usefixtures("two_instances")
def test_channels_fall_back_to_the_global_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    prod, staging = settings.select_instances(None)
    assert (settings.approval_channel(staging), settings.digest_channel(staging)) == ("", "")
    monkeypatch.setenv("HUBKEEPER_APPROVAL_CHANNEL", "C0HUBOPS01")
    monkeypatch.setenv("HUBKEEPER_DIGEST_CHANNEL", "C0DIGEST01")
    settings = load_settings()
    assert (settings.approval_channel(prod), settings.digest_channel(prod)) == ("C0PRODAPP1", "C0PRODDIG1")
    assert (settings.approval_channel(staging), settings.digest_channel(staging)) == ("C0HUBOPS01", "C0DIGEST01")


def test_the_database_url_defaults_to_the_user_data_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert load_settings().database_url() == f"sqlite:///{tmp_path / 'hubkeeper' / 'hubkeeper.db'}"
    monkeypatch.setenv("HUBKEEPER_DATABASE_URL", " postgresql://hub@db:5432/hubkeeper ")
    assert load_settings().database_url() == "postgresql://hub@db:5432/hubkeeper"


@pytest.mark.parametrize(("value", "expected"), [(None, True), ("false", False), ("0", False), ("true", True)])
def test_telling_the_affected_person_is_on_unless_turned_off(
    monkeypatch: pytest.MonkeyPatch, value: str | None, expected: bool
) -> None:
    if value is not None:
        monkeypatch.setenv("HUBKEEPER_NOTIFY_AFFECTED", value)
    assert load_settings().hubkeeper_notify_affected is expected


def test_a_bad_notify_affected_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUBKEEPER_NOTIFY_AFFECTED", "perhaps")
    with pytest.raises(ConfigError, match=r"(?i)HUBKEEPER_NOTIFY_AFFECTED"):
        load_settings()


@pytest.mark.parametrize("value", ["4", "0", "3601", "-5"])
def test_the_sweep_interval_is_5_to_3600_seconds(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("HUBKEEPER_SWEEP_SECONDS", value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value).startswith(f"HUBKEEPER_SWEEP_SECONDS: {int(value)} is out of range; give 5 to 3600")


@pytest.mark.parametrize("value", ["5", "3600", "60"])
def test_sweep_intervals_in_range_are_taken(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("HUBKEEPER_SWEEP_SECONDS", value)
    assert load_settings().hubkeeper_sweep_seconds == int(value)


def test_the_shutdown_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().shutdown_grace() == 60
    monkeypatch.setenv("HUBKEEPER_SHUTDOWN_GRACE", "2m")
    assert load_settings().shutdown_grace() == 120
    monkeypatch.setenv("HUBKEEPER_SHUTDOWN_GRACE", "soon")
    with pytest.raises(ConfigError, match="HUBKEEPER_SHUTDOWN_GRACE: 'soon' is not a duration"):
        load_settings().shutdown_grace()

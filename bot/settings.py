"""Configuration: Docker Hub instances from the environment or from a TOML file.

One instance: `DOCKERHUB_ORG`, `DOCKERHUB_OAT` (and optionally `DOCKERHUB_INSTANCE`,
`DOCKERHUB_API_URL`, `DOCKERHUB_PAT_USERNAME`, `DOCKERHUB_PAT`). Several: `HUBKEEPER_CONFIG` names a
TOML file with one `[instances.<label>]` table each. Every secret can instead come from a file, as
Docker and Kubernetes mount secrets (`DOCKERHUB_OAT_FILE`, `organization_access_token_file`, …).
Whatever is wrong is reported as one line that names the setting, and never shows a secret.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from handlers.durations import NotADuration, parse_seconds
from handlers.scans import DEFAULT_COOLDOWN_SECONDS as DEFAULT_SCAN_COOLDOWN_SECONDS
from handlers.stale import STALE_AFTER_DAYS
from hub import paths
from hub.errors import InvalidInput
from hub.paths import DEFAULT_BASE_URL

if TYPE_CHECKING:
    from hub.client import HubConnection

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
SWEEP_SECONDS_MIN, SWEEP_SECONDS_MAX = 5, 3600
_SLACK_ID = re.compile(r"[UWS][A-Z0-9]{2,20}")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it in one line."""


class SlackConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    bot_token: SecretStr
    signing_secret: SecretStr
    app_token: SecretStr | None = None
    api_url: str = DEFAULT_SLACK_API_URL


FILE_SUFFIX = "_FILE"
SECRET_SETTINGS = ("dockerhub_oat", "dockerhub_pat", "slack_bot_token", "slack_signing_secret", "slack_app_token")


def read_secret_file(name: str, path: Path) -> str:
    """The secret a file holds, less the trailing newline `echo` and editors leave; ConfigError otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{name} ({path}): no such file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{name} ({path}): not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{name} ({path}): cannot be read ({exc.strerror})") from None
    secret = text.rstrip("\r\n")
    if not secret.strip():
        raise ConfigError(f"{name} ({path}) is empty")
    return secret


class SecretFilesSource(PydanticBaseSettingsSource):
    """`<SETTING>_FILE` for every secret setting: the value is read from the file that variable names.

    pydantic-settings' own `secrets_dir` reads a file named after the setting in one folder; platforms
    mount secrets wherever they are told, and the `_FILE` variable says where (the convention of the
    official Docker images). Setting both forms is refused rather than one silently winning.
    """

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str] | None = None) -> None:
        super().__init__(settings_cls)
        self._environ = {key.lower(): value for key, value in (os.environ if environ is None else environ).items()}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        path = self._environ.get(f"{field_name}{FILE_SUFFIX}".lower())
        if not path:
            return None, field_name, False
        name = field_name.upper()
        if self._environ.get(field_name.lower()):
            raise ConfigError(f"{name} and {name}{FILE_SUFFIX} are both set: give one of them")
        return read_secret_file(f"{name}{FILE_SUFFIX}", Path(path)), field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for field_name in SECRET_SETTINGS:
            value, key, _ = self.get_field_value(self.settings_cls.model_fields[field_name], field_name)
            if value is not None:
                values[key] = value
        return values


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value().strip() if value is not None else ""


def parse_slack_ids(name: str, text: str) -> frozenset[str]:
    ids = frozenset(part.strip() for part in text.split(",") if part.strip())
    for slack_id in ids:
        if not _SLACK_ID.fullmatch(slack_id):
            raise ConfigError(
                f"{name}: {slack_id[:40]!r} is not a Slack user or user-group ID (like U0123ABC or S0456DEF)"
            )
    return ids


class InstanceConfig(BaseModel):
    """One Docker Hub organization hubkeeper manages, under a friendly label."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str
    organization_name: str
    organization_access_token: SecretStr
    api_url: str = DEFAULT_BASE_URL
    pat_username: str | None = None
    pat: SecretStr | None = None
    approval_channel: str | None = None
    """Overrides HUBKEEPER_APPROVAL_CHANNEL for this instance."""
    digest_channel: str | None = None
    """Overrides HUBKEEPER_DIGEST_CHANNEL for this instance."""

    def connection(self) -> HubConnection:
        # Here, not at the top: reading settings does not load httpx and the client (`hubkeeper
        # --help`, `hubkeeper log`); a command that connects imports it anyway.
        from hub.client import HubConnection

        return HubConnection(
            org=self.organization_name,
            oat=self.organization_access_token,
            base_url=self.api_url,
            pat_username=self.pat_username,
            pat=self.pat,
        )


class Settings(BaseSettings):
    """Read once at start-up, in the composition root, and passed down."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    dockerhub_org: str | None = None
    dockerhub_oat: SecretStr | None = None
    dockerhub_instance: str | None = None
    dockerhub_api_url: str = DEFAULT_BASE_URL
    dockerhub_pat_username: str | None = None
    dockerhub_pat: SecretStr | None = None
    hubkeeper_config: Path | None = None

    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    hubkeeper_viewers: str = ""

    hubkeeper_approval_channel: str = ""
    hubkeeper_approvers: str = ""
    hubkeeper_destructive_approvals: int = Field(default=1, ge=1, le=5)
    hubkeeper_request_ttl: str = "72h"
    hubkeeper_audit_channel: str = ""
    hubkeeper_database_url: str = ""
    hubkeeper_sweep_seconds: int = 60
    """How often the sweep runs; an execution's lease lasts two intervals (see `check_sweep_seconds`)."""
    hubkeeper_shutdown_grace: str = "60s"
    """How long a SIGTERM waits for changes being applied before leaving them to recovery."""
    hubkeeper_stale_after_days: int = Field(default=STALE_AFTER_DAYS, ge=1, le=36500)
    hubkeeper_digest_channel: str = ""
    hubkeeper_digest_schedule: str = "0 9 * * MON"
    hubkeeper_timezone: str = "UTC"
    hubkeeper_policy_file: str = ""
    hubkeeper_policy_schedule: str = ""
    hubkeeper_admin_port: int = Field(default=8080, ge=0, le=65535)
    """Socket Mode only: where /healthz, /readyz and /metrics are served (HTTP mode uses the Slack port)."""
    hubkeeper_log_format: Literal["text", "json"] = "text"
    """`serve`'s log lines: text, or one JSON object a line (bot.logs)."""
    hubkeeper_readiness_seconds: int = Field(default=30, ge=1, le=240)
    """How often the readiness state is refreshed (a token check per instance, never a forced exchange)."""
    hubkeeper_index_rate_share: float = Field(default=0.5, gt=0, le=1)
    """The share of Docker Hub's announced rate limit an access index refresh may use."""
    hubkeeper_index_schedule: str = "0 2 * * *"
    """When the bot refreshes the access index (cron, UTC)."""
    hubkeeper_activity_seconds: int = Field(default=300, ge=5, le=86400)
    """How often the bot reads the audit log for changes made outside hubkeeper."""
    hubkeeper_scan_cooldown_seconds: int = Field(default=DEFAULT_SCAN_COOLDOWN_SECONDS, ge=0, le=86400)
    """After a full-org scan (`/hub review`, `/hub digest`, `whois` by email), how long the same person
    waits before their next one on that instance."""
    hubkeeper_notify_affected: bool = True
    """DM the person a done change is about (found on Slack by their Docker Hub email)."""

    @field_validator("hubkeeper_sweep_seconds")
    @classmethod
    def check_sweep_seconds(cls, seconds: int) -> int:
        # A ConfigError is not wrapped by pydantic: the person reads exactly this line.
        if not SWEEP_SECONDS_MIN <= seconds <= SWEEP_SECONDS_MAX:
            raise ConfigError(
                f"HUBKEEPER_SWEEP_SECONDS: {seconds} is out of range; give {SWEEP_SECONDS_MIN} to "
                f"{SWEEP_SECONDS_MAX} seconds (an interrupted change is recovered within three intervals)"
            )
        return seconds

    def shutdown_grace(self) -> float:
        """HUBKEEPER_SHUTDOWN_GRACE in seconds (`60s`, `2m` or plain seconds)."""
        return parse_duration("HUBKEEPER_SHUTDOWN_GRACE", self.hubkeeper_shutdown_grace).total_seconds()

    def index_schedule(self) -> str:
        from apscheduler.triggers.cron import CronTrigger  # only the bot needs it; the CLI starts faster

        try:
            CronTrigger.from_crontab(self.hubkeeper_index_schedule, timezone="UTC")
        except ValueError as error:
            raise ConfigError(
                f"HUBKEEPER_INDEX_SCHEDULE: {self.hubkeeper_index_schedule[:40]!r} is not a cron line "
                f"such as '0 2 * * *' ({error})"
            ) from None
        return self.hubkeeper_index_schedule

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Values given in code first (tests, the sandbox), then the `_FILE` forms, then the environment.
        return init_settings, SecretFilesSource(settings_cls), env_settings, dotenv_settings, file_secret_settings

    def digest_timezone(self) -> str:
        try:
            ZoneInfo(self.hubkeeper_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"HUBKEEPER_TIMEZONE: {self.hubkeeper_timezone[:40]!r} is not a time zone such as UTC or Europe/Berlin"
            ) from None
        return self.hubkeeper_timezone

    def digest_schedule(self) -> str:
        # Here, not at the top: commands that schedule nothing do not pay for importing APScheduler.
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(self.hubkeeper_digest_schedule, timezone=self.digest_timezone())
        except ValueError as error:
            raise ConfigError(
                f"HUBKEEPER_DIGEST_SCHEDULE: {self.hubkeeper_digest_schedule[:40]!r} is not a cron line "
                f"such as '0 9 * * MON' ({error})"
            ) from None
        return self.hubkeeper_digest_schedule

    def policy_schedule(self) -> str | None:
        """The drift check's cron line (in HUBKEEPER_TIMEZONE), or None when it is off."""
        line = self.hubkeeper_policy_schedule.strip()
        if not line:
            return None
        if not self.hubkeeper_policy_file:
            raise ConfigError(
                "HUBKEEPER_POLICY_SCHEDULE is set but HUBKEEPER_POLICY_FILE is not: name the policy to check"
            )
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(line, timezone=self.digest_timezone())
        except ValueError as error:
            raise ConfigError(
                f"HUBKEEPER_POLICY_SCHEDULE: {line[:40]!r} is not a cron line such as '0 * * * *' ({error})"
            ) from None
        return line

    def approvers(self) -> frozenset[str]:
        return parse_slack_ids("HUBKEEPER_APPROVERS", self.hubkeeper_approvers)

    def request_ttl(self) -> timedelta:
        return parse_duration("HUBKEEPER_REQUEST_TTL", self.hubkeeper_request_ttl)

    def access_teams(self) -> dict[str, str]:
        """The config file's [access_teams]: `"ns/repo:permission" = "team"` for self-service requests."""
        if self.hubkeeper_config is None:
            return {}
        from handlers.grammar import PERMISSIONS  # loads the Docker Hub models: only when there is a table

        table = _read_toml(self.hubkeeper_config).get("access_teams", {})
        where = f"HUBKEEPER_CONFIG ({self.hubkeeper_config}) [access_teams]"
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table")
        teams: dict[str, str] = {}
        for key, team in table.items():
            repository, _, permission = str(key).rpartition(":")
            try:
                paths.parse_repository_ref(repository)
                paths.team(str(team))
            except InvalidInput as error:
                raise ConfigError(f"{where} {key!r}: {error.message}") from None
            if permission not in PERMISSIONS:
                raise ConfigError(f'{where} {key!r}: expected "namespace/repository:read|write|admin"')
            teams[str(key)] = str(team)
        return teams

    def viewers(self) -> frozenset[str]:
        """Slack user (`U…`, `W…`) and user-group (`S…`) IDs allowed to look things up; empty: everyone."""
        return parse_slack_ids("HUBKEEPER_VIEWERS", self.hubkeeper_viewers)

    def slack_for_posting(self) -> SlackConfig:
        """Enough Slack for a command-line job that only posts (the bot token and the API URL)."""
        bot_token = _secret(self.slack_bot_token)
        if not bot_token:
            raise ConfigError("SLACK_BOT_TOKEN is not set: posting to Slack needs the bot token (xoxb-…)")
        api_url = self.slack_api_url if self.slack_api_url.endswith("/") else self.slack_api_url + "/"
        return SlackConfig(bot_token=SecretStr(bot_token), signing_secret=SecretStr(""), api_url=api_url)

    def slack(self, *, http: bool) -> SlackConfig:
        """The Slack settings a serving mode needs; raises ConfigError naming what is missing."""
        if os.environ.get("SLACK_CLIENT_ID") and os.environ.get("SLACK_CLIENT_SECRET"):
            # Bolt would quietly switch to multi-workspace OAuth on seeing these two.
            raise ConfigError(
                "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set: hubkeeper is a single-workspace app; unset them"
            )
        bot_token = _secret(self.slack_bot_token)
        if not bot_token:
            raise ConfigError("SLACK_BOT_TOKEN is not set: give the bot token (xoxb-…)")
        signing_secret = _secret(self.slack_signing_secret)
        app_token = _secret(self.slack_app_token)
        if http and not signing_secret:
            raise ConfigError("SLACK_SIGNING_SECRET is not set: HTTP mode verifies every request with it")
        if not http and not app_token:
            raise ConfigError("SLACK_APP_TOKEN is not set: Socket Mode needs the app-level token (xapp-…)")
        url = urlsplit(self.slack_api_url)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise ConfigError(f"SLACK_API_URL: expected an http(s) URL such as {DEFAULT_SLACK_API_URL}")
        api_url = self.slack_api_url if self.slack_api_url.endswith("/") else self.slack_api_url + "/"
        return SlackConfig(
            bot_token=SecretStr(bot_token),
            signing_secret=SecretStr(signing_secret or ""),
            app_token=SecretStr(app_token) if app_token else None,
            api_url=api_url,
        )

    def instances(self) -> dict[str, InstanceConfig]:
        """Every configured instance by label; raises ConfigError naming the first bad setting."""
        if self.hubkeeper_config is not None:
            return load_config_file(self.hubkeeper_config)
        return {self._env_instance().label: self._env_instance()}

    def select_instances(self, label: str | None, *, named_by: str = "--instance") -> list[InstanceConfig]:
        """Every instance, or only the one `label` names (`named_by` says where the label came from)."""
        instances = self.instances()
        if label is None:
            return list(instances.values())
        if label not in instances:
            known = ", ".join(sorted(instances))
            raise ConfigError(f"{named_by} {label!r} is not configured; known instances: {known}")
        return [instances[label]]

    def one_instance(self, label: str | None, *, hint: str, named_by: str = "--instance") -> InstanceConfig:
        """The instance `label` names, or the only one configured. With several and no label this is a
        ConfigError ending in `hint` (how to name one): a command that acts on one org must not guess."""
        selected = self.select_instances(label, named_by=named_by)
        if len(selected) > 1:
            known = ", ".join(sorted(instance.label for instance in selected))
            raise ConfigError(f"several instances are configured ({known}): {hint}")
        return selected[0]

    def approval_channel(self, instance: InstanceConfig) -> str:
        """Where the instance's requests go for approval: its own channel, else HUBKEEPER_APPROVAL_CHANNEL."""
        return instance.approval_channel or self.hubkeeper_approval_channel

    def digest_channel(self, instance: InstanceConfig) -> str:
        """Where the instance's digest is posted: its own channel, else HUBKEEPER_DIGEST_CHANNEL ('' for none)."""
        return instance.digest_channel or self.hubkeeper_digest_channel

    def database_url(self) -> str:
        """HUBKEEPER_DATABASE_URL, else the SQLite file in the user's data folder."""
        if self.hubkeeper_database_url.strip():
            return self.hubkeeper_database_url.strip()
        # Here, not at the top: only commands that open the store pay for importing it.
        from bot.store.db import default_database_url

        return default_database_url()

    def _env_instance(self) -> InstanceConfig:
        if not self.dockerhub_org:
            raise ConfigError("DOCKERHUB_ORG is not set: give the organization name (or HUBKEEPER_CONFIG for several)")
        if self.dockerhub_oat is None or not self.dockerhub_oat.get_secret_value():
            raise ConfigError("DOCKERHUB_OAT is not set: give the organization access token")
        fields = {
            "label": self.dockerhub_instance or self.dockerhub_org,
            "organization_name": self.dockerhub_org,
            "organization_access_token": self.dockerhub_oat,
            "api_url": self.dockerhub_api_url,
            "pat_username": self.dockerhub_pat_username,
            "pat": self.dockerhub_pat,
        }
        names = {
            "label": "DOCKERHUB_INSTANCE",
            "organization_name": "DOCKERHUB_ORG",
            "api_url": "DOCKERHUB_API_URL",
            "pat_username": "DOCKERHUB_PAT_USERNAME",
            "pat": "DOCKERHUB_PAT",
        }
        return _instance(fields, lambda key: names.get(key, key.upper()))


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment; a malformed value becomes a ConfigError naming it."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "a setting"
        raise ConfigError(f"{name}: {first['msg']}") from None


def parse_duration(name: str, text: str) -> timedelta:
    """`90s`, `30m`, `72h`, `7d` (or plain seconds); never zero."""
    try:
        seconds = parse_seconds(text, units="smhd", bare=True)
    except NotADuration:
        seconds = 0
    if seconds == 0:
        raise ConfigError(f"{name}: {text[:40]!r} is not a duration such as 30m, 72h or 7d")
    return timedelta(seconds=seconds)


def _read_toml(path: Path) -> dict[str, Any]:
    where = f"HUBKEEPER_CONFIG ({path})"
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot be read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None


def load_config_file(path: Path) -> dict[str, InstanceConfig]:
    where = f"HUBKEEPER_CONFIG ({path})"
    data = _read_toml(path)
    tables = data.get("instances")
    if not isinstance(tables, dict) or not tables:
        raise ConfigError(f"{where}: no [instances.<label>] table")
    instances: dict[str, InstanceConfig] = {}
    for label, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: instances.{label} must be a table")

        def name_of(key: str, label: str = label) -> str:
            return f"{where} [instances.{label}] {key}"

        table = _secrets_from_files(table, path.parent, name_of)
        instances[label] = _instance({"label": label, **table}, name_of)
    return instances


TOML_SECRET_KEYS = ("organization_access_token", "pat")


def _secrets_from_files(table: dict[str, Any], folder: Path, name_of: Any) -> dict[str, Any]:
    """`<key>_file` in an instance table in place of the secret itself (a relative path is from the file's folder)."""
    table = dict(table)
    for key in TOML_SECRET_KEYS:
        file_key = f"{key}_file"
        if file_key not in table:
            continue
        file_name = table.pop(file_key)
        if not isinstance(file_name, str) or not file_name:
            raise ConfigError(f"{name_of(file_key)} must be a file path")
        if key in table:
            raise ConfigError(f"{name_of(key)} and {file_key} are both set: give one of them")
        table[key] = read_secret_file(name_of(file_key), folder / file_name)
    return table


def _instance(fields: dict[str, Any], name_of: Any) -> InstanceConfig:
    """Validate one instance, naming the setting at fault in the error."""
    fields = {key: value for key, value in fields.items() if value is not None}
    try:
        instance = InstanceConfig(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = str(first["loc"][0]) if first["loc"] else "?"
        problem = "is missing" if first["type"] == "missing" else f"is not valid: {first['msg']}"
        if first["type"] == "extra_forbidden":
            problem = "is not a known setting"
        raise ConfigError(f"{name_of(key)} {problem}") from None
    try:
        paths.org_name(instance.organization_name)
        if instance.pat_username is not None:
            paths.username(instance.pat_username)
    except InvalidInput as exc:
        key = "organization_name" if exc.field == "organization" else "pat_username"
        raise ConfigError(f"{name_of(key)}: {exc.message}") from None
    url = urlsplit(instance.api_url)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise ConfigError(f"{name_of('api_url')}: expected an http(s) URL such as {DEFAULT_BASE_URL}")
    if (instance.pat is None) != (instance.pat_username is None):
        raise ConfigError(f"{name_of('pat')} and {name_of('pat_username')} go together: give both or neither")
    return instance

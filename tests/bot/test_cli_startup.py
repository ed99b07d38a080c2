"""What each command imports: `--help` and the read-only commands load no Slack, no SQLAlchemy and no
Alembic they do not use, and `check` nothing beyond settings and the Hub client (a correctness test;
start-up time is measured by benchmarks/startup.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from bot.cli import COMMANDS, main
from hub.emulator import EmulatorServer
from tests.bot.test_cli import demo_env

HEAVY = frozenset({"slack_bolt", "slack_sdk", "sqlalchemy", "alembic", "aiohttp", "apscheduler", "prometheus_client"})

# Runs the real entry point (`bot.cli:main`, as the `hubkeeper` script does) and, as the process
# exits, prints every module it had imported (not the names marked absent, such as httpx._main).
_REPORT_IMPORTS = """
import atexit, sys
atexit.register(lambda: print("IMPORTED", *sorted(n for n, m in sys.modules.items() if m is not None), file=sys.stderr))
sys.argv = ["hubkeeper", *sys.argv[1:]]
from bot.cli import main
main()
"""

# Reads the settings and the instances as every command does first, and prints what that imported.
_REPORT_SETTINGS_IMPORTS = """
import sys
from bot.settings import load_settings
load_settings().instances()
print("IMPORTED", *sorted(n for n, m in sys.modules.items() if m is not None), file=sys.stderr)
"""


def imported(*args: str, env: dict[str, str]) -> set[str]:
    """Which of the heavy packages `hubkeeper *args` imports."""
    return loaded(*args, env=env) & HEAVY


def loaded(*args: str, env: dict[str, str], script: str = _REPORT_IMPORTS) -> set[str]:
    """Every module `hubkeeper *args` (or `script`) imports."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKERHUB_", "HUBKEEPER_", "SLACK_"))}
    result = subprocess.run(
        [sys.executable, "-c", script, *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode in (0, 2), result.stderr  # `policy plan` exits 2 when there are changes
    report = [line for line in result.stderr.splitlines() if line.startswith("IMPORTED")]
    assert report, result.stderr
    return set(report[-1].split()[1:])


def test_help_imports_none_of_the_commands() -> None:
    assert imported("--help", env={}) == set()


def test_check_imports_neither_slack_nor_the_store(emulator: EmulatorServer) -> None:
    assert imported("check", env=demo_env(emulator.base_url)) == set()


# What `check` must not load: it reads settings, builds the Hub client and prints three lines. The
# command grammar, the lookups and `/hub health`'s reply are the Slack side; pygments (and rich) are
# what httpx's own command-line client would import.
NOT_FOR_CHECK = frozenset(
    {
        "handlers.commands",
        "handlers.grammar",
        "handlers.health",
        "handlers.lookup",
        "handlers.lookups",
        "handlers.requests.kinds",
        "hub.emulator",
        "pygments",
        "rich",
        "yaml",
    }
)


def test_check_loads_only_settings_and_the_hub_client(emulator: EmulatorServer) -> None:
    modules = loaded("check", env=demo_env(emulator.base_url))
    assert {"bot.settings", "hub.client", "handlers.health_checks"} <= modules  # the report itself works
    assert modules & (HEAVY | NOT_FOR_CHECK) == set()


def test_reading_settings_loads_neither_httpx_nor_the_hub_client(emulator: EmulatorServer) -> None:
    """Settings are read first by every command (`log`, `--instance` errors…): none of them pays for
    the HTTP stack, the Docker Hub models or the command grammar by reading them."""
    modules = loaded(env=demo_env(emulator.base_url), script=_REPORT_SETTINGS_IMPORTS)
    assert "bot.settings" in modules
    assert {name for name in modules if name.split(".")[0] in ("httpx", "httpcore", "anyio")} == set()
    assert modules & {"hub.client", "hub.models", "hub.auth", "handlers.grammar", "handlers.commands"} == set()


def test_review_imports_neither_slack_nor_the_store(emulator: EmulatorServer) -> None:
    assert imported("review", "--csv", os.devnull, env=demo_env(emulator.base_url)) == set()


def test_policy_plan_imports_neither_slack_nor_the_store(emulator: EmulatorServer, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text("teams:\n  backend:\n    members: [erinpatel]\n", encoding="utf-8")
    assert imported("policy", "plan", str(policy), env=demo_env(emulator.base_url)) == set()


def test_a_dry_run_digest_reads_the_store_but_loads_no_slack(emulator: EmulatorServer, tmp_path: Path) -> None:
    env = {**demo_env(emulator.base_url), "HUBKEEPER_DATABASE_URL": f"sqlite:///{tmp_path / 'hk.db'}"}
    # The store keeps the last roster snapshot the digest compares against; opening it brings it to head.
    assert imported("digest", "--dry-run", env=env) == {"alembic", "sqlalchemy"}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_lists_each_command_as_its_own_help_says(name: str) -> None:
    command = main.get_command(click.Context(main), name)
    assert command is not None
    assert command.get_short_help_str(limit=1000) == COMMANDS[name].short_help


def test_help_lists_every_command_and_an_unknown_one_is_refused() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert listed.returncode == 0
    commands = listed.stdout.split("Commands:")[1].split()
    assert all(name in commands for name in COMMANDS)
    unknown = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chek"], capture_output=True, text=True, timeout=60, check=False
    )
    assert unknown.returncode == 2 and "No such command 'chek'" in unknown.stderr

"""`hubkeeper sandbox`: the whole bot on one machine, with no Slack workspace and no Docker Hub org.

The Docker Hub emulator (demo org), the Slack Web API stand-in, the real bot in HTTP mode pointed at
both, and the console page that plays Slack for a person. Tests use the same assembly.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import signal
import tempfile
from contextlib import suppress
from pathlib import Path

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app import Bot, open_bot
from bot.sandbox.console import build_console_app
from bot.sandbox.slack_api import SlackStandIn
from bot.scheduler import start_scheduler, stop_scheduler
from bot.serve import EVENTS_PATH, SHUTDOWN_GRACE, start_http
from bot.settings import load_settings
from hub.emulator import DEMO, EmulatorConfig, EmulatorServer, EmulatorState, seed_demo

BOT_TOKEN = "xoxb-sandbox-token"
APPROVAL_CHANNEL = "C0HUBOPS01"  # #hub-ops
AUDIT_CHANNEL = "C0GENERAL1"  # #general
APPROVERS = "S0APPROVERS"  # the demo's two owners, alice and bob


def _instances_toml(base_url: str, with_globex: bool) -> str:
    acme = f"""
[instances.acme]
organization_name = "{DEMO.org}"
organization_access_token = "{DEMO.oat}"
api_url = "{base_url}"
pat_username = "{DEMO.pat_username}"
pat = "{DEMO.pat}"
"""
    globex = f"""
[instances.globex]
organization_name = "{DEMO.other_org}"
organization_access_token = "{DEMO.other_oat}"
api_url = "{base_url}"
"""
    return acme + (globex if with_globex else "")


def _access_teams_toml(access_teams: dict[str, str]) -> str:
    if not access_teams:
        return ""
    lines = "".join(f"{json.dumps(key)} = {json.dumps(team)}\n" for key, team in access_teams.items())
    return f"\n[access_teams]\n{lines}"


class Sandbox:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        console_port: int = 3000,
        emulator_state: EmulatorState | None = None,
        with_globex: bool = False,
        viewers: str = "",
        policy_file: str = "",
        activity_seconds: int = 300,
        access_teams: dict[str, str] | None = None,
        sweep_seconds: int = 60,
        notify_affected: bool = True,
    ) -> None:
        self.host = host
        self.console_port = console_port
        self.emulator_state = emulator_state or self._demo_state()
        self.with_globex = with_globex
        self.viewers = viewers
        self.policy_file = policy_file
        self.activity_seconds = activity_seconds
        self.access_teams = dict(access_teams or {})
        """The config file's [access_teams] (self-service teams), e.g. {"acme/api:write": "backend"}."""
        self.sweep_seconds = sweep_seconds
        self.notify_affected = notify_affected
        # A fresh secret each run: the console signs with it exactly as Slack would.
        self.signing_secret = secrets.token_hex(16)
        self.folder = Path(tempfile.mkdtemp(prefix="hubkeeper-sandbox-"))
        self.emulator = EmulatorServer(self.emulator_state, host=host, port=0)
        self.slack = SlackStandIn(bot_token=BOT_TOKEN, host=host, port=0)
        self.bot: Bot | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self._runners: list[web.AppRunner] = []
        self.bot_url = ""
        self.console_url = ""

    @staticmethod
    def _demo_state() -> EmulatorState:
        state = EmulatorState(EmulatorConfig())
        seed_demo(state)
        return state

    async def start(self) -> Sandbox:
        self.emulator.start()
        self.slack.start()
        config = self.folder / "hubkeeper.toml"
        config.write_text(
            _instances_toml(self.emulator.base_url, self.with_globex) + _access_teams_toml(self.access_teams),
            encoding="utf-8",
        )
        settings = load_settings(
            hubkeeper_config=config,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=self.signing_secret,
            slack_api_url=self.slack.api_url,
            hubkeeper_viewers=self.viewers,
            hubkeeper_approval_channel=APPROVAL_CHANNEL,
            hubkeeper_approvers=APPROVERS,
            hubkeeper_audit_channel=AUDIT_CHANNEL,
            hubkeeper_digest_channel=APPROVAL_CHANNEL,
            hubkeeper_policy_file=self.policy_file,
            hubkeeper_database_url=f"sqlite:///{self.folder / 'hubkeeper.db'}",
            hubkeeper_activity_seconds=self.activity_seconds,
            hubkeeper_sweep_seconds=self.sweep_seconds,
            hubkeeper_notify_affected=self.notify_affected,
        )
        self.bot = await open_bot(settings, http=True)
        bot_runner, bot_port = await start_http(self.bot, self.host, 0)
        self._runners.append(bot_runner)
        self.scheduler = start_scheduler(self.bot)
        self.bot_url = f"http://{self.host}:{bot_port}{EVENTS_PATH}"
        web_ui = f"{self.emulator.base_url}/emulator/web-ui/{DEMO.org}"
        console = web.AppRunner(build_console_app(self.slack, self.bot_url, self.signing_secret, web_ui_url=web_ui))
        await console.setup()
        site = web.TCPSite(console, self.host, self.console_port)
        await site.start()
        self._runners.append(console)
        port = console.addresses[0][1] if console.addresses else self.console_port
        self.console_url = f"http://{self.host}:{port}"
        return self

    async def stop(self) -> None:
        if self.scheduler is not None and self.bot is not None:
            await stop_scheduler(self.scheduler, self.bot.work, SHUTDOWN_GRACE)
            self.scheduler = None
        if self.bot is not None:
            await self.bot.work.wait_idle(SHUTDOWN_GRACE)
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        if self.bot is not None:
            await self.bot.aclose()
        self.slack.stop()
        self.emulator.stop()
        # Whatever the sandbox wrote (its database, from the approvals issue on) is scratch.
        shutil.rmtree(self.folder, ignore_errors=True)

    async def __aenter__(self) -> Sandbox:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


async def run_sandbox(host: str, console_port: int) -> None:
    """Serve until Ctrl-C or SIGTERM, printing where to go."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    # A short sweep, so that an accepted invite finishes its onboarding while you watch.
    async with Sandbox(host=host, console_port=console_port, activity_seconds=15, sweep_seconds=10) as sandbox:
        print(f"hubkeeper sandbox: open {sandbox.console_url} (Ctrl-C to stop)")
        print(f"  bot (HTTP mode)     {sandbox.bot_url}")
        print(f"  Docker Hub emulator {sandbox.emulator.base_url}  (demo org '{DEMO.org}')")
        print(f"  Slack stand-in      {sandbox.slack.api_url}")
        print(f"  working folder      {sandbox.folder}")
        print(
            '  an outside change   the console\'s "Docker Hub web UI" button, or '
            f"hubkeeper emulator-web-ui --url {sandbox.emulator.base_url} member.role.change username=ivanpetrov "
            "role=owner  (posted to #general within 15 s)"
        )
        print(
            "  see, ask, undo      as Ivan: /hub team add data ivanpetrov --reason onboarding --dry-run, then again "
            "without --dry-run; approve as Alice in #hub-ops; then click Undo on its message"
        )
        print(
            "  a bulk add          click “Bulk add to a team” above the composer (as Ivan): one request names who is "
            "left out; approve as Alice, each person's outcome shows on the message"
        )
        print(
            "  an onboarding       as Alice: /hub onboard newbie@acme.example --teams backend,data --reason new hire;"
            " Bob approves; then the console's \"Accept invite\" form (newbie@acme.example, noanewbie) plays"
            " Noa accepting it, and within 10 s Noa is in both teams and both are told"
        )
        await stop.wait()

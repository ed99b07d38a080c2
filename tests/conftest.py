"""Shared fixtures: a real Docker Hub emulator on a loopback port, and clients pointed at it."""

from __future__ import annotations

import gc
import os
import tracemalloc
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack_api import SlackStandIn
from bot.slack_io import SlackDirectory, SlackMessenger
from bot.store import SqlRequestStore
from bot.store.access_store import SqlAccessIndexStore
from bot.store.onboarding_store import SqlOnboardingStore
from handlers.context import HandlerContext
from handlers.requests import kinds
from handlers.requests.kind import ChangeKind
from hub.client import HubClient, HubConnection
from hub.emulator import DEMO, EmulatorConfig, EmulatorServer, EmulatorState, seed_demo
from hub.retries import RetryPolicy

# Quick backoff so retry tests take milliseconds; the logic is the production one.
FAST_RETRIES = RetryPolicy(max_retries=3, budget_seconds=10.0, backoff_base=0.01, backoff_max=0.05)

# Settings are read from the environment: a developer's own must not leak into the tests. The
# HUBKEEPER_SKIP_* and HUBKEEPER_TEST_* variables are the test suite's own switches, not settings.
for _name in list(os.environ):
    if _name.startswith(("DOCKERHUB_", "HUBKEEPER_", "SLACK_")) and not _name.startswith(
        ("HUBKEEPER_SKIP_", "HUBKEEPER_TEST_")
    ):
        del os.environ[_name]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--leak-check",
        action="store_true",
        help="after each test, collect garbage and fail the test if that reports an unclosed resource "
        "(with PYTHONTRACEMALLOC=10, where it was allocated)",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    # A socket or session left open is otherwise reported when the garbage collector happens to run,
    # in whichever later test that is. Collecting right after each test names the one that leaked it.
    result = yield
    if item.config.getoption("--leak-check"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gc.collect()
        leaks = [w for w in caught if issubclass(w.category, ResourceWarning)]
        if leaks:
            lines = []
            for leak in leaks:
                lines.append(str(leak.message))
                allocated = tracemalloc.get_object_traceback(leak.source) if leak.source is not None else None
                lines += ["    " + line for line in allocated.format()] if allocated else []
            raise AssertionError("left open by this test:\n" + "\n".join(lines))
    return result


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig()


@pytest.fixture
def emulator_state(emulator_config: EmulatorConfig) -> EmulatorState:
    state = EmulatorState(emulator_config)
    seed_demo(state)
    return state


@pytest.fixture
def emulator(emulator_state: EmulatorState) -> Iterator[EmulatorServer]:
    with EmulatorServer(emulator_state, host="127.0.0.1", port=0) as server:
        yield server


def demo_connection(base_url: str, *, with_pat: bool = False, oat: str | None = None) -> HubConnection:
    return HubConnection(
        org=DEMO.org,
        oat=SecretStr(oat if oat is not None else DEMO.oat),
        base_url=base_url,
        pat_username=DEMO.pat_username if with_pat else None,
        pat=SecretStr(DEMO.pat) if with_pat else None,
    )


@pytest.fixture
async def hub(emulator: EmulatorServer) -> AsyncIterator[HubClient]:
    async with HubClient(demo_connection(emulator.base_url), retry_policy=FAST_RETRIES) as client:
        yield client


@pytest.fixture
async def hub_with_pat(emulator: EmulatorServer) -> AsyncIterator[HubClient]:
    connection = demo_connection(emulator.base_url, with_pat=True)
    async with HubClient(connection, retry_policy=FAST_RETRIES) as client:
        yield client


@pytest.fixture
def extra_kinds() -> Iterator[Callable[[ChangeKind[Any]], None]]:
    """Adds change kinds to the registry for one test; the registry is as it was afterwards."""
    saved = kinds.ALL

    def add(kind: ChangeKind[Any]) -> None:
        kinds.ALL = (*kinds.ALL, kind)

    try:
        yield add
    finally:
        kinds.ALL = saved


SLACK_TOKEN = "xoxb-tests"


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    """Slack's Web API as the bot sees it (a test module may override it with its own people)."""
    with SlackStandIn(bot_token=SLACK_TOKEN) as standin:
        yield standin


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlRequestStore]:
    async with await SqlRequestStore.open(f"sqlite:///{tmp_path / 'hubkeeper.db'}") as opened:
        yield opened


MakeContext = Callable[..., HandlerContext]


@pytest.fixture
def make_context(hub: HubClient, store: SqlRequestStore, slack: SlackStandIn) -> MakeContext:
    """The one way tests get a handler context: whole, as the bot builds it, on real parts (the
    emulator's demo org, the SQL store, the bot's own messenger and directory on the Slack stand-in).
    Keyword arguments replace any field (another hub, the instance, a request id…)."""
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)

    def make(actor: str = "U0ALICE01", **fields: Any) -> HandlerContext:
        values: dict[str, Any] = {
            "hub": hub,
            "instance": "acme",
            "actor": actor,
            "instances": ("acme",),
            "messenger": SlackMessenger(client),
            "directory": SlackDirectory(client),
            "store": store,
            "access_index": SqlAccessIndexStore(store.engine),
            "onboardings": SqlOnboardingStore(store.engine),
        }
        values.update(fields)
        return HandlerContext(**values)

    return make

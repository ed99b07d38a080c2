"""429s: wait what Retry-After says, hold to the window's reset only when nothing is left in it, never
queue requests behind one that sleeps, and tell whoever waits more than 3 s why."""

from __future__ import annotations

import asyncio
import time

import pytest

from hub.client import HubClient
from hub.emulator import EmulatorConfig, EmulatorState
from hub.throttling import announcing_waits

MEMBERS = "/v2/orgs/acme/members"
GROUPS = "/v2/orgs/acme/groups"
# A roomy per-minute window, as Docker Hub has: every answer says its reset is up to a minute away.
ROOMY = EmulatorConfig(rate_limit_per_minute=1000, rate_limit_window_seconds=60)


def statuses(state: EmulatorState, path: str = MEMBERS) -> list[int | None]:
    return [r.status for r in state.requests if r.path == path]


@pytest.mark.parametrize("emulator_config", [ROOMY])
async def test_a_429_waits_its_retry_after_not_the_window_reset(hub: HubClient, emulator_state: EmulatorState) -> None:
    await hub.check_token()
    emulator_state.rate_limit_next(1, retry_after=1, path=MEMBERS)
    started = time.monotonic()
    assert len(await hub.list_members_page(page_size=2)) == 2
    elapsed = time.monotonic() - started
    assert 0.95 <= elapsed < 30  # Retry-After: 1, while the window's reset is about a minute away
    assert statuses(emulator_state) == [429, 200]


@pytest.mark.parametrize("emulator_config", [ROOMY])
async def test_other_requests_are_held_only_for_the_retry_after(hub: HubClient, emulator_state: EmulatorState) -> None:
    await hub.check_token()
    emulator_state.rate_limit_next(1, retry_after=1, path=MEMBERS)
    started = time.monotonic()
    members, teams = await asyncio.gather(hub.list_members_page(), hub.list_groups_page())
    assert members and teams
    assert time.monotonic() - started < 30  # not held to the reset, a minute away
    assert statuses(emulator_state, GROUPS) == [200]


@pytest.mark.parametrize("emulator_config", [EmulatorConfig(rate_limit_per_minute=3, rate_limit_window_seconds=3)])
async def test_a_429_with_nothing_left_in_the_window_holds_to_its_reset(
    hub: HubClient, emulator_state: EmulatorState
) -> None:
    await hub.check_token()  # 1 of 3
    await hub.list_members_page()  # 2 of 3
    emulator_state.rate_limit_next(1, retry_after=1, path=MEMBERS)  # 3 of 3: X-RateLimit-Remaining: 0
    await hub.list_members_page()
    await hub.list_members_page()
    # Held to the reset, so the window's own limit never answered 429.
    assert statuses(emulator_state) == [200, 429, 200, 200]


async def test_a_long_wait_is_announced_once_as_it_begins(hub: HubClient, emulator_state: EmulatorState) -> None:
    await hub.check_token()
    emulator_state.rate_limit_next(1, retry_after=4, path=MEMBERS)
    heard: list[tuple[float, str, float]] = []
    started = time.monotonic()
    with announcing_waits(lambda seconds, reason: heard.append((seconds, reason, time.monotonic() - started))):
        await hub.list_members_page()
    assert [(round(s), reason) for s, reason, _ in heard] == [(4, "Docker Hub asked us to wait 4 s")]
    assert heard[0][2] < 3.0  # told as the 4 s wait began, not after it


async def test_short_waits_are_not_announced(hub: HubClient, emulator_state: EmulatorState) -> None:
    await hub.check_token()
    emulator_state.rate_limit_next(1, retry_after=1, path=MEMBERS)
    heard: list[str] = []
    with announcing_waits(lambda seconds, reason: heard.append(reason)):
        await hub.list_members_page()
    assert heard == []


async def test_each_waiting_request_hears_of_its_wait_at_once(hub: HubClient, emulator_state: EmulatorState) -> None:
    """Nobody sleeps while holding the throttle's lock: a second request held by the first one's 429
    is told of its wait when it starts waiting, not after the first one's wait is over."""
    await hub.check_token()
    emulator_state.rate_limit_next(1, retry_after=5, path=MEMBERS)
    started = time.monotonic()
    heard: dict[str, list[tuple[str, float]]] = {"first": [], "second": []}

    async def lookup(who: str, after: float) -> None:
        await asyncio.sleep(after)
        with announcing_waits(lambda seconds, reason: heard[who].append((reason, time.monotonic() - started))):
            await hub.list_groups_page() if who == "second" else await hub.list_members_page()

    await asyncio.gather(lookup("first", 0), lookup("second", 0.5))
    assert [reason for reason, _ in heard["first"]] == ["Docker Hub asked us to wait 5 s"]
    assert len(heard["second"]) == 1
    reason, when = heard["second"][0]
    assert reason.startswith("Docker Hub asked us to wait")
    assert when < 4.0  # told while the first one still waits (until about 5 s)
    assert statuses(emulator_state, GROUPS) == [200]

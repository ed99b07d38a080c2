"""The scan gate on its own: one scan per instance at a time, a cooldown per person after each."""

from __future__ import annotations

import asyncio

import pytest

from handlers.context import Reply
from handlers.scans import ScanGate


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_one_scan_per_instance_and_the_second_asker_is_told_at_once() -> None:
    gate = ScanGate(60, clock=Clock())
    release, started = asyncio.Event(), asyncio.Event()

    async def slow() -> Reply:
        started.set()
        await release.wait()
        return Reply("done")

    first = asyncio.create_task(gate.run("acme", "U1", "review", slow))
    await started.wait()
    refused = await gate.run("acme", "U2", "digest", slow)
    assert "already running for `acme` (`/hub review`)" in refused.text and "try again in a moment" in refused.text
    # Another instance is not held up.
    assert (await gate.run("globex", "U2", "review", lambda: _answer("other"))).text == "other"
    release.set()
    assert (await first).text == "done"
    assert gate.running("acme") is None


async def test_a_cooldown_per_person_and_instance_starting_when_the_scan_ends() -> None:
    clock = Clock()
    gate = ScanGate(90, clock=clock)
    assert (await gate.run("acme", "U1", "review", lambda: _answer("one"))).text == "one"
    clock.now += 30
    waited = await gate.run("acme", "U1", "digest", lambda: _answer("two"))
    assert "please wait 60 seconds" in waited.text
    # Someone else, or the same person on another instance, may scan now.
    assert (await gate.run("acme", "U2", "review", lambda: _answer("three"))).text == "three"
    assert (await gate.run("globex", "U1", "review", lambda: _answer("four"))).text == "four"
    clock.now += 60
    assert (await gate.run("acme", "U1", "digest", lambda: _answer("five"))).text == "five"


async def test_a_failed_scan_still_starts_the_cooldown_and_frees_the_instance() -> None:
    gate = ScanGate(60, clock=Clock())

    async def broken() -> Reply:
        raise RuntimeError("Docker Hub went away")

    with pytest.raises(RuntimeError):
        await gate.run("acme", "U1", "review", broken)
    assert gate.running("acme") is None
    assert gate.cooldown_left("acme", "U1") == 60
    assert ScanGate(0).cooldown_left("acme", "U1") == 0


async def _answer(text: str) -> Reply:
    return Reply(text)


async def test_a_scan_without_cooldown_takes_its_turn_but_starts_none() -> None:
    gate = ScanGate(60, clock=Clock())
    for _ in range(3):
        assert (await gate.run("acme", "U1", "whois", lambda: _answer("found"), cooldown=False)).text == "found"
    assert gate.cooldown_left("acme", "U1") == 0


async def test_the_scheduled_digest_waits_for_its_turn_and_holds_it() -> None:
    gate = ScanGate(60, clock=Clock())
    release, started = asyncio.Event(), asyncio.Event()

    async def review() -> Reply:
        started.set()
        await release.wait()
        return Reply("reviewed")

    first = asyncio.create_task(gate.run("acme", "U1", "review", review))
    await started.wait()
    order: list[str] = []

    async def scheduled() -> None:
        async with gate.waiting_turn("acme", "the scheduled digest"):
            order.append("digest")
            refused = await gate.run("acme", "U2", "review", lambda: _answer("no"))
            order.append(refused.text)

    waiting = asyncio.create_task(scheduled())
    await asyncio.sleep(0)
    assert order == []  # still waiting for the review to end
    release.set()
    await asyncio.gather(first, waiting)
    assert order[0] == "digest" and "(the scheduled digest)" in order[1]

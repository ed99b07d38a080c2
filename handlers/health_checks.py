"""The health checks: can hubkeeper exchange its token and read the org?

Three checks that together show hubkeeper can work: exchange the OAT, list one org member, list
one team (plus the PAT exchange when a PAT is configured). Each runs whatever the others did, so a
person sees every problem at once.

No Slack rendering here (that is `handlers.health`): `hubkeeper check` and the bot's start-up run
these, and `check` starts faster for not loading the Block Kit builders and the command grammar.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hub.errors import HubError

if TYPE_CHECKING:
    from hub.auth import ExchangeCheck
    from hub.client import HubClient


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


async def _check(name: str, run: Callable[[], Awaitable[str]]) -> CheckResult:
    try:
        return CheckResult(name, True, await run())
    except HubError as error:
        return CheckResult(name, False, error.message)


def _when(check: ExchangeCheck) -> str:
    # Exchanges are limited to one a minute (anyone may ask for a health check): say when this one was.
    if check.fresh:
        return ""
    return f" (checked {check.age:.0f} s ago; next exchange in {check.next_check_in:.0f} s)"


async def run_health_checks(hub: HubClient) -> list[CheckResult]:
    async def exchange() -> str:
        return f"organization access token accepted for {hub.org}" + _when(await hub.check_token())

    async def one_member() -> str:
        members = await hub.list_members_page(page_size=1)
        return f"read {len(members)} member" + ("" if len(members) == 1 else "s")

    async def one_team() -> str:
        teams = await hub.list_groups_page(page_size=1)
        return f"read {len(teams)} team" + ("" if len(teams) == 1 else "s")

    async def pat_exchange() -> str:
        return "personal access token accepted (used for repository permissions)" + _when(await hub.check_pat_token())

    results = [
        await _check("exchange the OAT", exchange),
        await _check("list one org member", one_member),
        await _check("list one team", one_team),
    ]
    if hub.pat_auth is not None:
        results.append(await _check("exchange the PAT", pat_exchange))
    return results

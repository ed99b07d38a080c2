"""The observer seam: what the client reports about each request, and the non-forcing token check."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from hub import paths
from hub.client import HubClient
from hub.emulator import EmulatorConfig, EmulatorServer, EmulatorState
from hub.errors import AuthenticationFailed, HubUnavailable
from hub.observe import ExchangeOutcome
from tests.conftest import FAST_RETRIES, demo_connection


@dataclass
class Recorded:
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    exchanges: list[ExchangeOutcome] = field(default_factory=list)
    remaining: list[int] = field(default_factory=list)
    waited: float = 0.0

    def on_request(self, method: str, route: str, status: str, seconds: float) -> None:
        self.requests.append((method, route, status))
        self.seconds.append(seconds)

    def on_token_exchange(self, outcome: ExchangeOutcome) -> None:
        self.exchanges.append(outcome)

    def on_rate_limit(self, remaining: int) -> None:
        self.remaining.append(remaining)

    def on_wait(self, seconds: float) -> None:
        self.waited += seconds


@pytest.mark.parametrize(
    ("path", "template"),
    [
        (paths.AUTH_TOKEN, "/v2/auth/token"),
        (paths.INVITES_BULK, "/v2/invites/bulk"),
        (paths.org_members("acme"), "/v2/orgs/{org}/members"),
        (paths.org_member("acme", "erinpatel"), "/v2/orgs/{org}/members/{username}"),
        (paths.org_groups("acme"), "/v2/orgs/{org}/groups"),
        (paths.org_group("acme", "backend"), "/v2/orgs/{org}/groups/{group_name}"),
        (paths.org_group_members("acme", "backend"), "/v2/orgs/{org}/groups/{group_name}/members"),
        (
            paths.org_group_member("acme", "backend", "erinpatel"),
            "/v2/orgs/{org}/groups/{group_name}/members/{username}",
        ),
        (paths.org_invites("acme"), "/v2/orgs/{org}/invites"),
        (paths.invite("8b1d2f3e-1111-2222-3333-444455556666"), "/v2/invites/{id}"),
        (paths.invite_resend("8b1d2f3e-1111-2222-3333-444455556666"), "/v2/invites/{id}/resend"),
        (paths.namespace_repositories("acme"), "/v2/namespaces/{namespace}/repositories"),
        (paths.namespace_repository("acme", "api"), "/v2/namespaces/{namespace}/repositories/{repository}"),
        (paths.repository_groups("acme", "api"), "/v2/repositories/{namespace}/{repository}/groups"),
        (paths.repository_group("acme", "api", 1001), "/v2/repositories/{namespace}/{repository}/groups/{group_id}"),
        ("/v2/users/erinpatel", "other"),
        ("/v2/orgs/acme/members/erinpatel/extra", "other"),
    ],
)
def test_every_built_path_maps_to_its_template(path: str, template: str) -> None:
    assert paths.route(path) == template


def test_every_template_is_listed_once() -> None:
    assert len(set(paths.ROUTES)) == len(paths.ROUTES)


async def test_requests_are_reported_by_template_with_their_status(emulator: EmulatorServer) -> None:
    recorded = Recorded()
    async with HubClient(demo_connection(emulator.base_url), retry_policy=FAST_RETRIES, observer=recorded) as hub:
        await hub.list_members_page()
        await hub.update_member_role("erinpatel", "editor")
        with pytest.raises(Exception, match="not a member"):
            await hub.remove_member("nobody-here")
    assert recorded.requests == [
        ("POST", "/v2/auth/token", "200"),
        ("GET", "/v2/orgs/{org}/members", "200"),
        ("PUT", "/v2/orgs/{org}/members/{username}", "200"),
        ("DELETE", "/v2/orgs/{org}/members/{username}", "404"),
    ]
    assert recorded.exchanges == ["success"]
    assert all(seconds >= 0 for seconds in recorded.seconds)
    assert "erinpatel" not in repr(recorded)


async def test_an_unreachable_hub_is_reported_as_error() -> None:
    recorded = Recorded()
    async with HubClient(demo_connection("http://127.0.0.1:9"), retry_policy=FAST_RETRIES, observer=recorded) as hub:
        with pytest.raises(HubUnavailable):
            await hub.list_members_page()
    assert recorded.requests == [("POST", "/v2/auth/token", "error")]
    assert recorded.exchanges == ["error"]


async def test_a_refused_exchange_is_reported_as_refused(emulator: EmulatorServer) -> None:
    recorded = Recorded()
    connection = demo_connection(emulator.base_url, oat="dckr_oat_wrong")
    async with HubClient(connection, retry_policy=FAST_RETRIES, observer=recorded) as hub:
        with pytest.raises(AuthenticationFailed):
            await hub.ensure_token()
    assert recorded.exchanges == ["refused"]


@pytest.mark.parametrize("emulator_config", [EmulatorConfig(rate_limit_per_minute=3)])
async def test_rate_limit_headers_and_waits_are_reported(
    emulator: EmulatorServer, emulator_state: EmulatorState
) -> None:
    emulator_state.set_rate_limit(3, 1.0)
    recorded = Recorded()
    async with HubClient(demo_connection(emulator.base_url), retry_policy=FAST_RETRIES, observer=recorded) as hub:
        for _ in range(5):
            await hub.list_members_page()
    # What Docker Hub says is left, as it says it: down to nothing, then a wait for the next window.
    assert len(recorded.remaining) == 6
    assert 0 in recorded.remaining
    assert 0 < recorded.waited < 5


async def test_ensure_token_uses_the_cache_and_exchanges_only_once_it_expires(
    emulator: EmulatorServer, emulator_state: EmulatorState
) -> None:
    emulator_state.config.token_ttl_seconds = 1.0
    recorded = Recorded()
    async with HubClient(demo_connection(emulator.base_url), retry_policy=FAST_RETRIES, observer=recorded) as hub:
        await hub.ensure_token()
        await hub.ensure_token()
        assert emulator_state.token_exchanges == 1
        await hub.list_members_page()  # the cached token serves a request too
        assert emulator_state.token_exchanges == 1
        emulator_state.config.token_ttl_seconds = 600.0
        await asyncio.sleep(2.2)  # `exp` is rounded up to the whole second
        await hub.ensure_token()
        assert emulator_state.token_exchanges == 2
    assert [route for _, route, _ in recorded.requests].count("/v2/auth/token") == 2
    # Nothing but exchanges and the one real request went out.
    assert [request.path for request in emulator_state.requests].count("/v2/orgs/acme/members") == 1


async def test_ensure_token_when_unreachable_raises_hub_unavailable() -> None:
    async with HubClient(demo_connection("http://127.0.0.1:9"), retry_policy=FAST_RETRIES) as hub:
        with pytest.raises(HubUnavailable, match="could not reach Docker Hub"):
            await hub.ensure_token()

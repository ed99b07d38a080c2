from __future__ import annotations

import httpx

from hub.emulator import DEMO, EmulatorState


async def test_trailing_slash_is_an_html_404(
    client: httpx.AsyncClient, oat: dict[str, str], state: EmulatorState
) -> None:
    paths = [
        f"/v2/orgs/{DEMO.org}/members/",
        f"/v2/orgs/{DEMO.org}/groups/",
        f"/v2/orgs/{DEMO.org}/groups/backend/",
        f"/v2/orgs/{DEMO.org}/groups/backend/members/",
        f"/v2/orgs/{DEMO.org}/invites/",
        f"/v2/namespaces/{DEMO.org}/repositories/",
    ]
    state.clear_requests()
    for path in paths:
        response = await client.get(path, headers=oat)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html")
        assert "Page not found" in response.text
    post = await client.post("/v2/auth/token/", json={"identifier": DEMO.org, "secret": DEMO.oat})
    assert post.status_code == 404
    assert post.headers["content-type"].startswith("text/html")
    # The recorder keeps the path exactly as sent, slash included.
    assert [r.path for r in state.requests[: len(paths)]] == paths


async def test_unknown_paths_are_html_404(client: httpx.AsyncClient, oat: dict[str, str]) -> None:
    for path in ("/v2/nothing-here", "/", f"/v2/orgs/{DEMO.org}"):
        response = await client.get(path, headers=oat)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")


async def test_wrong_method_is_405(client: httpx.AsyncClient, oat: dict[str, str]) -> None:
    response = await client.post(f"/v2/orgs/{DEMO.org}/members", headers=oat, json={})
    assert response.status_code == 405


async def test_requests_are_recorded(client: httpx.AsyncClient, state: EmulatorState, oat: dict[str, str]) -> None:
    state.clear_requests()
    await client.get(f"/v2/orgs/{DEMO.org}/members", headers=oat, params={"page_size": 5})
    await client.get(f"/v2/orgs/{DEMO.org}/members")
    first, second = state.requests
    assert (first.method, first.path, first.query, first.status, first.token_kind) == (
        "GET",
        f"/v2/orgs/{DEMO.org}/members",
        "page_size=5",
        200,
        "oat",
    )
    assert (second.status, second.token_kind) == (401, None)
    assert second.time >= first.time

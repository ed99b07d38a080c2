"""A DELETE that Docker Hub applied but whose answer was lost is retried, meets 404, and is then
done once a read confirms the desired state; a 404 that a read does not explain still stands."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from hub.client import HubClient
from hub.emulator import EmulatorState
from hub.errors import NotFound

Delete = Callable[[HubClient], Awaitable[object]]
Check = Callable[[EmulatorState], bool]


def _invite_id(state: EmulatorState, invitee: str) -> str:
    return next(i.id for i in state.org("acme").invites.values() if i.invitee == invitee)


CASES: list[tuple[str, str, Callable[[EmulatorState], Delete], Check]] = [
    (
        "remove member",
        "/v2/orgs/acme/members/umarkhan",
        lambda state: lambda hub: hub.remove_member("umarkhan"),
        lambda state: "umarkhan" not in state.org("acme").members,
    ),
    (
        "remove team member",
        "/v2/orgs/acme/groups/backend/members/ivanpetrov",
        lambda state: lambda hub: hub.remove_group_member("backend", "ivanpetrov"),
        lambda state: "ivanpetrov" not in state.org("acme").groups["backend"].members,
    ),
    (
        "cancel invite",
        "/v2/invites/*",
        lambda state: (lambda invite: lambda hub: hub.cancel_invite(invite))(_invite_id(state, "ravisharma")),
        lambda state: all(i.invitee != "ravisharma" for i in state.org("acme").invites.values()),
    ),
    (
        "delete team",
        "/v2/orgs/acme/groups/data",
        lambda state: lambda hub: hub.delete_group("data"),
        lambda state: "data" not in state.org("acme").groups,
    ),
    (
        "revoke team access",
        "/v2/repositories/acme/web/groups/*",
        lambda state: lambda hub: hub.revoke_team_access("frontend", "web"),
        lambda state: state.org("acme").groups["frontend"].id not in state.org("acme").repositories["web"].grants,
    ),
]


@pytest.mark.parametrize(("path", "make", "applied"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_a_delete_applied_before_its_connection_dropped_is_done(
    hub: HubClient, emulator_state: EmulatorState, path: str, make: Callable[[EmulatorState], Delete], applied: Check
) -> None:
    delete = make(emulator_state)
    emulator_state.drop_after_next(1, method="DELETE", path=path)
    result = await delete(hub)
    assert applied(emulator_state)
    deletes = [r.status for r in emulator_state.requests if r.method == "DELETE"]
    assert deletes == [None, 404]  # applied with the answer lost, then the retry found nothing to delete
    if result is not None:
        assert result is True  # revoke_team_access: it had a grant, and it is gone


async def test_a_plain_404_is_reported_without_a_confirming_read(
    hub: HubClient, emulator_state: EmulatorState
) -> None:
    with pytest.raises(NotFound, match="is not in team"):
        await hub.remove_group_member("backend", "kenjisato")
    reads = [r for r in emulator_state.requests if r.method == "GET"]
    assert reads == []


async def test_a_retried_404_the_read_does_not_confirm_stands(hub: HubClient, emulator_state: EmulatorState) -> None:
    path = "/v2/orgs/acme/groups/backend/members/ivanpetrov"
    # The first attempt is lost before Docker Hub sees it, the retry is answered 404 (say, by a proxy):
    # the member is still in the team, so the removal is not done.
    emulator_state.drop_next(1, method="DELETE", path=path)
    emulator_state.fail_next(1, status=404, method="DELETE", path=path, detail="not found")
    with pytest.raises(NotFound):
        await hub.remove_group_member("backend", "ivanpetrov")
    assert "ivanpetrov" in emulator_state.org("acme").groups["backend"].members
    assert any(r.method == "GET" and r.path.endswith("/groups/backend/members") for r in emulator_state.requests)


async def test_a_retried_404_for_a_missing_team_stands(hub: HubClient, emulator_state: EmulatorState) -> None:
    emulator_state.drop_next(1, method="DELETE")
    with pytest.raises(NotFound, match="nosuchteam"):
        await hub.remove_group_member("nosuchteam", "ivanpetrov")

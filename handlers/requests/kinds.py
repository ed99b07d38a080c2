"""Every change kind hubkeeper knows, in the order `/hub help` lists them: adding a kind is one line here.

No side-effect imports and no registration calls: this tuple is the registry. Lookups by stored name
(a request's `kind`) and by command words (`team add`) read it.
"""

from __future__ import annotations

from typing import Any

from handlers.changes.access_request import AccessRequest
from handlers.changes.grant import Grant
from handlers.changes.invite import InviteChange
from handlers.changes.invite_cancel import InviteCancel
from handlers.changes.member_remove import MemberRemove
from handlers.changes.offboard import Offboard
from handlers.changes.onboard import Onboard, OnboardCancel
from handlers.changes.policy_apply import PolicyApply
from handlers.changes.revoke import Revoke
from handlers.changes.role import RoleChange
from handlers.changes.team_add import TeamAdd
from handlers.changes.team_create import TeamCreate
from handlers.changes.team_delete import TeamDelete
from handlers.changes.team_remove import TeamRemove
from handlers.changes.team_update import TeamUpdate
from handlers.requests.kind import ChangeKind

Kind = ChangeKind[Any]

ALL: tuple[Kind, ...] = (
    TeamCreate(),
    TeamUpdate(),
    TeamDelete(),
    TeamAdd(),
    TeamRemove(),
    RoleChange(),
    MemberRemove(),
    InviteChange(),
    InviteCancel(),
    Grant(),
    Revoke(),
    AccessRequest(),
    Offboard(),
    Onboard(),
    OnboardCancel(),
    PolicyApply(),
)


def by_name(name: str) -> Kind | None:
    """The kind a stored request names."""
    return next((kind for kind in ALL if kind.name == name), None)


def by_command(words: str) -> Kind | None:
    """The kind typed as `words` after `/hub` (lowercase, e.g. "team add")."""
    return next((kind for kind in ALL if kind.command == words), None)


def named(name: str) -> Kind:
    """A kind that must exist (a caller's own constant): KeyError otherwise."""
    kind = by_name(name)
    if kind is None:
        raise KeyError(name)
    return kind

"""What an audit-log event is about: its action without the group, its subject, whether it matters.

Docker Hub's action ids may come with their group (`org.team.create`, as the spec's
`repo.tag.push` suggests) or without (`team.create`): both are the same action here. The subject is
in `name` for team-member events (the username) and in `data` for the other org events, whose
`name` is the org.
"""

from __future__ import annotations

import hashlib
import json

from handlers.teams import OWNERS_TEAM
from hub.models import AuditLog

GROUP = "org"
MEMBER_ACTIONS = frozenset({"member.add", "member.remove", "member.role.change"})
INVITE_ACTIONS = frozenset({"member.invite.send"})
TEAM_ACTIONS = frozenset({"team.create", "team.update", "team.delete", "team.member.add", "team.member.remove"})
WATCHED = MEMBER_ACTIONS | INVITE_ACTIONS | TEAM_ACTIONS
"""The member, invite and team events the feed posts."""
TEAM_MEMBER_ACTIONS = frozenset({"team.member.add", "team.member.remove"})
SUBJECT_KEYS = ("username", "member", "user", "invitee", "email", "team", "team_name", "previous_name")


def canonical(action: str) -> str:
    """`org.team.create` and `team.create` → `team.create`."""
    return action.removeprefix(f"{GROUP}.")


def is_watched(event: AuditLog) -> bool:
    return canonical(event.action) in WATCHED


def subjects(event: AuditLog) -> frozenset[str]:
    """Who or what the event is about, lowercased: the username of a team-member event, else `data`'s."""
    action = canonical(event.action)
    data = event.data or {}
    found = {event.name} if action in TEAM_MEMBER_ACTIONS and event.name else set()
    found.update(str(data[key]) for key in SUBJECT_KEYS if data.get(key))
    if not found and event.name:
        found.add(event.name)
    return frozenset(value.lower() for value in found)


def team_of(event: AuditLog) -> str | None:
    data = event.data or {}
    return data.get("team") or data.get("team_name")


def is_highlighted(event: AuditLog) -> bool:
    """It makes someone an owner, or removes someone (from the org or a team)."""
    action = canonical(event.action)
    data = event.data or {}
    if action in ("member.remove", "team.member.remove"):
        return True
    if action in ("member.role.change", "member.add", "member.invite.send"):
        return str(data.get("role", "")).lower() == "owner"
    return action == "team.member.add" and (team_of(event) or "").lower() == OWNERS_TEAM


def event_key(event: AuditLog) -> str:
    """A stable identity: the same event read twice (another page, another replica) has the same key.

    Docker Hub gives events no id, so the key is a digest of everything it says about one.
    """
    stamp = event.timestamp.isoformat() if event.timestamp is not None else ""
    identity = [canonical(event.action), event.name or "", event.actor or "", stamp, sorted((event.data or {}).items())]
    return hashlib.sha256(json.dumps(identity, ensure_ascii=False).encode()).hexdigest()

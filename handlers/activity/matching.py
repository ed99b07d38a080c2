"""Which audit-log events hubkeeper made itself: same action and subject as one of its executed
changes, within a few minutes. The actor of an OAT-made change is not documented, so it is not used.

hubkeeper's changes are its executed requests (kind, params, result) and the audit lines of the
changes made without a request of their own (a policy applied from the CLI, a time-bound grant
ending).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from handlers.activity.events import TEAM_MEMBER_ACTIONS, canonical, subjects, team_of
from hub.models import AuditLog

MATCH_WINDOW = timedelta(minutes=5)

# A policy change's action (handlers/policy_diff.py) → the audit-log action it makes.
_POLICY_ACTIONS = {
    "create_team": "team.create",
    "update_team": "team.update",
    "add_member": "team.member.add",
    "remove_member": "team.member.remove",
}


@dataclass(frozen=True)
class ExecutedChange:
    """Something hubkeeper did to Docker Hub, as the store remembers it."""

    kind: str
    """A request kind (`team_add`, `role`, …) or an audit event (`policy.change`, `grant.expired`)."""
    at: datetime
    """When it ran (a request's last transition; an audit line's time)."""
    params: Mapping[str, Any]
    result: Mapping[str, Any] | None = None
    request_id: str | None = None


def _text(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) and value else None


def _pairs(action: str, *values: Any) -> set[tuple[str, str]]:
    return {(action, text) for value in values if (text := _text(value)) is not None}


def _list(values: Mapping[str, Any], key: str) -> list[Any]:
    """A bulk change's subjects (team add, team remove and invite take several)."""
    found = values.get(key)
    return list(found) if isinstance(found, list) else []


def expected_events(change: ExecutedChange) -> set[tuple[str, str]]:
    """(action, subject) pairs the change shows up as in Docker Hub's audit log."""
    p, r = change.params, change.result or {}
    match change.kind:
        case "team_create":
            return _pairs("team.create", p.get("name"), r.get("team"))
        case "team_update":
            return _pairs("team.update", p.get("name"), p.get("new_name"), r.get("team"), r.get("previous_name"))
        case "team_delete":
            return _pairs("team.delete", p.get("name"), r.get("team"))
        case "team_add":
            return _pairs(
                "team.member.add", p.get("member"), p.get("username"), r.get("username"), *_list(p, "members")
            )
        case "team_remove" | "grant.expired":
            return _pairs("team.member.remove", p.get("username"), r.get("username"), *_list(p, "usernames"))
        case "role":
            return _pairs("member.role.change", p.get("username"), r.get("username"))
        case "member_remove":
            return _pairs("member.remove", p.get("username"), r.get("username"))
        case "offboard":
            username = p.get("username") or r.get("username")
            return _pairs("member.remove", username) | _pairs("team.member.remove", username)
        case "invite":
            return _pairs("member.invite.send", p.get("invitee"), r.get("invitee"), *_list(p, "invitees"))
        case "access_request":
            return _pairs("team.member.add", p.get("username"), r.get("username")) | _pairs(
                "team.create", r.get("team") if r.get("created") else None
            )
        case "policy.change":
            return _policy_pairs([p])
        case "policy_apply":
            applied = r.get("applied")
            return _policy_pairs(applied if isinstance(applied, list) else [])
    return set()


def _policy_pairs(changes: Iterable[Any]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for change in changes:
        if not isinstance(change, Mapping):
            continue
        action = _POLICY_ACTIONS.get(str(change.get("action")))
        if action is None:
            continue
        subject = change.get("username") if action.startswith("team.member.") else change.get("team")
        found |= _pairs(action, subject)
    return found


def own_change(
    event: AuditLog, changes: Sequence[ExecutedChange], window: timedelta = MATCH_WINDOW
) -> ExecutedChange | None:
    """The executed change that made `event`, or None when hubkeeper did not make it."""
    when = event.timestamp
    if when is None:
        return None
    action, about = canonical(event.action), subjects(event)
    for change in sorted(changes, key=lambda c: abs(c.at - when)):
        if abs(change.at - when) > window or not _same_team(event, change):
            continue
        if any(expected_action == action and subject in about for expected_action, subject in expected_events(change)):
            return change
    return None


def _same_team(event: AuditLog, change: ExecutedChange) -> bool:
    """A team-member event and a single-team change must name the same team (when both name one):
    adding someone to `data` in the web UI right after hubkeeper added them to `backend` is news."""
    if canonical(event.action) not in TEAM_MEMBER_ACTIONS or change.kind in ("policy.change", "policy_apply"):
        return True
    theirs = team_of(event)
    ours = _text(change.params.get("team")) or _text((change.result or {}).get("team"))
    return theirs is None or ours is None or theirs.lower() == ours

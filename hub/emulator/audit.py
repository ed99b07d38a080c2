"""The org's audit log: one `AuditLog` event (the spec's schema) for every change the emulator applies.

Action ids are stored with their group, `org.team.create`, as the spec's own example
(`repo.tag.push`) shows them; the `action` filter takes either spelling. `name` is the org for org
events and the username for team-member events, whose team is in `data`; the other org events
name their subject in `data`. Listing is newest first; the envelope `{logs: [...]}` has no count,
so a page shorter than `page_size` is the last.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .errors import bad_request
from .models import AuditEvent, Org
from .paging import PageRequest

GROUP = "org"

# Action (without its group) → (label, description), as GET /v2/auditlogs/{account}/actions lists them.
ORG_ACTIONS: dict[str, tuple[str, str]] = {
    "create": ("Organization Created", "Activities related to the creation of a new organization"),
    "member.add": ("Organization Member Added", "Details of the member added to your organization"),
    "member.remove": ("Organization Member Removed", "Details about the member removed from your organization"),
    "member.role.change": ("Member Role Changed", "Details about the role changed for a member in your organization"),
    "member.invite.send": ("Org Member Invited", "Details of the member invited to your organization"),
    "team.create": ("Organization Created", "Activities related to the creation of a team"),
    "team.update": ("Organization Deleted", "Activities related to the modification of a team"),
    "team.delete": ("Organization Deleted", "Activities related to the deletion of a team"),
    "team.member.add": ("Team Member Added", "Details of the member added to your team"),
    "team.member.remove": ("Team Member Removed", "Details of the member removed from your team"),
}
REPO_ACTIONS: dict[str, tuple[str, str]] = {
    "create": ("Repository Created", "Activities related to the creation of a new repository"),
    "update": ("Repository Updated", "Activities related to the modification of a repository"),
    "delete": ("Repository Deleted", "Activities related to the deletion of a repository"),
    "tag.push": ("Tag Pushed", "Activities related to the tags pushed"),
    "tag.delete": ("Tag Deleted", "Activities related to the tags deleted"),
}


def record(
    org: Org,
    action: str,
    actor: str | None,
    description: str,
    *,
    name: str | None = None,
    data: Mapping[str, str] | None = None,
    when: datetime | None = None,
) -> None:
    """Append one event; `actor` None means the change is not one Docker Hub would log (seeding)."""
    if actor is None:
        return
    org.audit.append(
        AuditEvent(
            action=action if "." in action and action.split(".", 1)[0] in ("org", "repo") else f"{GROUP}.{action}",
            name=name or org.name,
            actor=actor,
            data=dict(data or {}),
            timestamp=when or datetime.now(UTC),
            description=description,
        )
    )


def _time(query: Mapping[str, str], key: str) -> datetime | None:
    raw = query.get(key)
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"{key} must be a date-time such as 2026-01-31T09:30:00Z") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _action_matches(wanted: str, action: str) -> bool:
    return action == wanted or action == f"{GROUP}.{wanted}"


def list_events(org: Org, query: Mapping[str, str], page: PageRequest) -> dict[str, Any]:
    action, name, actor = query.get("action") or None, query.get("name") or None, query.get("actor") or None
    start, end = _time(query, "from"), _time(query, "to")
    found = [
        event
        for event in reversed(org.audit)
        if (action is None or _action_matches(action, event.action))
        and (name is None or event.name == name)
        and (actor is None or event.actor == actor)
        and (start is None or event.timestamp >= start)
        and (end is None or event.timestamp <= end)
    ]
    found.sort(key=lambda event: event.timestamp, reverse=True)
    first = (page.page - 1) * page.page_size
    return {"logs": [view(org, event) for event in found[first : first + page.page_size]]}


def view(org: Org, event: AuditEvent) -> dict[str, Any]:
    return {
        "account": org.name,
        "action": event.action,
        "name": event.name,
        "actor": event.actor,
        "data": dict(event.data),
        "timestamp": event.timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "action_description": event.description,
    }


def list_actions() -> dict[str, Any]:
    def group(label: str, actions: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
        return {
            "label": label,
            "actions": [
                {"name": name, "description": description, "label": action_label}
                for name, (action_label, description) in actions.items()
            ],
        }

    return {"actions": {"org": group("Organization", ORG_ACTIONS), "repo": group("Repository", REPO_ACTIONS)}}

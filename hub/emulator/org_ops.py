"""Members, teams and invites of one org. Callers hold the state lock and have checked access."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from . import audit, views
from .errors import bad_request, conflict, not_found
from .models import OWNERS_TEAM, ROLES, Group, Invite, Member, Org, Role
from .paging import PageRequest, paginate

# Docker's Terraform provider's validator for team names; Docker Hub's own rule is not published.
TEAM_NAME = re.compile(r"^[a-zA-Z0-9_-]{3,30}$")
DOCKER_ID = re.compile(r"^[a-z0-9]{4,30}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MEMBER_TYPES = ("all", "invitee", "member")


def parse_role(value: Any) -> Role:
    for role in ROLES:
        if value == role:
            return role
    raise bad_request(f"role must be one of {', '.join(ROLES)}")


def _matches(needle: str, *haystack: str) -> bool:
    return any(needle in h.lower() for h in haystack)


def get_member(org: Org, username: str) -> Member:
    member = org.members.get(username)
    if member is None:
        raise not_found(f"user {username} is not a member of the organization")
    return member


def get_group(org: Org, name: str) -> Group:
    group = org.groups.get(name)
    if group is None:
        raise not_found(f"group {name} not found")
    return group


def _owner_count(org: Org) -> int:
    return sum(1 for m in org.members.values() if m.role == "owner")


def _guard_last_owner(org: Org, member: Member) -> None:
    if member.role == "owner" and _owner_count(org) <= 1:
        raise bad_request("cannot remove the last owner of the organization")


# --- members -------------------------------------------------------------------------------------


def list_members(org: Org, query: Mapping[str, str], page: PageRequest) -> dict[str, Any]:
    search = query.get("search", "").lower()
    role_filter = query.get("role") or None
    if role_filter is not None:
        parse_role(role_filter)
    member_type = query.get("type") or None
    if member_type is not None and member_type not in MEMBER_TYPES:
        raise bad_request(f"type must be one of {', '.join(MEMBER_TYPES)}")
    invites_flag = query.get("invites", "").lower()
    if invites_flag not in ("", "true", "false", "1", "0"):
        raise bad_request("invites must be a boolean")
    # An explicit `type` wins over `invites`; `invites=true` alone means members plus invitees.
    if member_type is None:
        member_type = "all" if invites_flag in ("true", "1") else "member"

    members: Sequence[Member] = ()
    if member_type in ("all", "member"):
        members = org.sorted_members()
        if search or role_filter:
            members = [
                m
                for m in members
                if (not role_filter or m.role == role_filter)
                and (not search or _matches(search, m.username, m.full_name, m.email))
            ]
    invitees: list[Invite] = []
    if member_type in ("all", "invitee") and not role_filter:
        pending = sorted(org.invites.values(), key=lambda i: i.created_at)
        invitees = [i for i in pending if not search or _matches(search, i.invitee)]
    # Slicing the cached sorted list keeps a page of a 50,000-member org cheap.
    entries: Sequence[Member | Invite] = [*members, *invitees] if invitees else members

    insights = org.insights_enabled

    def render(entry: Member | Invite) -> dict[str, Any]:
        if isinstance(entry, Member):
            return views.org_member(entry, insights)
        return views.invitee_member(entry, insights)

    return paginate(entries, page, render)


def set_role(org: Org, username: str, role: Role, *, actor: str | None = None) -> dict[str, Any]:
    member = get_member(org, username)
    previous = member.role
    if member.role == "owner" and role != "owner":
        _guard_last_owner(org, member)
    owners = org.groups.get(OWNERS_TEAM)
    if owners is not None:
        if role == "owner":
            _join(member, owners)
        else:
            _leave(member, owners)
    member.role = role
    org.version += 1
    if previous != role:
        audit.record(
            org,
            "member.role.change",
            actor,
            f"changed the role of {username} from {previous} to {role} in the organization {org.name}",
            data={"username": username, "role": role, "previous_role": previous},
        )
    return views.org_member(member, org.insights_enabled)


def remove_member(org: Org, username: str, *, actor: str | None = None) -> None:
    member = get_member(org, username)
    _guard_last_owner(org, member)
    for name in list(member.groups):
        _leave(member, org.groups[name])
    del org.members[username]
    org.version += 1
    audit.record(
        org,
        "member.remove",
        actor,
        f"removed {username} from the organization {org.name}",
        data={"username": username, "role": member.role},
    )


def add_member(org: Org, member: Member, *, actor: str | None = None) -> Member:
    org.members[member.username] = member
    org.version += 1
    if member.role == "owner" and OWNERS_TEAM in org.groups:
        _join(member, org.groups[OWNERS_TEAM])
    audit.record(
        org,
        "member.add",
        actor,
        f"added {member.username} to the organization {org.name} as {member.role}",
        data={"username": member.username, "role": member.role},
    )
    return member


# --- groups --------------------------------------------------------------------------------------


def _join(member: Member, group: Group) -> None:
    if member.username not in group.members:
        group.members[member.username] = None
        member.groups.append(group.name)


def _leave(member: Member, group: Group) -> None:
    if group.members.pop(member.username, 0) is None:
        member.groups.remove(group.name)


def list_groups(org: Org, query: Mapping[str, str], page: PageRequest) -> dict[str, Any]:
    search = query.get("search", "").lower()
    username = query.get("username") or None
    groups = sorted(org.groups.values(), key=lambda g: g.name)
    groups = [
        g for g in groups if (not search or search in g.name.lower()) and (username is None or username in g.members)
    ]
    return paginate(groups, page, views.org_group)


def _check_new_name(org: Org, name: Any, current: Group | None = None) -> str:
    if not isinstance(name, str) or not TEAM_NAME.match(name):
        raise bad_request("team name must be 3-30 letters, digits, underscores or hyphens")
    clash = next((g for g in org.groups.values() if g.name.lower() == name.lower()), None)
    if clash is not None and clash is not current:
        raise conflict(f"a team named {name} already exists")
    return name


def _check_description(description: Any) -> str:
    if not isinstance(description, str):
        raise bad_request("description must be a string")
    return description


def create_group(
    org: Org,
    body: Mapping[str, Any],
    group_id: int,
    group_uuid: str,
    *,
    legacy_name: bool = False,
    actor: str | None = None,
) -> Group:
    """`legacy_name` (seeding only): a team made before today's name rule, such as `qa`, which Docker
    Hub still lists and serves."""
    name = body.get("name") if legacy_name else _check_new_name(org, body.get("name"))
    if not isinstance(name, str) or not name:
        raise bad_request("name is required")
    description = _check_description(body.get("description", ""))
    group = Group(id=group_id, uuid=group_uuid, name=name, description=description)
    org.groups[name] = group
    if name == OWNERS_TEAM:
        for member in org.members.values():
            if member.role == "owner":
                _join(member, group)
    audit.record(org, "team.create", actor, f"created the team {name}", data={"team": name})
    return group


def update_group(
    org: Org, group_name: str, body: Mapping[str, Any], *, replace: bool, actor: str | None = None
) -> dict[str, Any]:
    group = get_group(org, group_name)
    previous_name, previous_description = group.name, group.description
    if replace and "name" not in body:
        raise bad_request("name is required")
    if "description" in body or replace:
        description = _check_description(body.get("description", ""))
    else:
        description = group.description
    if "name" in body and body["name"] != group.name:
        new_name = _check_new_name(org, body["name"], current=group)
        if group.name == OWNERS_TEAM:
            raise bad_request("the owners team cannot be renamed")
        del org.groups[group.name]
        for username in group.members:
            groups = org.members[username].groups
            groups[groups.index(group.name)] = new_name
        group.name = new_name
        org.groups[new_name] = group
        org.version += 1
    group.description = description
    if (group.name, group.description) != (previous_name, previous_description):
        renamed = f" (was {previous_name})" if group.name != previous_name else ""
        audit.record(
            org,
            "team.update",
            actor,
            f"updated the team {group.name}{renamed}",
            data={"team": group.name, "previous_name": previous_name},
        )
    return views.org_group(group)


def delete_group(org: Org, group_name: str, *, actor: str | None = None) -> None:
    group = get_group(org, group_name)
    if group.name == OWNERS_TEAM:
        raise bad_request("the owners team cannot be deleted")
    for username in list(group.members):
        _leave(org.members[username], group)
    del org.groups[group.name]
    for repo in org.repositories.values():
        repo.grants.pop(group.id, None)
    org.version += 1
    audit.record(org, "team.delete", actor, f"deleted the team {group.name}", data={"team": group.name})


def list_group_members(org: Org, group_name: str, query: Mapping[str, str], page: PageRequest) -> dict[str, Any]:
    group = get_group(org, group_name)
    search = query.get("search", "").lower()
    members = sorted((org.members[u] for u in group.members), key=lambda m: m.username)
    if search:
        members = [m for m in members if _matches(search, m.username, m.full_name, m.email)]
    return paginate(members, page, views.group_member)


def add_group_member(org: Org, group_name: str, username: Any, *, actor: str | None = None) -> None:
    group = get_group(org, group_name)
    if not isinstance(username, str) or not username:
        raise bad_request("member is required")
    # Docker Hub does not auto-invite: the integration reference says the add errors.
    member = get_member(org, username)
    if group.name == OWNERS_TEAM:
        member.role = "owner"
    joined = username not in group.members
    _join(member, group)
    org.version += 1
    if joined:
        audit.record(
            org,
            "team.member.add",
            actor,
            f"added {username} to the team {group.name}",
            name=username,
            data={"team": group.name},
        )


def remove_group_member(org: Org, group_name: str, username: str, *, actor: str | None = None) -> None:
    group = get_group(org, group_name)
    member = org.members.get(username)
    if member is None or username not in group.members:
        raise not_found(f"user {username} is not a member of the team {group.name}")
    if group.name == OWNERS_TEAM:
        _guard_last_owner(org, member)
        member.role = "member"
    _leave(member, group)
    org.version += 1
    audit.record(
        org,
        "team.member.remove",
        actor,
        f"removed {username} from the team {group.name}",
        name=username,
        data={"team": group.name},
    )


# --- invites -------------------------------------------------------------------------------------


def list_invites(org: Org) -> dict[str, Any]:
    invites = sorted(org.invites.values(), key=lambda i: i.created_at)
    return {"data": [views.invite(i) for i in invites]}


def _is_existing_member(org: Org, invitee: str) -> bool:
    lowered = invitee.lower()
    if lowered in org.members:
        return True
    return views.is_email(invitee) and any(m.email.lower() == lowered for m in org.members.values())


def bulk_invite(org: Org, body: Mapping[str, Any], inviter: str) -> dict[str, Any]:
    invitees = body.get("invitees")
    if not isinstance(invitees, list) or not invitees or not all(isinstance(i, str) for i in invitees):
        raise bad_request("invitees must be a non-empty list of emails or Docker IDs")
    team = body.get("team") or ""
    if not isinstance(team, str):
        raise bad_request("team must be a string")
    if team:
        get_group(org, team)
    role = parse_role(body.get("role") or "member")
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise bad_request("dry_run must be a boolean")

    results: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    for raw in invitees:
        invitee = raw.strip()
        if not (DOCKER_ID.match(invitee) or EMAIL.match(invitee)):
            results.append({"invitee": raw, "status": "invalid_email_or_docker_id"})
            continue
        if _is_existing_member(org, invitee):
            results.append({"invitee": invitee, "status": "existing_org_member"})
            continue
        # Re-inviting a pending invitee is idempotent: the existing invite is returned unchanged.
        existing = next((i for i in org.invites.values() if i.invitee.lower() == invitee.lower()), None)
        if existing is not None:
            results.append({"invitee": invitee, "status": "invited", "invite": views.invite(existing)})
            continue
        if dry_run:
            results.append({"invitee": invitee, "status": "invited"})
            continue
        invite = Invite(
            id=str(uuid.uuid4()),
            inviter_username=inviter,
            invitee=invitee,
            org=org.name,
            team=team,
            role=role,
            created_at=now,
        )
        org.invites[invite.id] = invite
        audit.record(
            org,
            "member.invite.send",
            inviter,
            f"invited {invitee} to the organization {org.name}" + (f" (team {team})" if team else ""),
            data={"invitee": invitee, "role": role, "team": team},
        )
        results.append({"invitee": invitee, "status": "invited", "invite": views.invite(invite)})
    return {"invitees": results}


def accept_invite(org: Org, invitee: str, username: str, *, email: str | None = None) -> Member:
    """The invitee accepts (in Docker Hub's web UI): they join as `username` with the invite's role and
    team, and the invite is gone from the pending list. `invitee` is the invite's id, email or Docker ID."""
    wanted = invitee.strip().lower()
    invite = next(
        (i for i in org.invites.values() if i.id.lower() == wanted or i.invitee.lower() == wanted),
        None,
    )
    if invite is None:
        raise not_found(f"no pending invite for {invitee}")
    if not DOCKER_ID.match(username):
        raise bad_request("username must be a Docker ID (4-30 lowercase letters and digits)")
    if username in org.members:
        raise conflict(f"user {username} is already a member of the organization")
    address = email or (invite.invitee if views.is_email(invite.invitee) else f"{username}@{org.name}.example")
    member = Member(
        username=username,
        id=uuid.uuid4().hex,
        full_name="",
        email=address,
        role=invite.role,
        date_joined=datetime.now(UTC),
    )
    del org.invites[invite.id]
    # Docker Hub's audit log shows an accepted invite as the invitee joining the org.
    add_member(org, member, actor=username)
    if invite.team and invite.team in org.groups:
        add_group_member(org, invite.team, username, actor=username)
    return member

"""JSON shapes of the spec's schemas (`org_member`, `org_group`, `invite`, …) built from the models."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from .models import Group, Invite, Member, Permission, Repository


def iso(dt: datetime | None) -> str | None:
    return None if dt is None else _iso(dt)


@lru_cache(maxsize=262_144)
def _iso(dt: datetime) -> str:
    # Docker Hub's own format: microseconds and a literal Z. Cached because strftime was most of the
    # cost of a members page, and that cost serialises concurrent requests in the one-thread emulator.
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def is_email(invitee: str) -> bool:
    return "@" in invitee


def _user(
    member_id: str, username: str, full_name: str, company: str, location: str, joined: datetime
) -> dict[str, Any]:
    return {
        "id": member_id,
        "company": company,
        "date_joined": iso(joined),
        "full_name": full_name,
        "gravatar_email": "",
        "gravatar_url": "",
        "location": location,
        "profile_url": f"https://hub.docker.com/u/{username}" if username else "",
        "type": "User",
        "username": username,
    }


def org_member(m: Member, insights: bool) -> dict[str, Any]:
    body = _user(m.id, m.username, m.full_name, m.company, m.location, m.date_joined)
    body.update(
        email=m.email,
        role=m.role.capitalize(),
        groups=list(m.groups),
        is_guest=m.is_guest,
        primary_email=m.email,
    )
    if insights:
        body.update(
            last_logged_in_at=iso(m.last_logged_in_at),
            last_seen_at=iso(m.last_seen_at),
            last_desktop_version=m.last_desktop_version,
        )
    return body


def invitee_member(inv: Invite, insights: bool) -> dict[str, Any]:
    """A pending invite as it appears in the members list (`role: Invitee`)."""
    email = inv.invitee if is_email(inv.invitee) else ""
    username = "" if email else inv.invitee
    body = _user(inv.id.replace("-", ""), username, "", "", "", inv.created_at)
    body.update(
        email=email,
        role="Invitee",
        groups=[inv.team] if inv.team else [],
        is_guest=False,
        primary_email=email,
    )
    if insights:
        body.update(last_logged_in_at=None, last_seen_at=None, last_desktop_version=None)
    return body


def group_member(m: Member) -> dict[str, Any]:
    body = _user(m.id, m.username, m.full_name, m.company, m.location, m.date_joined)
    body["email"] = m.email
    return body


def org_group(g: Group) -> dict[str, Any]:
    return {
        "id": g.id,
        "uuid": g.uuid,
        "name": g.name,
        "description": g.description,
        "member_count": len(g.members),
    }


def invite(inv: Invite) -> dict[str, Any]:
    return {
        "id": inv.id,
        "inviter_username": inv.inviter_username,
        "invitee": inv.invitee,
        "org": inv.org,
        "team": inv.team,
        "role": inv.role,
        "created_at": iso(inv.created_at),
    }


def repository_list_entry(r: Repository) -> dict[str, Any]:
    return {
        "name": r.name,
        "namespace": r.namespace,
        "repository_type": "image",
        "status": 1,
        "status_description": "active",
        "description": r.description,
        "is_private": r.is_private,
        "star_count": r.star_count,
        "pull_count": r.pull_count,
        "last_updated": iso(r.last_updated),
        "last_modified": iso(r.last_updated),
        "date_registered": iso(r.date_registered),
        "affiliation": "",
        "media_types": ["application/vnd.oci.image.index.v1+json"],
        "content_types": ["image"],
        "categories": [],
        "storage_size": r.storage_size,
    }


def repository_info(r: Repository, permissions: dict[str, bool]) -> dict[str, Any]:
    return {
        "user": r.namespace,
        "name": r.name,
        "namespace": r.namespace,
        "repository_type": "image",
        "status": 1,
        "status_description": "active",
        "description": r.description,
        "is_private": r.is_private,
        "is_automated": False,
        "star_count": r.star_count,
        "pull_count": r.pull_count,
        "last_updated": iso(r.last_updated),
        "last_modified": iso(r.last_updated),
        "date_registered": iso(r.date_registered),
        "collaborator_count": 0,
        "affiliation": None,
        "hub_user": r.namespace,
        "has_starred": False,
        "full_description": "",
        "permissions": permissions,
        "media_types": ["application/vnd.oci.image.index.v1+json"],
        "content_types": ["image"],
        "categories": [],
        "immutable_tags_settings": {"enabled": False, "rules": []},
        "storage_size": r.storage_size,
        "source": None,
    }


def repository_group(g: Group, permission: Permission) -> dict[str, Any]:
    return {"group_name": g.name, "permission": permission, "group_id": g.id}

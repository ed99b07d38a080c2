"""Repositories of an org namespace and their team grants. Callers hold the state lock."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import views
from .errors import HubError, bad_request, not_found
from .models import PERMISSIONS, Group, Org, Permission, Repository
from .paging import PageRequest, paginate

ORDERINGS = ("name", "-name", "last_updated", "-last_updated", "pull_count", "-pull_count")


def get_repository(org: Org, name: str) -> Repository:
    repo = org.repositories.get(name)
    if repo is None:
        raise not_found(f"repository {org.name}/{name} not found")
    return repo


def list_repositories(org: Org, query: Mapping[str, str], page: PageRequest) -> dict[str, Any]:
    ordering = query.get("ordering") or "name"
    if ordering not in ORDERINGS:
        text = "Invalid ordering value"
        raise HubError(
            400,
            "bad request",
            text,
            body={"fields": {"ordering": [f"{text}. Must be one of: {', '.join(ORDERINGS)}"]}, "text": text},
        )
    name = query.get("name", "").lower()
    repos = [r for r in org.repositories.values() if name in r.name.lower()]
    field = ordering.lstrip("-")
    repos.sort(key=lambda r: (getattr(r, field), r.name), reverse=ordering.startswith("-"))
    return paginate(repos, page, views.repository_list_entry)


def repository_info(org: Org, name: str, permissions: dict[str, bool]) -> dict[str, Any]:
    return views.repository_info(get_repository(org, name), permissions)


def parse_permission(value: Any) -> Permission:
    for permission in PERMISSIONS:
        if value == permission:
            return permission
    raise bad_request(f"permission must be one of {', '.join(PERMISSIONS)}")


def _group(org: Org, group_id: int) -> Group:
    group = org.group_by_id(group_id)
    if group is None:
        raise not_found(f"group {group_id} not found")
    return group


def grant(org: Org, repo_name: str, body: Mapping[str, Any]) -> dict[str, Any]:
    group_id = body.get("group_id")
    # bool is an int subclass; `true` is not a group id.
    if not isinstance(group_id, int) or isinstance(group_id, bool):
        raise bad_request("group_id must be an integer")
    permission = parse_permission(body.get("permission"))
    repo = get_repository(org, repo_name)
    group = _group(org, group_id)
    # A second grant for the same team replaces the permission, as Docker Hub's UI does.
    repo.grants[group.id] = permission
    return views.repository_group(group, permission)


def _existing_grant(org: Org, repo_name: str, group_id: int) -> tuple[Repository, Group]:
    repo = get_repository(org, repo_name)
    group = org.group_by_id(group_id)
    if group is None or group.id not in repo.grants:
        raise not_found(f"no permission for group {group_id} on {org.name}/{repo_name}")
    return repo, group


def get_grant(org: Org, repo_name: str, group_id: int) -> dict[str, Any]:
    repo, group = _existing_grant(org, repo_name, group_id)
    return views.repository_group(group, repo.grants[group.id])


def update_grant(org: Org, repo_name: str, group_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
    repo, group = _existing_grant(org, repo_name, group_id)
    permission = parse_permission(body.get("permission"))
    repo.grants[group.id] = permission
    return views.repository_group(group, permission)


def revoke_grant(org: Org, repo_name: str, group_id: int) -> None:
    repo, group = _existing_grant(org, repo_name, group_id)
    del repo.grants[group.id]

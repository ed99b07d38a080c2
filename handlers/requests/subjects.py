"""What a stored change request is about: the people, teams and repositories it names.

The request log (`/hub log`, `hubkeeper log`) finds a request by these. Each change kind answers for
its own requests (`ChangeKind.subjects`): by default from the parameter names every kind uses
(`params_subjects`), with its own override where its parameters name things otherwise.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

SubjectKind = Literal["name", "email", "repository"]


@dataclass(frozen=True)
class Subject:
    kind: SubjectKind
    value: str
    """Lower case: Docker Hub names, emails and repository references compare without case."""

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Subjects:
    """Who and what a request is about, lower case."""

    users: frozenset[str] = frozenset()
    """Usernames and emails."""
    teams: frozenset[str] = frozenset()
    repositories: frozenset[str] = frozenset()
    """`namespace/repository`, or a policy's pattern such as `acme/*`."""

    def __or__(self, other: Subjects) -> Subjects:
        return Subjects(self.users | other.users, self.teams | other.teams, self.repositories | other.repositories)

    def match(self, subject: Subject) -> bool:
        if subject.kind == "repository":
            return any(
                stored == subject.value or (is_pattern(stored) and fnmatch.fnmatchcase(subject.value, stored))
                for stored in self.repositories
            )
        if subject.kind == "email":
            return subject.value in self.users
        return subject.value in self.users or subject.value in self.teams


USER_KEYS = ("username", "member", "invitee", "who", "removed")
"""Parameters (and result keys) that name one person: a username or an email."""
_USER_LIST_KEYS = ("usernames", "members", "invitees")
_TEAM_KEYS = ("team",)
_TEAM_LIST_KEYS = ("teams",)


def text(value: Any) -> str | None:
    """A stored value as the log compares it (lower case), or None when it is not a non-empty string."""
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


def texts(value: Any) -> list[str]:
    if isinstance(value, str):
        found = text(value)
        return [found] if found else []
    if isinstance(value, list | tuple):
        return [found for item in value if (found := text(item))]
    return []


def params_subjects(params: Mapping[str, Any]) -> Subjects:
    """The parameter names every kind uses for people, teams and repositories."""
    users = [found for key in USER_KEYS if (found := text(params.get(key)))]
    users += [found for key in _USER_LIST_KEYS for found in texts(params.get(key))]
    teams = [found for key in _TEAM_KEYS if (found := text(params.get(key)))]
    teams += [found for key in _TEAM_LIST_KEYS for found in texts(params.get(key))]
    repositories = texts(params.get("repositories"))
    namespace, repository = text(params.get("namespace")), text(params.get("repository"))
    if namespace and repository:
        repositories.append(f"{namespace}/{repository}")
    elif repository and "/" in repository:
        repositories.append(repository)
    return Subjects(frozenset(users), frozenset(teams), frozenset(repositories))


def request_subjects(params: Mapping[str, Any], result: Mapping[str, Any] | None) -> Subjects:
    """What most kinds' requests are about: their parameters, and the person the result names (e.g.
    offboard's `removed`: the account the email resolved to when it ran)."""
    found = params_subjects(params)
    if result:
        found = found | params_subjects({key: result.get(key) for key in USER_KEYS})
    return found


def team_names(params: Mapping[str, Any], *keys: str) -> Subjects:
    """The teams named by `keys`, for kinds about a team itself (its `name`, a rename's `new_name`)."""
    return Subjects(teams=frozenset(found for key in keys if (found := text(params.get(key)))))


def is_pattern(value: str) -> bool:
    return "*" in value or "?" in value

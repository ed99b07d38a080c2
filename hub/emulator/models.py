"""The org data the emulator keeps: plain dataclasses that tests can read directly."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Role = Literal["owner", "editor", "member"]
Permission = Literal["read", "write", "admin"]
TokenKind = Literal["oat", "pat"]

ROLES: tuple[Role, ...] = ("owner", "editor", "member")
PERMISSIONS: tuple[Permission, ...] = ("read", "write", "admin")
OWNERS_TEAM = "owners"


@dataclass(slots=True)
class Member:
    username: str
    id: str
    full_name: str
    email: str
    role: Role
    date_joined: datetime
    company: str = ""
    location: str = ""
    is_guest: bool = False
    last_logged_in_at: datetime | None = None
    last_seen_at: datetime | None = None
    last_desktop_version: str | None = None
    # Team names, kept in step with Group.members by EmulatorState.
    groups: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Group:
    id: int
    uuid: str
    name: str
    description: str
    # An insertion-ordered set of usernames.
    members: dict[str, None] = field(default_factory=dict)


@dataclass(slots=True)
class Invite:
    id: str
    inviter_username: str
    invitee: str
    org: str
    team: str
    role: Role
    created_at: datetime


@dataclass(slots=True)
class Repository:
    name: str
    namespace: str
    is_private: bool
    description: str
    date_registered: datetime
    last_updated: datetime
    star_count: int = 0
    pull_count: int = 0
    storage_size: int = 0
    # group id → permission
    grants: dict[int, Permission] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audit-log entry; `action` with its group, e.g. `org.team.member.add`."""

    action: str
    name: str
    actor: str
    data: dict[str, str]
    timestamp: datetime
    description: str


@dataclass
class Org:
    name: str
    insights_enabled: bool = False
    members: dict[str, Member] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    invites: dict[str, Invite] = field(default_factory=dict)
    repositories: dict[str, Repository] = field(default_factory=dict)
    # Oldest first; served newest first.
    audit: list[AuditEvent] = field(default_factory=list)
    # Bumped on every membership change so the sorted member list can be cached between changes.
    version: int = 0
    sorted_cache: tuple[int, list[Member]] | None = None

    @property
    def grants(self) -> dict[tuple[str, str], Permission]:
        """(repository name, team name) → permission, for assertions in tests."""
        names = {g.id: g.name for g in self.groups.values()}
        return {
            (repo.name, names[gid]): perm
            for repo in self.repositories.values()
            for gid, perm in repo.grants.items()
            if gid in names
        }

    def group_by_id(self, group_id: int) -> Group | None:
        return next((g for g in self.groups.values() if g.id == group_id), None)

    def sorted_members(self) -> list[Member]:
        if self.sorted_cache is None or self.sorted_cache[0] != self.version:
            self.sorted_cache = (self.version, sorted(self.members.values(), key=lambda m: m.username))
        return self.sorted_cache[1]


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    status: int | None  # None when the connection was dropped on purpose
    token_kind: TokenKind | None
    time: float  # time.monotonic()

"""Response and request models, named after the spec's schemas.

Docker Hub adds fields without notice, so unknown fields are kept rather than refused, and dates
that do not parse become None rather than failing a whole listing.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidatorFunctionWrapHandler, WrapValidator


def _lenient_datetime(value: Any, handler: ValidatorFunctionWrapHandler) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        result: datetime | None = handler(value)
    except ValueError:
        return None
    return result


LenientDatetime = Annotated[datetime | None, WrapValidator(_lenient_datetime)]


class HubModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)


class Role(StrEnum):
    """Roles as requests send them (lowercase); responses capitalise them."""

    OWNER = "owner"
    EDITOR = "editor"
    MEMBER = "member"


class Permission(StrEnum):
    """A team's permission on a repository (read: pull; write: also push; admin: also settings)."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


class AuthCreateTokenResponse(HubModel):
    access_token: str = Field(repr=False)


class User(HubModel):
    id: str | None = None
    username: str
    full_name: str | None = None
    company: str | None = None
    location: str | None = None
    type: str | None = None
    date_joined: LenientDatetime = None


INSIGHTS_FIELDS = frozenset({"last_logged_in_at", "last_seen_at", "last_desktop_version"})


class OrgMember(User):
    email: str | None = None
    role: str = "Member"
    groups: list[str] = Field(default_factory=list)
    is_guest: bool = False
    last_logged_in_at: LenientDatetime = None
    last_seen_at: LenientDatetime = None
    last_desktop_version: str | None = None

    @property
    def role_key(self) -> str:
        """The role as requests spell it: `owner`, `editor`, `member` or `invitee`."""
        return self.role.lower()

    @property
    def is_invitee(self) -> bool:
        return self.role_key == "invitee"

    @property
    def has_insights(self) -> bool:
        """Whether Docker Hub sent the Insights fields at all (only orgs with Insights enabled get them).

        Absent fields mean "activity unknown"; present but null means "never seen".
        """
        return bool(INSIGHTS_FIELDS & self.model_fields_set)


class GroupMember(User):
    email: str | None = None


class OrgGroup(HubModel):
    id: int
    uuid: str | None = None
    name: str
    description: str | None = ""
    member_count: int | None = None


class Invite(HubModel):
    id: str
    inviter_username: str | None = None
    invitee: str
    org: str | None = None
    team: str | None = None
    role: str | None = None
    created_at: LenientDatetime = None


class BulkInviteResult(HubModel):
    """One invitee's outcome: `invited`, `existing_org_member`, `invalid_email_or_docker_id`, …"""

    invitee: str
    status: str
    invite: Invite | None = None


class Category(HubModel):
    name: str
    slug: str | None = None


class RepositoryListEntry(HubModel):
    name: str
    namespace: str
    repository_type: str | None = None
    status_description: str | None = None
    description: str | None = None
    is_private: bool = False
    star_count: int | None = None
    pull_count: int | None = None
    last_updated: LenientDatetime = None
    date_registered: LenientDatetime = None


class RepoPermissions(HubModel):
    read: bool = False
    write: bool = False
    admin: bool = False


class RepositoryInfo(RepositoryListEntry):
    permissions: RepoPermissions | None = None


class RepositoryGroup(HubModel):
    """A team's permission on one repository."""

    group_id: int
    group_name: str | None = None
    permission: str


T = TypeVar("T")


class Page(HubModel, Generic[T]):
    """`{count, next, previous, results}`; `count` and `next` are hints, not trusted for paging."""

    count: int | None = None
    next: str | None = None
    previous: str | None = None
    results: list[T] = Field(default_factory=list)


class AuditLog(HubModel):
    """One audit-log event. `name` is the repository for repository events, the org for org events
    and the username for team-member events; the other org events carry their subject in `data`."""

    account: str | None = None
    action: str = ""
    name: str | None = None
    actor: str | None = None
    data: dict[str, str] | None = None
    timestamp: LenientDatetime = None
    action_description: str | None = None


class GetAuditLogsResponse(HubModel):
    logs: list[AuditLog] = Field(default_factory=list)


class AuditLogAction(HubModel):
    name: str
    description: str | None = None
    label: str | None = None


class AuditLogActions(HubModel):
    actions: list[AuditLogAction] = Field(default_factory=list)
    label: str | None = None


class GetAuditActionsResponse(HubModel):
    actions: dict[str, AuditLogActions] = Field(default_factory=dict)

"""Checks several change kinds make before planning and again before executing.

Each raises ChangeRefused with what to do instead; none of them writes to Docker Hub.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handlers import blocks as bk
from handlers.context import HandlerContext
from handlers.requests.kind import ChangeRefused
from handlers.teams import OWNERS_TEAM
from hub.errors import NotFound
from hub.models import GroupMember, OrgGroup, OrgMember, RepositoryGroup

CHANGE_DESCRIPTION = 500
"""How much of a description an approval message repeats."""


def is_owners_team(name: str | None) -> bool:
    # Docker Hub treats team names that differ only in case as the same team.
    return name is not None and name.lower() == OWNERS_TEAM


def team_ref(name: str) -> str:
    return f"*{bk.escape(name)}*"


def description_line(label: str, description: str) -> str:
    shown = bk.escape(bk.clip(description, CHANGE_DESCRIPTION)) if description else "_none_"
    return f"{label}: {shown}"


NO_ACCESS = "none"
"""What a plan saw as a team's permission on a repository when it had none."""


def refuse_if_moved(what: str, seen: str | None, now: str) -> None:
    """Execute does what the approval message said, from where it said: `seen` (None: stored before
    plans kept it) must still be `now`, or the change would differ from the one approved."""
    if seen is not None and seen != now:
        raise ChangeRefused(
            f"{what} is now {bk.escape(now)}; the approval was for a change from {bk.escape(seen)}. "
            "Nothing was changed; ask again."
        )


def a_role(role: str) -> str:
    return f"an {role}" if role[:1] in "aeiou" else f"a {role}"


async def existing_team(ctx: HandlerContext, name: str) -> OrgGroup:
    """The team, or a refusal saying it does not exist (a precondition, not a Docker Hub failure)."""
    try:
        return await ctx.hub.get_group(name)
    except NotFound:
        raise ChangeRefused(
            f"There is no team {team_ref(name)} in *{bk.escape(ctx.instance)}*; `/hub teams` lists them."
        ) from None


async def planned_team(ctx: HandlerContext, name: str, team_id: int | None) -> OrgGroup:
    """The team a plan named, checked to be the same team still (`team_id`: its id when planned; None for
    requests stored before ids were kept). A team renamed away and another made under its name is
    another team: changing it would change what nobody approved."""
    group = await existing_team(ctx, name)
    if team_id is not None and group.id != team_id:
        raise ChangeRefused(
            f"Team {team_ref(group.name)} is not the team this was approved for: that one was renamed or deleted "
            "since, and another team now has its name. Nothing was changed; ask again."
        )
    return group


async def refuse_if_taken(ctx: HandlerContext, name: str, *, renaming: OrgGroup | None = None) -> None:
    """Refuse a team name another team has already, up to case (Docker Hub treats those as the same)."""
    candidates = await ctx.hub.list_groups(search=name)
    clash = next(
        (
            group
            for group in candidates
            if group.name.lower() == name.lower() and (renaming is None or group.id != renaming.id)
        ),
        None,
    )
    if clash is not None:
        raise ChangeRefused(f"There is already a team {team_ref(clash.name)} in *{bk.escape(ctx.instance)}*.")


def refuse_owners_team(group: OrgGroup, what: str) -> None:
    # Docker Hub's owners team *is* the set of org owners: it cannot be renamed or deleted.
    if is_owners_team(group.name):
        raise ChangeRefused(f"The {team_ref(OWNERS_TEAM)} team cannot be {what}; it holds the org's owners.")


async def member_of_team(ctx: HandlerContext, team: str, username: str) -> GroupMember | None:
    # `search` narrows the listing; the exact username decides.
    found = await ctx.hub.list_group_members(team, search=username)
    return next((member for member in found if member.username.lower() == username.lower()), None)


async def org_member(ctx: HandlerContext, username: str) -> OrgMember:
    member = await ctx.hub.find_member(username)
    if member is None:
        raise ChangeRefused(
            f"{bk.code(username)} is not a member of *{bk.escape(ctx.instance)}*; "
            "`/hub whois` shows whether they have a pending invite."
        )
    return member


async def refuse_last_owner(ctx: HandlerContext, username: str, what: str) -> None:
    """Docker Hub refuses to leave an org without owners (400): say so before anyone approves, and again
    before executing. `username` must be an owner; `what` completes "so cannot …"."""
    owners = await ctx.hub.list_members(role="owner")
    if not any(owner.username.lower() != username.lower() for owner in owners):
        raise ChangeRefused(
            f"*{bk.escape(username)}* is the only owner of *{bk.escape(ctx.instance)}*, so cannot {what}: Docker Hub "
            f"never lets the last owner of *{bk.escape(ctx.instance)}* go. Make someone else an owner first. "
            "Nothing was changed."
        )


@dataclass(frozen=True)
class RepositoryAccess:
    """A team and an org repository, both known to exist, and the team's grant on it now."""

    team: OrgGroup
    namespace: str
    repository: str
    current: RepositoryGroup | None

    @property
    def ref(self) -> str:
        return f"*{bk.escape(self.namespace)}/{bk.escape(self.repository)}*"

    def result(self) -> dict[str, Any]:
        return {
            "team": self.team.name,
            "team_id": self.team.id,
            "namespace": self.namespace,
            "repository": self.repository,
        }


async def repository_access(
    ctx: HandlerContext, team: str, namespace: str, repository: str, *, team_id: int | None = None
) -> RepositoryAccess:
    """Check that the repository (the org's own) and the team exist, and read the team's grant on it.

    A team's permission on a repository is read with `get_team_access` (404 = no grant); the client
    sends repository calls over the PAT connection when one is configured, so nothing here cares.
    """
    ref = f"*{bk.escape(namespace)}/{bk.escape(repository)}*"
    if namespace != ctx.hub.org:
        # Teams belong to the org; they can be given its repositories only.
        raise ChangeRefused(
            f"Teams of *{bk.escape(ctx.hub.org)}* can only be given access to repositories in "
            f"*{bk.escape(ctx.hub.org)}*, not {ref}."
        )
    try:
        await ctx.hub.get_repository(repository, namespace)
    except NotFound:
        raise ChangeRefused(f"There is no repository {ref}.") from None
    group = await planned_team(ctx, team, team_id)
    current = await ctx.hub.get_team_access(group, repository, namespace)
    return RepositoryAccess(group, namespace, repository, current)

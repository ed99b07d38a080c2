"""Repository access for teams: the `grant` and `revoke` change kinds.

A team's permission on a repository is read with `get_team_access` (404 = no grant) and changed with
`grant_team_access` (a second grant replaces the permission) or `revoke_team_access`. The client
sends these over the PAT connection when one is configured (API-NOTES §18), so nothing here cares.
Grants are between an org's teams and the org's own repositories: another namespace is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from handlers import blocks as bk
from handlers import commands
from handlers.context import HandlerContext
from handlers.requests.kind import ChangeRefused, Outcome, Plan, register
from handlers.teams import existing_team, param, team_ref
from hub import paths
from hub.errors import NotFound
from hub.models import OrgGroup, RepositoryGroup

PERMISSION_MEANS = {
    "read": "read: view and pull",
    "write": "write: view, pull and push",
    "admin": "admin: view, pull, push and manage the repository's settings",
}


@dataclass(frozen=True)
class Target:
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


async def _target(ctx: HandlerContext, params: Mapping[str, Any]) -> Target:
    """Check the parameters and that the repository and the team exist; read the current grant."""
    team = param(params, "team", paths.team)
    namespace = param(params, "namespace", paths.namespace)
    repository = param(params, "repository", paths.repository)
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
    group = await existing_team(ctx, team)
    current = await ctx.hub.get_team_access(group, repository, namespace)
    return Target(group, namespace, repository, current)


def _permission_of(grant: RepositoryGroup) -> str:
    return bk.escape(grant.permission.lower())


class Grant:
    name = "grant"

    async def _check(self, ctx: HandlerContext, params: Mapping[str, Any]) -> tuple[Target, str]:
        level = param(params, "permission", commands.permission)
        target = await _target(ctx, params)
        if target.current is not None and target.current.permission.lower() == level:
            raise ChangeRefused(f"Team {team_ref(target.team.name)} already has {level} access to {target.ref}.")
        return target, level

    async def plan(self, ctx: HandlerContext, params: Mapping[str, Any]) -> Plan:
        target, level = await self._check(ctx, params)
        team = team_ref(target.team.name)
        if target.current is None:
            summary = f"Give team {team} {level} access to {target.ref}"
        else:
            summary = f"Change {team} on {target.ref} from {_permission_of(target.current)} to {level}"
        return Plan(
            summary=summary,
            params={
                "team": target.team.name,
                "namespace": target.namespace,
                "repository": target.repository,
                "permission": level,
            },
            details=[f"Everyone in {team} gets {PERMISSION_MEANS[level]}."],
        )

    async def execute(self, ctx: HandlerContext, params: Mapping[str, Any]) -> Outcome:
        target, level = await self._check(ctx, params)
        granted = await ctx.hub.grant_team_access(target.team, target.repository, level, target.namespace)
        previous = target.current.permission.lower() if target.current is not None else None
        return Outcome(
            f"Team {team_ref(target.team.name)} now has {_permission_of(granted)} access to {target.ref}",
            {**target.result(), "permission": granted.permission.lower(), "previous": previous},
        )


class Revoke:
    name = "revoke"

    async def _check(self, ctx: HandlerContext, params: Mapping[str, Any]) -> tuple[Target, RepositoryGroup]:
        target = await _target(ctx, params)
        if target.current is None:
            raise ChangeRefused(f"Team {team_ref(target.team.name)} has no access to {target.ref}; nothing to revoke.")
        return target, target.current

    async def plan(self, ctx: HandlerContext, params: Mapping[str, Any]) -> Plan:
        target, current = await self._check(ctx, params)
        team = team_ref(target.team.name)
        return Plan(
            summary=f"Remove team {team}'s {_permission_of(current)} access to {target.ref}",
            params={"team": target.team.name, "namespace": target.namespace, "repository": target.repository},
            destructive=True,
            details=[f"Members of {team} keep only what their other teams or roles give them."],
        )

    async def execute(self, ctx: HandlerContext, params: Mapping[str, Any]) -> Outcome:
        target, current = await self._check(ctx, params)
        if not await ctx.hub.revoke_team_access(target.team, target.repository, target.namespace):
            # Gone between the read and the delete: someone else revoked it.
            raise ChangeRefused(f"Team {team_ref(target.team.name)} no longer had access to {target.ref}.")
        return Outcome(
            f"Removed team {team_ref(target.team.name)}'s access to {target.ref}",
            {**target.result(), "previous": current.permission.lower()},
        )


register(Grant())
register(Revoke())

"""`/hub grant <team> <namespace/repo> <read|write|admin>`: give a team access to one of the org's repositories.

A second grant replaces the team's permission on the repository.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers import blocks as bk
from handlers.changes.fields import Namespace, Repository, Team, TeamPermission
from handlers.changes.preconditions import NO_ACCESS, RepositoryAccess, refuse_if_moved, repository_access, team_ref
from handlers.context import HandlerContext
from handlers.grammar import permission, positional, reject_unknown_options
from handlers.requests.kind import ChangeKind, ChangeRefused, Outcome, Params, Plan
from hub import paths

PERMISSION_MEANS = {
    "read": "read: view and pull",
    "write": "write: view, pull and push",
    "admin": "admin: view, pull, push and manage the repository's settings",
}


class GrantParams(Params):
    team: Team
    namespace: Namespace
    repository: Repository
    permission: TeamPermission
    team_id: int | None = None
    """The team's id when planned (None: stored before ids were kept)."""
    previous: str | None = None
    """The permission the plan saw (`none` for no access): execute changes it only from there."""


class Grant(ChangeKind[GrantParams]):
    name = "grant"
    command = "grant"
    usage = "grant <team> <namespace/repo> <read|write|admin>"
    description = "Give a team access to a repository"
    examples = ("/hub grant data acme/api read",)
    params_model = GrantParams

    def parse(self, args: list[str]) -> GrantParams:
        reject_unknown_options(self.syntax, args)
        team, ref, level = positional(self.syntax, args, 3, "a team, a namespace/repository and read, write or admin")
        namespace, repository = paths.parse_repository_ref(ref)
        return GrantParams(
            team=paths.team(team), namespace=namespace, repository=repository, permission=permission(level)
        )

    def reverse(self, params: GrantParams, outcome: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
        # A new grant is revoked; a changed one goes back to the permission it replaced.
        where = {"team": outcome["team"], "namespace": outcome["namespace"], "repository": outcome["repository"]}
        previous = outcome["previous"]
        if previous is None:
            return "revoke", where
        return "grant", {**where, "permission": previous}

    async def _check(self, ctx: HandlerContext, params: GrantParams) -> RepositoryAccess:
        target = await repository_access(ctx, params.team, params.namespace, params.repository, team_id=params.team_id)
        if target.current is not None and target.current.permission.lower() == params.permission:
            raise ChangeRefused(
                f"Team {team_ref(target.team.name)} already has {params.permission} access to {target.ref}."
            )
        return target

    async def plan(self, ctx: HandlerContext, params: GrantParams) -> Plan:
        target = await self._check(ctx, params)
        level = params.permission
        team = team_ref(target.team.name)
        if target.current is None:
            summary = f"Give team {team} {level} access to {target.ref}"
        else:
            summary = f"Change {team} on {target.ref} from {bk.escape(target.current.permission.lower())} to {level}"
        return Plan(
            summary=summary,
            params=GrantParams(
                team=target.team.name,
                namespace=target.namespace,
                repository=target.repository,
                permission=level,
                team_id=target.team.id,
                previous=target.current.permission.lower() if target.current is not None else NO_ACCESS,
            ),
            details=[f"Everyone in {team} gets {PERMISSION_MEANS[level]}."],
        )

    async def execute(self, ctx: HandlerContext, params: GrantParams) -> Outcome:
        target = await self._check(ctx, params)
        now = target.current.permission.lower() if target.current is not None else NO_ACCESS
        refuse_if_moved(f"Team {team_ref(target.team.name)}'s access to {target.ref}", params.previous, now)
        granted = await ctx.hub.grant_team_access(target.team, target.repository, params.permission, target.namespace)
        previous = target.current.permission.lower() if target.current is not None else None
        return Outcome(
            f"Team {team_ref(target.team.name)} now has {bk.escape(granted.permission.lower())} access to {target.ref}",
            {**target.result(), "permission": granted.permission.lower(), "previous": previous},
        )

"""`/hub revoke <team> <namespace/repo>`: take a team's repository access away."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers import blocks as bk
from handlers.changes.fields import Namespace, Repository, Team
from handlers.changes.preconditions import RepositoryAccess, refuse_if_moved, repository_access, team_ref
from handlers.context import HandlerContext
from handlers.grammar import positional, reject_unknown_options
from handlers.requests.kind import ChangeKind, ChangeRefused, Outcome, Params, Plan
from hub import paths
from hub.models import RepositoryGroup


class RevokeParams(Params):
    team: Team
    namespace: Namespace
    repository: Repository
    team_id: int | None = None
    """The team's id when planned (None: stored before ids were kept)."""
    previous: str | None = None
    """The permission the plan saw and the approval message named: what execute takes away, and only that."""


class Revoke(ChangeKind[RevokeParams]):
    name = "revoke"
    command = "revoke"
    usage = "revoke <team> <namespace/repo>"
    description = "Take a team's repository access away"
    examples = ("/hub revoke data acme/api",)
    params_model = RevokeParams

    def parse(self, args: list[str]) -> RevokeParams:
        reject_unknown_options(self.syntax, args)
        team, ref = positional(self.syntax, args, 2, "a team and a namespace/repository")
        namespace, repository = paths.parse_repository_ref(ref)
        return RevokeParams(team=paths.team(team), namespace=namespace, repository=repository)

    def destructive(self, params: RevokeParams) -> bool:
        return True

    def reverse(self, params: RevokeParams, outcome: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
        return "grant", {
            "team": outcome["team"],
            "namespace": outcome["namespace"],
            "repository": outcome["repository"],
            "permission": outcome["previous"],
        }

    async def _check(self, ctx: HandlerContext, params: RevokeParams) -> tuple[RepositoryAccess, RepositoryGroup]:
        target = await repository_access(ctx, params.team, params.namespace, params.repository, team_id=params.team_id)
        if target.current is None:
            raise ChangeRefused(f"Team {team_ref(target.team.name)} has no access to {target.ref}; nothing to revoke.")
        return target, target.current

    async def plan(self, ctx: HandlerContext, params: RevokeParams) -> Plan:
        target, current = await self._check(ctx, params)
        team = team_ref(target.team.name)
        return Plan(
            summary=f"Remove team {team}'s {bk.escape(current.permission.lower())} access to {target.ref}",
            params=RevokeParams(
                team=target.team.name,
                namespace=target.namespace,
                repository=target.repository,
                team_id=target.team.id,
                previous=current.permission.lower(),
            ),
            details=[f"Members of {team} keep only what their other teams or roles give them."],
        )

    async def execute(self, ctx: HandlerContext, params: RevokeParams) -> Outcome:
        target, current = await self._check(ctx, params)
        refuse_if_moved(
            f"Team {team_ref(target.team.name)}'s access to {target.ref}", params.previous, current.permission.lower()
        )
        if not await ctx.hub.revoke_team_access(target.team, target.repository, target.namespace):
            # Gone between the read and the delete: someone else revoked it.
            raise ChangeRefused(f"Team {team_ref(target.team.name)} no longer had access to {target.ref}.")
        return Outcome(
            f"Removed team {team_ref(target.team.name)}'s access to {target.ref}",
            {**target.result(), "previous": current.permission.lower()},
        )

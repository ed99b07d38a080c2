"""Reading the org for a policy, applying the changes, and exporting the org as a policy.

Reads take the fewest requests: the members once (each member lists their teams), the teams once,
and one permission read per repository and team in the policy, run concurrently. Applying runs
`concurrency` changes at a time; the client's transport paces them by X-RateLimit-Remaining/Reset
(`hub.throttling`), so a large apply slows down rather than meeting 429s. Teams are created (and
described) first, then members and permissions. A change that fails does not stop the others; the
result says exactly what was and was not done, and a re-run plans only what is left.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import yaml  # type: ignore[import-untyped]

from handlers import concurrently
from handlers.policy.diff import Change, OrgState, compute_changes, recheck
from handlers.policy.model import Policy, fold_repositories, resolve
from handlers.requests.lifecycle import AuditEvent
from hub import paths
from hub.client import HubClient
from hub.errors import HubError
from hub.models import OrgGroup

DEFAULT_CONCURRENCY = 8
T = TypeVar("T")

ChangeDone = Callable[[Change, str | None], Awaitable[None]]
"""Called after each change with None when it was applied, else the reason it was not."""


async def _bounded(concurrency: int, jobs: Iterable[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run the jobs at most `concurrency` at a time; results in the jobs' order."""
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def run(job: Callable[[], Awaitable[T]]) -> T:
        async with semaphore:
            return await job()

    return await concurrently.each(run(job) for job in jobs)


async def list_repository_refs(hub: HubClient, namespaces: Sequence[str]) -> list[str]:
    """`ns/repo` of every repository in `namespaces`: one listing per namespace, read once per plan."""
    listings = await concurrently.each(hub.list_repositories(namespace) for namespace in namespaces)
    return sorted(f"{repo.namespace}/{repo.name}" for listing in listings for repo in listing)


async def read_state(hub: HubClient, policy: Policy, *, concurrency: int = DEFAULT_CONCURRENCY) -> OrgState:
    members, groups, repositories = await concurrently.three(
        hub.list_members(), hub.list_groups(), list_repository_refs(hub, policy.pattern_namespaces)
    )
    state = OrgState(
        teams={group.name: group.description or "" for group in groups},
        team_ids={group.name: group.id for group in groups},
        members={member.username for member in members},
        repositories=repositories,
    )
    for member in members:
        for team in member.groups:
            state.team_members.setdefault(team, set()).add(member.username)
    pairs = [
        (repository, team)
        for repository in sorted(resolve(policy, repositories).repositories)
        for team in policy.all_teams
        if team in state.team_ids
    ]
    state.grants = await read_grants(hub, pairs, state.team_ids, concurrency=concurrency)
    return state


async def read_grants(
    hub: HubClient, pairs: Sequence[tuple[str, str]], team_ids: dict[str, int], *, concurrency: int
) -> dict[tuple[str, str], str]:
    def reader(repository: str, team: str) -> Callable[[], Awaitable[str | None]]:
        namespace, name = paths.parse_repository_ref(repository)
        group = OrgGroup(id=team_ids[team], name=team)

        async def read() -> str | None:
            found = await hub.get_team_access(group, name, namespace)
            return None if found is None else found.permission.lower()

        return read

    found = await _bounded(concurrency, [reader(repository, team) for repository, team in pairs])
    return {pair: permission for pair, permission in zip(pairs, found, strict=True) if permission is not None}


async def plan_policy(
    hub: HubClient, policy: Policy, *, concurrency: int = DEFAULT_CONCURRENCY
) -> tuple[OrgState, list[Change]]:
    """Read the org and diff it against the policy (PolicyError for what cannot be planned)."""
    state = await read_state(hub, policy, concurrency=concurrency)
    return state, compute_changes(policy, state)


@dataclass
class ApplyResult:
    applied: list[Change] = field(default_factory=list)
    failed: list[tuple[Change, str]] = field(default_factory=list)
    skipped: list[tuple[Change, str]] = field(default_factory=list)
    """Not attempted because something it needs failed (its team could not be created)."""
    already: list[tuple[Change, str]] = field(default_factory=list)
    """Planned, and already so when applying (`apply_plan`)."""
    stale: list[tuple[Change, str]] = field(default_factory=list)
    """Planned, but the org is no longer as the plan saw it: not applied (`apply_plan`); plan again."""

    @property
    def ok(self) -> bool:
        """Everything that still applied was applied (stale changes are reported, not failures)."""
        return not self.failed and not self.skipped

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "applied": [change.as_dict() for change in self.applied],
            "failed": [{**change.as_dict(), "error": error} for change, error in self.failed],
            "skipped": [{**change.as_dict(), "error": error} for change, error in self.skipped],
        }
        if self.already:
            found["already"] = [{**change.as_dict(), "reason": why} for change, why in self.already]
        if self.stale:
            found["stale"] = [{**change.as_dict(), "reason": why} for change, why in self.stale]
        return found


async def _apply_one(hub: HubClient, change: Change, team_ids: dict[str, int]) -> None:
    match change.action:
        case "create_team":
            group = await hub.create_group(change.team, change.description or "")
            team_ids[change.team] = group.id
        case "update_team":
            await hub.update_group(change.team, description=change.description or "")
        case "add_member":
            assert change.username is not None
            # The plan checked org membership; no second lookup per member.
            await hub.add_group_member(change.team, change.username, check_membership=False)
        case "remove_member":
            assert change.username is not None
            await hub.remove_group_member(change.team, change.username)
        case "grant" | "change_permission":
            assert change.repository is not None and change.permission is not None
            namespace, name = paths.parse_repository_ref(change.repository)
            group = OrgGroup(id=team_ids[change.team], name=change.team)
            await hub.grant_team_access(group, name, change.permission, namespace)
        case "revoke":
            assert change.repository is not None
            namespace, name = paths.parse_repository_ref(change.repository)
            group = OrgGroup(id=team_ids[change.team], name=change.team)
            await hub.revoke_team_access(group, name, namespace)


async def apply_changes(
    hub: HubClient,
    changes: Sequence[Change],
    team_ids: dict[str, int],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_done: ChangeDone | None = None,
) -> ApplyResult:
    """Apply every change it can; `team_ids` (name → id, from the read) gains the teams created."""
    result = ApplyResult()
    ids = dict(team_ids)

    def job(change: Change) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            error: str | None = None
            if change.action not in ("create_team", "update_team") and change.team not in ids:
                error = f"team {change.team} does not exist (its creation failed)"
                result.skipped.append((change, error))
            else:
                try:
                    await _apply_one(hub, change, ids)
                except HubError as failure:
                    error = failure.message
                    result.failed.append((change, error))
                else:
                    result.applied.append(change)
            if on_done is not None:
                await on_done(change, error)

        return run

    first = [change for change in changes if change.action in ("create_team", "update_team")]
    rest = [change for change in changes if change.action not in ("create_team", "update_team")]
    await _bounded(concurrency, [job(change) for change in first])
    await _bounded(concurrency, [job(change) for change in rest])
    team_ids.update(ids)
    return result


async def export_policy(
    hub: HubClient,
    *,
    instance: str | None = None,
    repositories: Sequence[str] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    fold: bool = False,
) -> dict[str, Any]:
    """The org's teams, their members and, for `repositories` (default: all of the org's), team permissions.

    `fold`: identical grants become patterns (`acme/*`, `acme/api-*`) where that means the same.
    """
    members, groups = await concurrently.both(hub.list_members(), hub.list_groups())
    team_members: dict[str, list[str]] = {group.name: [] for group in groups}
    for member in members:
        for team in member.groups:
            team_members.setdefault(team, []).append(member.username)
    universe: list[str] = []
    if repositories is None:
        repositories = universe = [f"{repo.namespace}/{repo.name}" for repo in await hub.list_repositories()]
    for repository in repositories:
        paths.parse_repository_ref(repository)
    if fold and not universe:
        # A pattern covers repositories that were not asked for too: fold only where all are known.
        universe = await list_repository_refs(hub, sorted({repository.split("/")[0] for repository in repositories}))
    team_ids = {group.name: group.id for group in groups}
    pairs = [(repository, group.name) for repository in sorted(repositories) for group in groups]
    grants = await read_grants(hub, pairs, team_ids, concurrency=concurrency)
    document: dict[str, Any] = {}
    if instance:
        document["instance"] = instance
    document["teams"] = {
        group.name: {"description": group.description or "", "members": sorted(team_members.get(group.name, []))}
        for group in sorted(groups, key=lambda group: group.name)
    }
    by_repository = {
        repository: {team: grants[(repository, team)] for team in sorted(team_ids) if (repository, team) in grants}
        for repository in sorted(repositories)
    }
    document["repositories"] = fold_repositories(by_repository, universe) if fold else by_repository
    return document


def dump_policy(document: dict[str, Any]) -> str:
    text: str = yaml.safe_dump(document, sort_keys=False, default_flow_style=False, allow_unicode=True)
    return text


AUDIT_EVENT = "policy.change"


class AuditLog(Protocol):
    async def append_audit(self, event: AuditEvent) -> None: ...


async def apply_policy(
    hub: HubClient,
    changes: Sequence[Change],
    team_ids: dict[str, int],
    *,
    audit: AuditLog,
    actor: str,
    instance: str,
    source: str,
    request_id: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: ChangeDone | None = None,
) -> ApplyResult:
    """Apply the changes, writing one `policy.change` audit row per change applied, whoever asked.

    There is no applying without an audit log: the CLI and the Slack approval both come through here.
    `progress` hears of every change, applied or not, after its audit row is written.
    """

    async def done(change: Change, error: str | None) -> None:
        if error is None:
            detail = {**change.as_dict(), "summary": change.describe(), "policy": source}
            await audit.append_audit(AuditEvent(AUDIT_EVENT, actor, instance, request_id=request_id, detail=detail))
        if progress is not None:
            await progress(change, error)

    return await apply_changes(hub, changes, team_ids, concurrency=concurrency, on_done=done)


async def read_for_changes(
    hub: HubClient, changes: Sequence[Change], *, concurrency: int = DEFAULT_CONCURRENCY
) -> OrgState:
    """The org as far as planned changes touch it: teams, members, and the grants they name."""
    members, groups = await concurrently.both(hub.list_members(), hub.list_groups())
    state = OrgState(
        teams={group.name: group.description or "" for group in groups},
        team_ids={group.name: group.id for group in groups},
        members={member.username for member in members},
    )
    for member in members:
        for team in member.groups:
            state.team_members.setdefault(team, set()).add(member.username)
    pairs = sorted(
        {(change.repository, change.team) for change in changes if change.repository and change.team in state.team_ids}
    )
    state.grants = await read_grants(hub, pairs, state.team_ids, concurrency=concurrency)
    return state


async def apply_plan(
    hub: HubClient,
    planned: Sequence[Change],
    *,
    audit: AuditLog,
    actor: str,
    instance: str,
    source: str,
    request_id: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: ChangeDone | None = None,
    state: OrgState | None = None,
) -> ApplyResult:
    """Apply exactly the planned changes that still apply, after reading the org again.

    The plan that was shown (and approved) is the plan that runs: nothing is diffed anew, so a member
    added after the plan is never removed by it. A change already so is left; a change whose starting
    point moved (a permission someone changed meanwhile) is skipped and reported. `progress` hears of
    every planned change, the skipped ones first.

    `state`: the org as the plan read it a moment ago, when nothing can have waited in between (the
    CLI's `--yes`); re-reading costs two listings and one read per repository change.
    """
    if state is None:
        state = await read_for_changes(hub, planned, concurrency=concurrency)
    checked = recheck(planned, state)
    if progress is not None:
        for change, why in [*checked.already, *checked.stale]:
            await progress(change, why)
    result = await apply_policy(
        hub,
        checked.todo,
        state.team_ids,
        audit=audit,
        actor=actor,
        instance=instance,
        source=source,
        request_id=request_id,
        concurrency=concurrency,
        progress=progress,
    )
    result.already, result.stale = checked.already, checked.stale
    return result

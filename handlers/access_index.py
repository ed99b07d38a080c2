"""The access index: every (repository, team) grant of an org, read once and kept in the store.

Docker Hub has no "teams of a repository" listing: a team's permission on a repository is one
`GET /v2/repositories/{ns}/{repo}/groups/{group_id}` per pair, so an org of R repositories and T
teams costs R·T requests. A refresh reads each pair once, paced to a share of the rate limit Docker
Hub announces (so lookups and approvals keep working meanwhile), and writes each repository's grants
as soon as its T reads are in, with the repository as the resume position: an interrupted refresh
(an error, a stop, a killed process) resumes after the last repository written. Replicas claim the
refresh in the store; a claim whose holder stopped beating is taken over once its lease is over.

The store's interface lives here, where the behaviour is; `bot/store/` implements it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from handlers import concurrently
from hub.client import HubClient
from hub.models import OrgGroup, Permission

logger = logging.getLogger("hubkeeper.index")


DEFAULT_RATE_SHARE = 0.5
DEFAULT_SCHEDULE = "0 2 * * *"
CLAIM_LEASE = timedelta(minutes=3)
"""A refresh beats at every repository (T reads); one silent this long has stopped."""
PERMISSION_RANK = {Permission.READ.value: 1, Permission.WRITE.value: 2, Permission.ADMIN.value: 3}

Progress = Callable[[int, int], None]
"""progress(pairs read so far, pairs in all), after each repository."""


@dataclass(frozen=True)
class IndexedGrant:
    repository: str
    """The repository's name in the org's namespace."""
    team: str
    permission: str
    read_at: datetime


@dataclass(frozen=True)
class RefreshClaim:
    started_at: datetime
    """When this run began; grants read before it and not read again by it are gone at the end."""
    position: str | None
    """The last repository written (names in order); None: from the start."""
    repositories_done: int
    pairs_read: int

    @property
    def resumed(self) -> bool:
        return self.position is not None


@dataclass(frozen=True)
class IndexStatus:
    finished_at: datetime | None
    """When the last complete refresh ended: the index's age. None: never completed."""
    running: bool
    started_at: datetime
    repositories_done: int
    pairs_read: int


class AccessIndexStore(Protocol):
    """The access index and its refresh runs, per instance. Every method is safe across replicas."""

    async def claim_refresh(
        self, instance: str, claimed_by: str, *, now: datetime, lease: timedelta
    ) -> RefreshClaim | None:
        """Take the instance's refresh (a new one, or the unfinished one to resume); None when another
        holder has beaten within `lease`. Exactly one of several concurrent callers gets it."""
        ...

    async def advance_refresh(
        self,
        instance: str,
        claimed_by: str,
        repository: str,
        grants: Sequence[tuple[str, str]],
        *,
        pairs: int,
        now: datetime,
    ) -> bool:
        """Replace the repository's grants with `grants` ((team, permission)…) and move the position to
        it, in one transaction; False (and nothing written) when the claim is no longer ours."""
        ...

    async def finish_refresh(self, instance: str, claimed_by: str, *, now: datetime) -> bool:
        """End our run: forget grants it did not read again (deleted repositories), record the time."""
        ...

    async def release_refresh(self, instance: str, claimed_by: str) -> None:
        """Let go of an unfinished run, keeping its position for whoever resumes it."""
        ...

    async def index_status(self, instance: str) -> IndexStatus | None: ...

    async def grants_of_teams(self, instance: str, teams: Iterable[str]) -> list[IndexedGrant]: ...

    async def grants_of_repository(self, instance: str, repository: str) -> list[IndexedGrant]: ...

    async def team_counts(self, instance: str, repositories: Iterable[str]) -> dict[str, int]:
        """repository → how many teams the index knows to have access to it."""
        ...

    async def put_grant(
        self, instance: str, repository: str, team: str, permission: str | None, *, now: datetime
    ) -> None:
        """hubkeeper's own grant (or revoke, with None) goes into the index at once."""
        ...

    async def rename_team(self, instance: str, old: str, new: str) -> None: ...

    async def drop_team(self, instance: str, team: str) -> None: ...


@dataclass(frozen=True)
class RefreshResult:
    ran: bool
    """False: another replica (or process) holds the refresh."""
    resumed: bool = False
    repositories: int = 0
    teams: int = 0
    pairs_read: int = 0
    """Pair reads made by this call (a resumed run skips what was read before)."""
    grants: int = 0
    seconds: float = 0.0
    holder: str | None = None


class RatePacer:
    """Spaces requests evenly to `share` of the limit Docker Hub announces (X-RateLimit-Limit).

    The limit is read before every request, so a change on Docker Hub's side is followed; with no
    limit announced yet (or ever, as with an emulator that sends no headers) nothing waits.
    """

    def __init__(
        self,
        limit: Callable[[], int | None],
        share: float = DEFAULT_RATE_SHARE,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not 0 < share <= 1:
            raise ValueError("the rate share must be above 0 and at most 1")
        self._limit = limit
        self.share = share
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self.waited = 0.0

    def per_minute(self) -> float | None:
        limit = self._limit()
        return None if not limit else limit * self.share

    async def acquire(self) -> None:
        rate = self.per_minute()
        if rate is None:
            return
        now = self._clock()
        slot = max(now, self._next)
        self._next = slot + 60.0 / rate
        if slot > now:
            self.waited += slot - now
            await self._sleep(slot - now)


async def read_repository_grants(
    hub: HubClient, repository: str, teams: Sequence[OrgGroup], pacer: RatePacer | None = None
) -> list[tuple[str, str]]:
    """(team, permission) of every team with a grant on the repository: one read per team, at once."""

    async def read(team: OrgGroup) -> tuple[str, str] | None:
        if pacer is not None:
            await pacer.acquire()
        grant = await hub.get_team_access(team, repository)
        return None if grant is None else (team.name, grant.permission.lower())

    return [found for found in await concurrently.each(read(team) for team in teams) if found is not None]


async def refresh_index(
    hub: HubClient,
    store: AccessIndexStore,
    instance: str,
    *,
    claimed_by: str,
    rate_share: float = DEFAULT_RATE_SHARE,
    progress: Progress | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    lease: timedelta = CLAIM_LEASE,
) -> RefreshResult:
    """Read every (repository, team) pair of the org once into the index, or resume the unfinished run.

    Raises HubError as the client does; the run is then released with its position kept.
    """
    claim = await store.claim_refresh(instance, claimed_by, now=now(), lease=lease)
    if claim is None:
        status = await store.index_status(instance)
        logger.info("%s: the access index is being refreshed elsewhere; not starting another", instance)
        return RefreshResult(ran=False, holder=None if status is None else "another replica")
    started = time.monotonic()
    pacer = RatePacer(lambda: hub.rate_limit_per_minute, rate_share)
    finished = False
    try:
        teams = await hub.list_groups()
        repositories = sorted([repo.name async for repo in hub.iter_repositories()])
        total = len(repositories) * len(teams)
        done = claim.pairs_read
        todo = [name for name in repositories if claim.position is None or name > claim.position]
        if claim.resumed:
            logger.info(
                "%s: resuming the access index refresh after %s (%d of %d repositories left)",
                instance,
                claim.position,
                len(todo),
                len(repositories),
            )
        logger.info("%s: reading %d repositories × %d teams = %d pairs", instance, len(repositories), len(teams), total)
        grants = 0
        read = 0
        every = max(1, len(todo) // 20)
        for number, repository in enumerate(todo, 1):
            found = await read_repository_grants(hub, repository, teams, pacer)
            if not await store.advance_refresh(instance, claimed_by, repository, found, pairs=len(teams), now=now()):
                logger.warning("%s: the access index refresh was taken over; stopping", instance)
                return RefreshResult(ran=False, holder="another replica")
            read += len(teams)
            done = min(total, done + len(teams))
            grants += len(found)
            if progress is not None:
                progress(done, total)
            if number % every == 0 or number == len(todo):
                logger.info("%s: access index %d/%d pairs (%d%%)", instance, done, total, done * 100 // max(total, 1))
        finished = await store.finish_refresh(instance, claimed_by, now=now())
        return RefreshResult(
            ran=finished,
            resumed=claim.resumed,
            repositories=len(repositories),
            teams=len(teams),
            pairs_read=read,
            grants=grants,
            seconds=time.monotonic() - started,
        )
    finally:
        if not finished:
            # An error or a stop: keep the position for whoever resumes; shielded so a cancellation
            # still lets go of the claim instead of leaving it until the lease runs out.
            await asyncio.shield(store.release_refresh(instance, claimed_by))


def strongest(permissions: Iterable[str]) -> str:
    """The highest of read < write < admin."""
    return max(permissions, key=lambda permission: PERMISSION_RANK.get(permission, 0))


def index_age_text(status: IndexStatus | None, now: datetime) -> str:
    """ "as of 02:14 UTC" (today), "as of 30 Nov 02:14 UTC" (earlier), or why there is no index."""
    if status is None or status.finished_at is None:
        return "the access index has not been built yet (`hubkeeper index`)"
    when = status.finished_at.astimezone(UTC)
    if when.date() == now.astimezone(UTC).date():
        return f"as of {when:%H:%M} UTC"
    return f"as of {when:%d %b %H:%M} UTC"


def is_fresh(status: IndexStatus | None, now: datetime, max_age: timedelta = timedelta(days=1)) -> bool:
    return status is not None and status.finished_at is not None and now - status.finished_at <= max_age


async def apply_own_change(
    store: AccessIndexStore, instance: str, kind: str, result: dict[str, object], *, now: datetime
) -> None:
    """Keep the index right after hubkeeper's own executed change (grant, revoke, team delete or rename).

    `kind` and `result` are the executed request's; other kinds do not touch repository access.
    """
    team = result.get("team")
    repository = result.get("repository")
    if kind in ("grant", "revoke") and isinstance(team, str) and isinstance(repository, str):
        permission = result.get("permission") if kind == "grant" else None
        await store.put_grant(instance, repository, team, permission if isinstance(permission, str) else None, now=now)
    elif kind == "team_delete" and isinstance(team, str):
        await store.drop_team(instance, team)
    elif kind == "team_update" and isinstance(team, str):
        previous = result.get("previous_name")
        if isinstance(previous, str) and previous != team:
            await store.rename_team(instance, previous, team)

"""Self-service access: which team `/hub request` resolves to, and how time-bound access ends.

The `access_request` kind (handlers/changes/access_request.py) plans and executes the request.

Docker Hub grants repository access to teams, never to people, so a request resolves to a team:

- the team the config file's `[access_teams]` names for `"ns/repo:permission"`, or else
- a team hubkeeper manages (`hk-<repo>-<r|w|a>`), created and granted on approval. A managed team
  holds exactly one grant (the asked permission on the asked repository), so joining it gives that
  and nothing else, and the approval changes nobody else's access.

The requester's Docker Hub account is the org member whose email is their Slack email. With
`for <duration>` the membership is recorded in the store as a timed grant; `sweep_timed_grants`
(run by the scheduler) removes it at expiry, so expiries survive restarts.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from handlers import blocks as bk
from handlers.context import HandlerContext
from handlers.requests.kind import ChangeRefused
from handlers.requests.lifecycle import SYSTEM, AuditEvent, RequestStore, TimedGrant
from hub.errors import HubError, InvalidInput, NotFound
from hub.models import OrgGroup, Permission

logger = logging.getLogger("hubkeeper.self_service")


MANAGED_PREFIX = "hk-"
MANAGED_DESCRIPTION = "Managed by hubkeeper"
"""Every team hubkeeper creates has a description starting with this; a team of the managed name
without it was made by a person, and hubkeeper will not treat it as its own."""
TEAM_NAME_MAX = 30
"""Docker Hub's team names are 3 to 30 letters, digits, `-` or `_`: `^[A-Za-z0-9_-]{3,30}$` (docs/docker-hub.md)."""
HASH_LENGTH = 6
"""24 bits of SHA-256: collisions need two shortened names alike *and* equal hashes in one org."""


_LETTER = {Permission.READ: "r", Permission.WRITE: "w", Permission.ADMIN: "a"}


# -- pure helpers ---------------------------------------------------------------------------------


def managed_team_name(org: str, namespace: str, repository: str, permission: Permission | str) -> str:
    """The team of `org` that hubkeeper manages for `namespace/repository:permission`: deterministic, valid.

    `hk-<repo>-<r|w|a>` when the repository name fits and needs no change. Otherwise (too long, or
    holding `.` which team names do not allow, or from another namespace than the org's) the repo
    part is shortened and a hash of the full `ns/repo:permission` is appended, so names that shorten
    alike stay distinct. Plain names end in `-r|-w|-a`, hashed ones in 6 hex digits after a `-`,
    so the two forms can never produce the same name.
    """
    level = Permission(str(permission).lower())
    letter = _LETTER[level]
    plain = f"{MANAGED_PREFIX}{repository}-{letter}"
    if len(plain) <= TEAM_NAME_MAX and re.fullmatch(r"[a-z0-9_-]+", repository) and namespace == org:
        return plain
    digest = hashlib.sha256(f"{namespace}/{repository}:{level.value}".encode()).hexdigest()[:HASH_LENGTH]
    room = TEAM_NAME_MAX - len(MANAGED_PREFIX) - len(f"-{letter}-{digest}")
    # `.` is not allowed in team names; the hash keeps `a.b` and `a-b` apart.
    short = re.sub(r"[^a-z0-9_-]", "-", repository.lower())[:room].strip("-_") or "repo"
    return f"{MANAGED_PREFIX}{short}-{letter}-{digest}"


def managed_description(namespace: str, repository: str, permission: Permission) -> str:
    return f"{MANAGED_DESCRIPTION} for {namespace}/{repository}:{permission.value} only; do not add grants"


# -- resolution -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ask:
    """What the requester asked for, validated."""

    namespace: str
    repository: str
    permission: Permission
    duration_seconds: int | None

    @property
    def key(self) -> str:
        """The `[access_teams]` key."""
        return f"{self.namespace}/{self.repository}:{self.permission.value}"

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.repository}"


@dataclass(frozen=True)
class Resolution:
    """Who the requester is on Docker Hub and which team would give them the access."""

    username: str
    team: str
    managed: bool
    group: OrgGroup | None
    """None: a managed team that does not exist yet (execute creates it)."""
    granted: Permission | None
    """The team's current permission on the repository (None: no grant yet, managed teams only)."""
    is_member: bool

    @property
    def complete(self) -> bool:
        """The requester already has exactly what they asked for through this team."""
        return self.is_member and self.granted is not None


async def _requester_username(ctx: HandlerContext, requester: str) -> str:
    email = await ctx.directory.user_email(requester)
    if not email:
        raise ChangeRefused(
            "Slack shows no email address for you, so hubkeeper cannot find your Docker Hub account. "
            "Ask a Slack admin to make your email visible, then ask again."
        )
    try:
        member = await ctx.hub.find_member(email)
    except InvalidInput:
        member = None
    if member is not None and member.is_invitee:
        raise ChangeRefused(
            f"Your Slack email {bk.code(email)} has a pending invite to *{bk.escape(ctx.hub.org)}*: accept it "
            "(Docker Hub emailed it), then ask again."
        )
    if member is None:
        raise ChangeRefused(
            f"No Docker Hub member of *{bk.escape(ctx.hub.org)}* has your Slack email {bk.code(email)}. "
            "Set that address on your Docker Hub account (Account settings → Email), or ask an owner to invite "
            "it with `/hub invite`, then ask again."
        )
    return member.username


async def resolve(ctx: HandlerContext, ask: Ask, requester: str) -> Resolution:
    """Find the requester's account and the team; refuse anything that would grant more than asked."""
    if ask.namespace != ctx.hub.org:
        # Teams belong to an org and can only be granted on that org's repositories.
        raise ChangeRefused(
            f"*{bk.escape(ctx.instance)}* manages the namespace *{bk.escape(ctx.hub.org)}*; "
            f"{bk.code(ask.ref)} is in another namespace, whose teams hubkeeper cannot grant from here."
        )
    username = await _requester_username(ctx, requester)
    await ctx.hub.get_repository(ask.repository, ask.namespace)  # NotFound says which repository
    configured = ctx.access_teams.get(ask.key)
    if configured is not None:
        return await _configured(ctx, ask, username, configured)
    return await _managed(ctx, ask, username)


async def _is_member(ctx: HandlerContext, team: str, username: str) -> bool:
    # `search` narrows the listing; the exact username decides.
    members = await ctx.hub.list_group_members(team, search=username)
    return any(member.username.lower() == username.lower() for member in members)


async def _configured(ctx: HandlerContext, ask: Ask, username: str, team: str) -> Resolution:
    try:
        group = await ctx.hub.get_group(team)
    except NotFound:
        raise ChangeRefused(
            f"The config maps {bk.code(ask.key)} to team *{bk.escape(team)}*, which does not exist in "
            f"*{bk.escape(ctx.hub.org)}*. An admin needs to fix `[access_teams]`."
        ) from None
    grant = await ctx.hub.get_team_access(group, ask.repository, ask.namespace)
    granted = _level(grant.permission) if grant is not None else None
    # The team is people's, not hubkeeper's: it is never re-granted, so it must already give exactly this.
    if granted != ask.permission:
        has = f"*{granted.value}*" if granted else "no access"
        raise ChangeRefused(
            f"The config maps {bk.code(ask.key)} to team *{bk.escape(team)}*, but that team has {has} on "
            f"{bk.code(ask.ref)}. An admin needs to fix `[access_teams]` or the team's grant."
        )
    return Resolution(username, group.name, False, group, granted, await _is_member(ctx, group.name, username))


async def _managed(ctx: HandlerContext, ask: Ask, username: str) -> Resolution:
    name = managed_team_name(ctx.hub.org, ask.namespace, ask.repository, ask.permission)
    try:
        group = await ctx.hub.get_group(name)
    except NotFound:
        return Resolution(username, name, True, None, None, False)
    return Resolution(
        username, name, True, group, await check_managed(ctx, ask, group), await _is_member(ctx, name, username)
    )


async def check_managed(ctx: HandlerContext, ask: Ask, group: OrgGroup) -> Permission | None:
    """A managed team may hold the asked grant or none yet (an earlier attempt stopped half-way).

    Docker Hub has no "grants of a team" listing, only a per-repository lookup (docs/docker-hub.md),
    so only the asked repository is checked: a grant someone added on another repository cannot
    be seen here. The description marker and the one-grant-per-team rule keep that unlikely; the
    approval message says it.
    """
    if not (group.description or "").startswith(MANAGED_DESCRIPTION):
        raise ChangeRefused(
            f"A team named *{bk.escape(group.name)}* exists but hubkeeper did not create it (its description does not "
            f"say {MANAGED_DESCRIPTION!r}). Rename that team, or map {bk.code(ask.key)} to a team in `[access_teams]`."
        )
    grant = await ctx.hub.get_team_access(group, ask.repository, ask.namespace)
    granted = _level(grant.permission) if grant is not None else None
    if granted is not None and granted != ask.permission:
        raise ChangeRefused(
            f"Team *{bk.escape(group.name)}* is managed by hubkeeper for {bk.code(ask.key)} only, but it now has "
            f"*{granted.value}* on {bk.code(ask.ref)}: someone changed it. Joining it would give more (or other) "
            "access than asked, so hubkeeper refuses; an owner should restore its grant."
        )
    return granted


def _level(value: str) -> Permission | None:
    try:
        return Permission(value.lower())
    except ValueError:
        return None


# -- teams self-service depends on ----------------------------------------------------------------


def configured_keys(ctx: HandlerContext, team: str) -> list[str]:
    """The `[access_teams]` keys that name `team` (Docker Hub team names ignore case)."""
    return sorted(key for key, name in ctx.access_teams.items() if name.lower() == team.lower())


def is_managed(group: OrgGroup) -> bool:
    return group.name.lower().startswith(MANAGED_PREFIX) and (group.description or "").startswith(MANAGED_DESCRIPTION)


async def running_grants(ctx: HandlerContext, group: OrgGroup) -> list[TimedGrant]:
    """Time-bound access still running in this team of this instance, soonest end first."""
    return [
        grant
        for grant in await ctx.store.active_timed_grants()
        if grant.instance == ctx.instance and grant.is_in(group.id, group.name)
    ]


MAX_GRANTS_NAMED = 10


async def refuse_rename(ctx: HandlerContext, group: OrgGroup) -> None:
    """Self-service finds its teams by name: a team it uses is not renamed under it.

    - Time-bound access running in the team: refused, naming each grant and when it ends (the expiry
      would still find the team by its id, but the people who see the grant know it by its name, and
      refusing is simpler to reason about than carrying a name over). Rename after they end.
    - A team `[access_teams]` names: the config would name a team that no longer exists, and every
      request for that access would be refused; change the config first.
    - A team hubkeeper manages (`hk-…`): the next request for that access would create a second one.
    """
    team = f"*{bk.escape(group.name)}*"
    grants = await running_grants(ctx, group)
    if grants:
        named = [
            f"*{bk.escape(grant.username)}* until {_when(grant.expires_at)} (request `{grant.request_id}`)"
            for grant in grants[:MAX_GRANTS_NAMED]
        ]
        if len(grants) > MAX_GRANTS_NAMED:
            named.append(f"…and {len(grants) - MAX_GRANTS_NAMED} more")
        raise ChangeRefused(
            f"Team {team} has time-bound access running, which ends by removing people from it: "
            + "; ".join(named)
            + ". hubkeeper does not rename a team while that runs; rename it after the last one ends. "
            "Nothing was changed."
        )
    keys = configured_keys(ctx, group.name)
    if keys:
        raise ChangeRefused(
            f"Team {team} is the self-service team for {', '.join(bk.code(key) for key in keys)} in the config's "
            "`[access_teams]`, which names it: renamed, every such request would be refused. Change "
            "`[access_teams]` first (then restart hubkeeper), or leave the name. Nothing was changed."
        )
    if is_managed(group):
        raise ChangeRefused(
            f"Team {team} is managed by hubkeeper for self-service, which finds it by that name: renamed, the "
            "next request for its access would create another one. Nothing was changed."
        )


def refuse_redescribe(group: OrgGroup, description: str) -> None:
    """A managed team's description is hubkeeper's mark of it; without the mark self-service refuses the team.

    Teams `[access_teams]` names may be described freely: self-service only needs their name and grant.
    """
    if is_managed(group) and not description.startswith(MANAGED_DESCRIPTION):
        raise ChangeRefused(
            f"Team *{bk.escape(group.name)}* is managed by hubkeeper for self-service, and its description must "
            f"start with {MANAGED_DESCRIPTION!r}: that is how hubkeeper knows the team is its own. Keep that start, "
            "or leave the description. Nothing was changed."
        )


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# -- expiry ---------------------------------------------------------------------------------------


async def sweep_timed_grants(
    store: RequestStore,
    contexts: Callable[[str], HandlerContext | None],
    now: datetime,
) -> list[TimedGrant]:
    """End every timed grant that is due; returns those this call ended (and told the requester of).

    The team is the one with the grant's id, whatever it is called now: a rename in Docker Hub's web
    UI during the grant must not let the membership outlive it. Docker Hub first, then the
    compare-and-set: a grant is recorded as ended only when the removal worked or a read shows the
    member is no longer in that team (or no team has its id any more); anything else leaves it due
    and the next sweep tries again. If two replicas sweep at once both may remove, but only the one
    whose compare-and-set wins records it and sends the DM.
    """
    await _learn_team_ids(store, contexts, now)
    ended: list[TimedGrant] = []
    for grant in await store.due_timed_grants(now):
        ctx = contexts(grant.instance)
        if ctx is None:
            logger.warning("timed grant %s is for unknown instance %r; left due", grant.id, grant.instance)
            continue
        try:
            found = await _end_membership(ctx, store, grant)
        except HubError as error:
            logger.warning("could not end timed grant %s (%s in %s): %s", grant.id, grant.username, grant.team, error)
            continue
        if found is None:
            continue
        team, removed = found
        if not await store.mark_grant_revoked(grant.id, now=now):
            continue  # another replica recorded it and told them
        request = await store.get(grant.request_id)
        what = _granted_what(request.params if request is not None else {})
        renamed = team is not None and team.name != grant.team
        await store.append_audit(
            AuditEvent(
                event="grant.expired",
                actor=SYSTEM,
                instance=grant.instance,
                request_id=grant.request_id,
                detail={
                    "team": team.name if team is not None else grant.team,
                    "team_id": team.id if team is not None else grant.team_id,
                    **({"team_when_granted": grant.team} if renamed else {}),
                    **({"team_gone": True} if team is None else {}),
                    "username": grant.username,
                    "requester": grant.requester,
                    "expires_at": grant.expires_at.isoformat(),
                    "removed": removed,
                    **({"access": what} if what else {}),
                },
            )
        )
        ended.append(grant)
        await _tell(ctx, grant, what, team)
    return ended


async def _learn_team_ids(store: RequestStore, contexts: Callable[[str], HandlerContext | None], now: datetime) -> None:
    """Grants recorded before team ids were: look their team up by name while it still has it.

    Done for every running grant, not only due ones, so a rename later in the grant cannot lose the team.
    """
    for grant in await store.active_timed_grants():
        if grant.team_id is not None or grant.expires_at <= now:
            continue  # due ones are resolved as they end
        ctx = contexts(grant.instance)
        if ctx is None:
            continue
        try:
            group = await ctx.hub.get_group(grant.team)
        except HubError:
            continue  # renamed already, or Docker Hub is away: tried again at expiry
        await store.record_grant_team_id(grant.id, group.id)


async def _team_now(ctx: HandlerContext, store: RequestStore, grant: TimedGrant) -> OrgGroup | None:
    """The grant's team as it is now; None when no team of the org has its id (the team was deleted).

    Docker Hub addresses teams by name and has no lookup by id: the stored name is tried first (one
    read), then the org's teams are listed. Raises _TeamUnknown for an old grant (no id) whose team no
    longer has its name: nothing then tells which team it was.
    """
    try:
        group = await ctx.hub.get_group(grant.team)
    except NotFound:
        group = None
    if grant.team_id is None:
        if group is None:
            raise _TeamUnknown
        await store.record_grant_team_id(grant.id, group.id)
        return group
    if group is not None and group.id == grant.team_id:
        return group
    async for candidate in ctx.hub.iter_groups():
        if candidate.id == grant.team_id:
            return candidate
    return None


class _TeamUnknown(Exception):
    pass


async def _end_membership(
    ctx: HandlerContext, store: RequestStore, grant: TimedGrant
) -> tuple[OrgGroup | None, bool] | None:
    """(the team as it is now, or None when it is gone; whether this call removed the member).

    None: the membership may still exist and the grant stays due (logged). HubError propagates.
    """
    try:
        team = await _team_now(ctx, store, grant)
    except _TeamUnknown:
        logger.warning(
            "timed grant %s: team %r no longer exists under that name and the grant predates team ids, so "
            "hubkeeper cannot tell which team %s is in; left due (remove them by hand)",
            grant.id,
            grant.team,
            grant.username,
        )
        return None
    if team is None:
        # The listing of every team has none with this id: the team, and the membership, are gone.
        return None, False
    try:
        await ctx.hub.remove_group_member(team.name, grant.username)
        return team, True
    except NotFound:
        pass
    # A 404 says "not in the team" or "no such team" (a rename between our read and the DELETE): only a
    # read of that team's members may end the grant.
    try:
        still = await _is_member(ctx, team.name, grant.username)
    except NotFound:
        logger.warning("timed grant %s: team %r changed while ending it; left due", grant.id, team.name)
        return None
    if still:
        logger.warning("timed grant %s: %s is still in team %r; left due", grant.id, grant.username, team.name)
        return None
    return team, False


def _granted_what(params: Mapping[str, Any]) -> str | None:
    ns, repo, permission = params.get("namespace"), params.get("repository"), params.get("permission")
    if all(isinstance(value, str) for value in (ns, repo, permission)):
        return f"{permission} on {ns}/{repo}"
    return None


async def _tell(ctx: HandlerContext, grant: TimedGrant, what: str | None, team: OrgGroup | None) -> None:
    access = f"*{bk.escape(what)}*" if what else "access"
    if team is None:
        where = f"team *{bk.escape(grant.team)}* no longer exists"
    elif team.name != grant.team:
        where = (
            f"*{bk.escape(grant.username)}* was removed from team *{bk.escape(team.name)}* "
            f"(called *{bk.escape(grant.team)}* when granted)"
        )
    else:
        where = f"*{bk.escape(grant.username)}* was removed from team *{bk.escape(team.name)}*"
    text = (
        f"Your time-bound {access} has ended: {where} in *{bk.escape(ctx.instance)}*. "
        "Ask again with `/hub request` if you still need it."
    )
    try:
        await ctx.messenger.dm(grant.requester, bk.message(text))
    except Exception:  # the revocation is recorded either way; a lost DM must not stop the sweep
        logger.exception("could not DM %s that grant %s ended", grant.requester, grant.id)

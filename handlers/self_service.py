"""Self-service access: `/hub request <ns/repo> <read|write|admin> [for <N>m|h|d] <reason…>`.

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
from datetime import UTC, datetime, timedelta
from typing import Any

from handlers import blocks as bk
from handlers.context import HandlerContext
from handlers.requests.kind import ChangeRefused, Outcome, Plan, register
from handlers.requests.lifecycle import AuditEvent, RequestStore, TimedGrant
from hub import paths
from hub.errors import Conflict, HubError, InvalidInput, NotFound
from hub.models import OrgGroup, Permission

logger = logging.getLogger("hubkeeper.self_service")

KIND = "access_request"
SWEEP_ACTOR = "hubkeeper"

MANAGED_PREFIX = "hk-"
MANAGED_DESCRIPTION = "Managed by hubkeeper"
"""Every team hubkeeper creates has a description starting with this; a team of the managed name
without it was made by a person, and hubkeeper will not treat it as its own."""
TEAM_NAME_MAX = 30
"""Docker Hub's (terraform's) team-name rule is `^[A-Za-z0-9_-]{3,30}$` (API-NOTES §14)."""
HASH_LENGTH = 6
"""24 bits of SHA-256: collisions need two shortened names alike *and* equal hashes in one org."""

MIN_DURATION = 60
MAX_DURATION = 90 * 86400
"""Time-bound access is for hours or days; anything longer is a standing grant and should say so."""

_LETTER = {Permission.READ: "r", Permission.WRITE: "w", Permission.ADMIN: "a"}
_UNITS = (("d", 86400, "day"), ("h", 3600, "hour"), ("m", 60, "minute"))
_DURATION = re.compile(r"(\d{1,5})([mhd])")


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


def parse_duration(text: str) -> int:
    """`30m`, `8h`, `7d` → seconds; ChangeRefused for anything else or out of range."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None:
        raise ChangeRefused(f"{bk.code(text)} is not a duration: use minutes, hours or days, e.g. `90m`, `8h`, `3d`.")
    seconds = int(match.group(1)) * next(size for unit, size, _ in _UNITS if unit == match.group(2))
    return check_duration(seconds)


def check_duration(seconds: object) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise ChangeRefused("The duration must be a whole number of seconds.")
    if not MIN_DURATION <= seconds <= MAX_DURATION:
        raise ChangeRefused(
            f"Time-bound access lasts from {human_duration(MIN_DURATION)} to {human_duration(MAX_DURATION)}; "
            "leave out `for …` to ask for access with no end date."
        )
    return seconds


def human_duration(seconds: int) -> str:
    """The largest unit that divides evenly: 5400 → "90 minutes", 7200 → "2 hours"."""
    for _, size, noun in _UNITS:
        if seconds % size == 0:
            return bk.plural(seconds // size, noun)
    return bk.plural(seconds, "second")


def parse_access_request(text: str) -> tuple[dict[str, Any], str]:
    """`acme/api write for 8h fixing the release` → (params for the kind, reason).

    For whoever wires `/hub request` into the router; the kind itself validates params again.
    """
    words = text.split()
    usage = "Usage: `/hub request ns/repo read|write|admin [for 30m|8h|3d] reason…`"
    if len(words) < 2:
        raise ChangeRefused(usage)
    try:
        namespace, repository = paths.parse_repository_ref(words[0])
    except InvalidInput as error:
        raise ChangeRefused(f"{bk.escape(error.message)}. {usage}") from None
    permission = _permission(words[1])
    rest = words[2:]
    duration: int | None = None
    if len(rest) >= 2 and rest[0].lower() == "for" and _DURATION.fullmatch(rest[1].lower()):
        duration = parse_duration(rest[1])
        rest = rest[2:]
    reason = " ".join(rest).strip()
    if not reason:
        raise ChangeRefused(f"Say why you need it. {usage}")
    params = {
        "namespace": namespace,
        "repository": repository,
        "permission": permission.value,
        "duration_seconds": duration,
    }
    return params, reason


def _permission(value: object) -> Permission:
    try:
        return Permission(str(value).lower())
    except ValueError:
        raise ChangeRefused(f"{bk.code(str(value))} is not a permission: use `read`, `write` or `admin`.") from None


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

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Ask:
        try:
            namespace = paths.namespace(_text(params, "namespace"))
            repository = paths.repository(_text(params, "repository"))
        except InvalidInput as error:
            raise ChangeRefused(bk.escape(error.message)) from None
        raw = params.get("duration_seconds")
        duration = None if raw is None else check_duration(raw)
        return cls(namespace, repository, _permission(params.get("permission")), duration)


def _text(params: Mapping[str, Any], key: str) -> str:
    value = params.get(key)
    return value if isinstance(value, str) else ""  # paths.* refuse "" as empty


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
    if ctx.directory is None:
        raise ChangeRefused("hubkeeper cannot look up Slack emails here, so it cannot tell who you are on Docker Hub.")
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


async def _resolve(ctx: HandlerContext, ask: Ask, requester: str) -> Resolution:
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
        username, name, True, group, await _check_managed(ctx, ask, group), await _is_member(ctx, name, username)
    )


async def _check_managed(ctx: HandlerContext, ask: Ask, group: OrgGroup) -> Permission | None:
    """A managed team may hold the asked grant or none yet (an earlier attempt stopped half-way).

    Docker Hub has no "grants of a team" listing (API-NOTES §10), only a per-repository lookup,
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


# -- the kind -------------------------------------------------------------------------------------


def _describe(ask: Ask, found: Resolution) -> tuple[str, list[str]]:
    team = f"*{bk.escape(found.team)}*"
    ref = f"*{bk.escape(ask.ref)}*"
    how_long = f"for {human_duration(ask.duration_seconds)}" if ask.duration_seconds else "with no end date"
    summary = (
        f"Give *{bk.escape(found.username)}* *{ask.permission.value}* on {ref} {how_long} by adding them to team {team}"
    )
    details: list[str] = []
    if found.managed and found.group is None:
        details.append(
            f"Team {team} does not exist yet: hubkeeper will create it and grant it *{ask.permission.value}* on "
            f"{ref} only. Nobody else's access changes."
        )
    elif found.managed:
        grant = "has that grant already" if found.granted else f"will be granted *{ask.permission.value}* on {ref}"
        details.append(
            f"Team {team} is managed by hubkeeper and {grant}; it holds no other grant on {ref} "
            "(Docker Hub only lets hubkeeper check grants one repository at a time). Nobody else's access changes."
        )
    else:
        details.append(
            f"Team {team} comes from the config's `[access_teams]` ({bk.code(ask.key)}) and already has "
            f"*{ask.permission.value}* on {ref}. It is a shared team: any other grants it has apply too."
        )
    if ask.duration_seconds:
        details.append(
            f"After {human_duration(ask.duration_seconds)} hubkeeper removes *{bk.escape(found.username)}* from "
            f"{team} and tells the requester."
        )
    else:
        details.append("No end date: the access stays until someone removes it.")
    return summary, details


class AccessRequest:
    """`access_request`: add the requester to the one team that gives the asked access."""

    name = KIND

    async def plan(self, ctx: HandlerContext, params: Mapping[str, Any]) -> Plan:
        ask = Ask.from_params(params)
        if ask.duration_seconds is not None and ctx.store is None:
            raise ChangeRefused("hubkeeper has no store configured here, so it cannot end access on time.")
        found = await _resolve(ctx, ask, ctx.actor)
        if found.complete:
            raise ChangeRefused(
                f"You already have *{ask.permission.value}* on *{bk.escape(ask.ref)}*: *{bk.escape(found.username)}* "
                f"is in team *{bk.escape(found.team)}*, which has it. Nothing to ask for."
            )
        summary, details = _describe(ask, found)
        return Plan(
            summary=summary,
            details=details,
            params={
                "namespace": ask.namespace,
                "repository": ask.repository,
                "permission": ask.permission.value,
                "duration_seconds": ask.duration_seconds,
                # At execute time ctx.actor is the approver; the requester travels in the params.
                "requester": ctx.actor,
                "username": found.username,
                "team": found.team,
                "managed": found.managed,
                "create_team": found.managed and found.group is None,
                "expires_after": human_duration(ask.duration_seconds) if ask.duration_seconds else None,
            },
        )

    async def execute(self, ctx: HandlerContext, params: Mapping[str, Any]) -> Outcome:
        ask = Ask.from_params(params)
        requester = params.get("requester")
        if not isinstance(requester, str) or not requester:
            raise ChangeRefused("This request does not say who asked for it; ask again.")
        if ask.duration_seconds is not None and (ctx.store is None or ctx.request_id is None):
            # Refused before any change: access without its recorded end would never end.
            raise ChangeRefused(
                "hubkeeper has no store here, so it cannot end the access on time. Nothing was changed."
            )
        found = await _resolve(ctx, ask, requester)
        # The approval was for one account and one team; if the org now resolves differently, ask again.
        if (found.username, found.team, found.managed) != (
            params.get("username"),
            params.get("team"),
            params.get("managed"),
        ):
            raise ChangeRefused(
                f"This was approved for *{bk.escape(str(params.get('username')))}* in team "
                f"*{bk.escape(str(params.get('team')))}*, but it now resolves to *{bk.escape(found.username)}* in "
                f"*{bk.escape(found.team)}*. Nothing was changed; ask again."
            )
        recorded = await self._recorded_grant(ctx, requester) if ask.duration_seconds else None
        if found.complete and recorded is None:
            if ask.duration_seconds:
                # They got this access some other way since the request: an expiry would take it away.
                raise ChangeRefused(
                    f"*{bk.escape(found.username)}* already has *{ask.permission.value}* on *{bk.escape(ask.ref)}* "
                    f"through team *{bk.escape(found.team)}*. Nothing was changed."
                )
            return Outcome(
                summary=f"*{bk.escape(found.username)}* already had *{ask.permission.value}* on "
                f"*{bk.escape(ask.ref)}* through team *{bk.escape(found.team)}*; nothing needed changing.",
                result={"team": found.team, "username": found.username, "changed": False},
            )
        done: list[str] = []
        try:
            return await self._apply(ctx, ask, found, requester, recorded, done)
        except HubError as error:
            if not done:
                raise
            # What happened stays on record: the request's error says it, and a Retry finishes the rest.
            raise ChangeRefused(
                f"Done: {'; '.join(done)}. Then Docker Hub failed: {bk.escape(error.message)}. "
                "Not done: the rest; Retry completes it."
            ) from error

    async def _recorded_grant(self, ctx: HandlerContext, requester: str) -> TimedGrant | None:
        """The expiry an earlier attempt of this same request recorded (a Retry must not add a second)."""
        assert ctx.store is not None
        grants = await ctx.store.active_timed_grants(requester=requester)
        return next((g for g in grants if g.request_id == ctx.request_id and g.instance == ctx.instance), None)

    async def _apply(
        self,
        ctx: HandlerContext,
        ask: Ask,
        found: Resolution,
        requester: str,
        recorded: TimedGrant | None,
        done: list[str],
    ) -> Outcome:
        team = f"*{bk.escape(found.team)}*"
        group = found.group
        result: dict[str, Any] = {"team": found.team, "username": found.username, "managed": found.managed}
        if group is None:
            group = await self._create(ctx, ask, found.team)
            done.append(f"created team {team}")
            result["created"] = True
        if found.granted is None:
            # Only ever a managed team: configured teams without the grant were refused in _resolve.
            await ctx.hub.grant_team_access(group, ask.repository, ask.permission, ask.namespace)
            done.append(f"granted it *{ask.permission.value}* on *{bk.escape(ask.ref)}*")
            result["granted"] = True
        ends = ""
        if ask.duration_seconds:
            assert ctx.store is not None and ctx.request_id is not None
            # Recorded before the membership exists, so a crash in between can never leave access with no end.
            if recorded is None:
                recorded = await ctx.store.add_timed_grant(
                    instance=ctx.instance,
                    request_id=ctx.request_id,
                    team=found.team,
                    username=found.username,
                    requester=requester,
                    expires_at=datetime.now(UTC) + timedelta(seconds=ask.duration_seconds),
                )
                done.append("recorded when it ends")
            result["expires_at"] = recorded.expires_at.isoformat()
            result["timed_grant_id"] = recorded.id
            ends = f" Access ends {_when(recorded.expires_at)} ({human_duration(ask.duration_seconds)})."
        if not found.is_member:
            # Membership was just checked by _resolve; Docker Hub's own 404 covers a removal since then.
            await ctx.hub.add_group_member(found.team, found.username, check_membership=False)
            done.append(f"added *{bk.escape(found.username)}* to {team}")
            result["added"] = True
        steps = f" ({'; '.join(done)})" if done else ""
        return Outcome(
            summary=f"*{bk.escape(found.username)}* now has *{ask.permission.value}* on *{bk.escape(ask.ref)}* "
            f"through team {team}{steps}.{ends}",
            result=result,
        )

    async def _create(self, ctx: HandlerContext, ask: Ask, name: str) -> OrgGroup:
        try:
            return await ctx.hub.create_group(name, managed_description(ask.namespace, ask.repository, ask.permission))
        except Conflict:
            # Another approval created it a moment ago: use it if it is still only what we manage.
            group = await ctx.hub.get_group(name)
            await _check_managed(ctx, ask, group)
            return group


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


ACCESS_REQUEST = register(AccessRequest())


# -- expiry ---------------------------------------------------------------------------------------


async def sweep_timed_grants(
    store: RequestStore,
    contexts: Callable[[str], HandlerContext | None],
    now: datetime,
) -> list[TimedGrant]:
    """End every timed grant that is due; returns those this call ended (and told the requester of).

    Docker Hub first, then the compare-and-set: if the removal fails the grant stays due and the
    next sweep tries again; if two replicas sweep at once both may remove (the second gets a 404,
    which counts as done) but only the one whose compare-and-set wins records it and sends the DM.
    """
    ended: list[TimedGrant] = []
    for grant in await store.due_timed_grants(now):
        ctx = contexts(grant.instance)
        if ctx is None:
            logger.warning("timed grant %s is for unknown instance %r; left due", grant.id, grant.instance)
            continue
        try:
            await ctx.hub.remove_group_member(grant.team, grant.username)
            removed = True
        except NotFound:
            removed = False  # already gone from the team (or the team is gone): the access has ended
        except HubError as error:
            logger.warning("could not end timed grant %s (%s in %s): %s", grant.id, grant.username, grant.team, error)
            continue
        if not await store.mark_grant_revoked(grant.id, now=now):
            continue  # another replica recorded it and told them
        request = await store.get(grant.request_id)
        what = _granted_what(request.params if request is not None else {})
        await store.append_audit(
            AuditEvent(
                event="grant.expired",
                actor=SWEEP_ACTOR,
                instance=grant.instance,
                request_id=grant.request_id,
                detail={
                    "team": grant.team,
                    "username": grant.username,
                    "requester": grant.requester,
                    "expires_at": grant.expires_at.isoformat(),
                    "removed": removed,
                    **({"access": what} if what else {}),
                },
            )
        )
        ended.append(grant)
        await _tell(ctx, grant, what)
    return ended


def _granted_what(params: Mapping[str, Any]) -> str | None:
    ns, repo, permission = params.get("namespace"), params.get("repository"), params.get("permission")
    if all(isinstance(value, str) for value in (ns, repo, permission)):
        return f"{permission} on {ns}/{repo}"
    return None


async def _tell(ctx: HandlerContext, grant: TimedGrant, what: str | None) -> None:
    if ctx.messenger is None:
        logger.warning(
            "no messenger for %s: could not tell %s that grant %s ended", ctx.instance, grant.requester, grant.id
        )
        return
    access = f"*{bk.escape(what)}*" if what else "access"
    text = (
        f"Your time-bound {access} has ended: *{bk.escape(grant.username)}* was removed from team "
        f"*{bk.escape(grant.team)}* in *{bk.escape(ctx.instance)}*. Ask again with `/hub request` if you still need it."
    )
    try:
        await ctx.messenger.dm(grant.requester, bk.message(text))
    except Exception:  # the revocation is recorded either way; a lost DM must not stop the sweep
        logger.exception("could not DM %s that grant %s ended", grant.requester, grant.id)

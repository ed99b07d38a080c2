"""Self-service: `/hub request <ns/repo> <read|write|admin> [for <N>m|h|d] <reason…>`.

The requester is added to the one team that gives the asked access (`handlers/self_service.py`
resolves which); with `for <duration>` the end is recorded in the store before the membership
exists, and the scheduler's sweep ends it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator

from handlers import blocks as bk
from handlers.context import HandlerContext
from handlers.durations import NotADuration, human, parse_seconds
from handlers.grammar import Line, UsageError, permission, reason_text, unquote
from handlers.requests.kind import (
    Affected,
    ChangeKind,
    ChangeRefused,
    Outcome,
    Params,
    PartlyApplied,
    Plan,
    Reading,
    Refusal,
)
from handlers.requests.lifecycle import AuditEvent, TimedGrant
from handlers.self_service import (
    Ask,
    Resolution,
    check_managed,
    managed_description,
    resolve,
)
from hub import paths
from hub.errors import Conflict, HubError, InvalidInput
from hub.models import OrgGroup, Permission

MIN_DURATION = 60
MAX_DURATION = 90 * 86400
"""Time-bound access runs from a minute to 90 days; anything longer is a standing grant and should say so."""


def duration_seconds(value: str) -> int:
    """`30m`, `2h`, `7d` → seconds, from a minute to 90 days (the grammar's check)."""
    try:
        seconds = parse_seconds(value)
    except NotADuration:
        raise InvalidInput("duration", value, "use minutes, hours or days, e.g. 30m, 2h or 7d") from None
    if not MIN_DURATION <= seconds <= MAX_DURATION:
        raise InvalidInput("duration", value, "it must be from 1m to 90d")
    return seconds


def _stored_duration(seconds: object) -> object:
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise Refusal("The duration must be a whole number of seconds.")
    if not MIN_DURATION <= seconds <= MAX_DURATION:
        raise Refusal(
            f"Time-bound access lasts from {human(MIN_DURATION)} to {human(MAX_DURATION)}; "
            "leave out `for …` to ask for access with no end date."
        )
    return seconds


def _checked(check: Any) -> Any:
    def run(value: object) -> str:
        try:
            return str(check(value if isinstance(value, str) else ""))  # paths.* refuse "" as empty
        except InvalidInput as error:
            raise Refusal(bk.escape(error.message)) from None

    return BeforeValidator(run)


def _permission(value: object) -> str:
    try:
        return Permission(str(value).lower()).value
    except ValueError:
        raise Refusal(f"{bk.code(str(value))} is not a permission: use `read`, `write` or `admin`.") from None


class AccessRequestParams(Params):
    namespace: Annotated[str, _checked(paths.namespace)]
    repository: Annotated[str, _checked(paths.repository)]
    permission: Annotated[str, BeforeValidator(_permission)]
    duration_seconds: Annotated[int | None, BeforeValidator(_stored_duration)] = None
    # Filled in by the plan: at execute time the actor is the approver, so the requester travels here,
    # with the account and the team the approval was for.
    requester: str | None = None
    username: str | None = None
    team: str | None = None
    managed: bool | None = None
    create_team: bool | None = None
    expires_after: str | None = None


def _ask(params: AccessRequestParams) -> Ask:
    return Ask(params.namespace, params.repository, Permission(params.permission), params.duration_seconds)


def _describe(ask: Ask, found: Resolution) -> tuple[str, list[str]]:
    team = f"*{bk.escape(found.team)}*"
    ref = f"*{bk.escape(ask.ref)}*"
    how_long = f"for {human(ask.duration_seconds)}" if ask.duration_seconds else "with no end date"
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
            f"After {human(ask.duration_seconds)} hubkeeper removes *{bk.escape(found.username)}* from "
            f"{team} and tells the requester."
        )
    else:
        details.append("No end date: the access stays until someone removes it.")
    return summary, details


class AccessRequest(ChangeKind[AccessRequestParams]):
    """`access_request`: add the requester to the one team that gives the asked access."""

    name = "access_request"
    command = "request"
    usage = "request <namespace/repo> <read|write|admin> [for <N>m|h|d] <reason…>"
    description = "Ask for access to a repository"
    examples = ("/hub request acme/api write for 2h deploy the hotfix",)
    reason_required = True
    open_to_everyone = True
    params_model = AccessRequestParams

    def affected(self, params: AccessRequestParams, result: Mapping[str, Any]) -> list[Affected]:
        username, team, ends = result.get("username"), result.get("team"), result.get("expires_at")
        if not result.get("added") or not isinstance(username, str) or not isinstance(team, str):
            return []
        access = f"*{bk.escape(params.permission)}* on *{bk.escape(params.namespace)}/{bk.escape(params.repository)}*"
        until = ""
        if isinstance(ends, str):
            until = f", until {_when(datetime.fromisoformat(ends))}"
        kind = "time-bound access" if until else "access"
        return [Affected(f"you were given {kind}: {access} through team *{bk.escape(team)}*{until}", username=username)]

    def parse(self, args: list[str]) -> AccessRequestParams:
        """`<namespace/repo> <permission> [for <N>m|h|d]`: the words before the reason."""
        if len(args) not in (2, 4) or (len(args) == 4 and args[2].lower() != "for"):
            raise self.usage_error("request needs a namespace/repository, read, write or admin, and a reason")
        namespace, repository = paths.parse_repository_ref(args[0])
        level = permission(args[1])
        duration = duration_seconds(args[3]) if len(args) == 4 else None
        return AccessRequestParams(
            namespace=namespace, repository=repository, permission=level, duration_seconds=duration
        )

    def reverse(self, params: AccessRequestParams, outcome: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
        # Undone by taking them out of the team they were put in; when they were in it already (or
        # nothing changed) there is nothing of this request's to take back. A team hubkeeper created
        # for it stays, holding its one grant, for the next person who asks.
        if not outcome.get("added"):
            return None
        return "team_remove", {"team": outcome["team"], "username": outcome["username"]}

    async def undone(
        self, ctx: HandlerContext, params: AccessRequestParams, outcome: Mapping[str, Any], request_id: str
    ) -> None:
        # The undo took them out of the team: the recorded end is over too, or the sweep would later
        # remove them again and tell them their access "has ended".
        grants = await ctx.store.active_timed_grants(requester=params.requester)
        for grant in grants:
            if grant.request_id != request_id or grant.instance != ctx.instance:
                continue
            if await ctx.store.mark_grant_revoked(grant.id, now=datetime.now(UTC)):
                await ctx.store.append_audit(
                    AuditEvent(
                        event="grant.undone",
                        actor=ctx.actor,
                        instance=grant.instance,
                        request_id=request_id,
                        detail={
                            "team": grant.team,
                            "username": grant.username,
                            "requester": grant.requester,
                            "expires_at": grant.expires_at.isoformat(),
                            "undone_by": ctx.request_id,
                        },
                    )
                )

    def read(self, line: Line) -> Reading:
        """`request <ns/repo> <permission> [for <N>m|h|d] <reason…>`: the reason is the rest of the line.

        The reason is cut from the line as typed (like `--reason`), so everything after the permission
        and duration belongs to it, `--org` included; `--org` goes before the reason.
        """
        spec = self.syntax
        words = line.words
        org: str | None = None
        positionals: list[str] = []
        index = 0
        rest_at: int | None = None

        def take_org() -> bool:
            nonlocal index, org
            word = words[index].text
            if word == "--org":
                if index + 1 >= len(words):
                    raise UsageError("--org needs a value", spec)
                org = words[index + 1].text
                index += 2
                return True
            if word.startswith("--org="):
                org = word.split("=", 1)[1]
                index += 1
                return True
            return False

        # The command word, then the repository and the permission (with --org anywhere among them).
        while index < len(words) and len(positionals) < 3:
            if not take_org():
                positionals.append(words[index].text)
                rest_at = words[index].rest_at
                index += 1
        if len(positionals) < 3:
            if line.unclosed_quote:
                raise UsageError("a quote is not closed", spec)
            raise UsageError("request needs a namespace/repository, read, write or admin, and a reason", spec)
        args = positionals[1:]
        # `for` starts a duration only when a number follows ("for 2h"); "for the incident" is the reason.
        if index + 1 < len(words) and words[index].text.lower() == "for" and words[index + 1].text[:1].isdigit():
            args += [words[index].text, words[index + 1].text]
            rest_at = words[index + 1].rest_at
            index += 2
        try:
            params = self.parse(args)
        except InvalidInput as error:
            raise UsageError(error.message, spec) from None
        while index < len(words) and take_org():
            rest_at = words[index - 1].rest_at
        assert rest_at is not None
        if line.reason is not None:
            if index < len(words):
                raise UsageError("give the reason once: after the permission, or after --reason", spec)
            reason = reason_text(line.reason, spec)
        else:
            tail = unquote(line.text[rest_at:])
            if not tail:
                raise UsageError("request needs a reason after the permission (why you need the access)", spec)
            reason = reason_text(tail, spec)
        return Reading(params, reason, org)

    async def plan(self, ctx: HandlerContext, params: AccessRequestParams) -> Plan:
        ask = _ask(params)
        found = await resolve(ctx, ask, ctx.actor)
        if found.complete:
            raise ChangeRefused(
                f"You already have *{ask.permission.value}* on *{bk.escape(ask.ref)}*: *{bk.escape(found.username)}* "
                f"is in team *{bk.escape(found.team)}*, which has it. Nothing to ask for."
            )
        summary, details = _describe(ask, found)
        return Plan(
            summary=summary,
            details=details,
            params=AccessRequestParams(
                namespace=ask.namespace,
                repository=ask.repository,
                permission=ask.permission.value,
                duration_seconds=ask.duration_seconds,
                requester=ctx.actor,
                username=found.username,
                team=found.team,
                managed=found.managed,
                create_team=found.managed and found.group is None,
                expires_after=human(ask.duration_seconds) if ask.duration_seconds else None,
            ),
        )

    async def execute(self, ctx: HandlerContext, params: AccessRequestParams) -> Outcome:
        ask = _ask(params)
        requester = params.requester
        if not requester:
            raise ChangeRefused("This request does not say who asked for it; ask again.")
        if ask.duration_seconds is not None and ctx.request_id is None:
            # Refused before any change: access without its recorded end would never end.
            raise ChangeRefused(
                "This request is not a stored one, so hubkeeper could not end the access on time. Nothing was changed."
            )
        found = await resolve(ctx, ask, requester)
        # The approval was for one account and one team; if the org now resolves differently, ask again.
        if (found.username, found.team, found.managed) != (
            params.username,
            params.team,
            params.managed,
        ):
            raise ChangeRefused(
                f"This was approved for *{bk.escape(str(params.username))}* in team "
                f"*{bk.escape(str(params.team))}*, but it now resolves to *{bk.escape(found.username)}* in "
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
            raise PartlyApplied(
                f"Access for *{bk.escape(found.username)}*",
                done,
                [f"the rest, because Docker Hub failed: {bk.escape(error.message)}"],
            ) from error

    async def _recorded_grant(self, ctx: HandlerContext, requester: str) -> TimedGrant | None:
        """The expiry an earlier attempt of this same request recorded (a Retry must not add a second)."""
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
            assert ctx.request_id is not None  # checked before anything changed
            # Recorded before the membership exists, so a crash in between can never leave access with no end.
            if recorded is None:
                recorded = await ctx.store.add_timed_grant(
                    instance=ctx.instance,
                    request_id=ctx.request_id,
                    team=found.team,
                    username=found.username,
                    requester=requester,
                    expires_at=datetime.now(UTC) + timedelta(seconds=ask.duration_seconds),
                    # By id: the team may be renamed while the access runs, and the expiry must still find it.
                    team_id=group.id,
                )
                done.append("recorded when it ends")
            result["expires_at"] = recorded.expires_at.isoformat()
            result["timed_grant_id"] = recorded.id
            ends = f" Access ends {_when(recorded.expires_at)} ({human(ask.duration_seconds)})."
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
            await check_managed(ctx, ask, group)
            return group


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")

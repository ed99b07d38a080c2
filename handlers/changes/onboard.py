"""`/hub onboard <email> --teams a,b [--role R] --reason …`: invite a new hire and, once they accept,
put them in every team — one request, one approval.

On approval the invite goes out (into the first team, with the role) and a pending onboarding is
recorded; the sweep finishes it when the invite is accepted (handlers/onboarding.py).
`/hub onboard cancel <email>` stops a pending one: its invite is withdrawn and the onboarding ends.
Both go through approval like every change: that is what checks who may do them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import Field, field_validator

from handlers import blocks as bk
from handlers.changes.fields import Role, Team
from handlers.changes.invite import status_words
from handlers.changes.preconditions import existing_team, is_owners_team
from handlers.context import HandlerContext
from handlers.grammar import positional, reject_unknown_options, role, take_option
from handlers.members import invite_line, matching_invites
from handlers.onboarding import Onboarding, OnboardingStatus, OnboardingStore, teams_words
from handlers.requests.kind import ChangeKind, ChangeRefused, Outcome, Params, PartlyApplied, Plan, Refusal
from hub import paths
from hub.errors import HubError, NotFound
from hub.models import Invite

logger = logging.getLogger("hubkeeper.onboard")

MAX_TEAMS = 20
"""More teams than this at once is a policy, not an onboarding."""


def _email(value: str) -> str:
    return paths.email(value)


class OnboardParams(Params):
    invitee: str
    """The email invited (the request log and the invite kinds name it so)."""
    teams: list[Team] = Field(min_length=1, max_length=MAX_TEAMS)
    """The invite's team first; the others follow once the invite is accepted."""
    role: Role | None = None

    @field_validator("invitee")
    @classmethod
    def _checked_email(cls, value: str) -> str:
        if "@" not in value:
            raise Refusal("Onboarding invites an email address; for a Docker ID use `/hub invite`.")
        return _email(value)


def _teams(raw: str) -> list[str]:
    names = [name.strip() for name in raw.split(",") if name.strip()]
    unique = list(dict.fromkeys(names))
    return [paths.team(name) for name in unique]


def _store(ctx: HandlerContext) -> OnboardingStore:
    if ctx.onboardings is None:
        raise ChangeRefused(
            "Onboarding needs hubkeeper's store, which this context does not have. Nothing was changed."
        )
    return ctx.onboardings


def _pending_invites(invites: Sequence[Invite], email: str) -> list[Invite]:
    return matching_invites(invites, email)


class Onboard(ChangeKind[OnboardParams]):
    name = "onboard"
    command = "onboard"
    usage = "onboard <email> --teams <team,team…> [--role <role>] --reason <text…>"
    description = "Invite a new hire and put them in their teams once they accept"
    examples = ("/hub onboard ada@acme.example --teams backend,data --reason new hire",)
    reason_required = True
    params_model = OnboardParams

    def parse(self, args: list[str]) -> OnboardParams:
        spec = self.syntax
        args, teams = take_option(args, "--teams", spec)
        args, asked_role = take_option(args, "--role", spec)
        reject_unknown_options(spec, args)
        (email,) = positional(spec, args, 1, "one email address")
        if "@" not in email:
            raise self.usage_error("onboarding invites an email address; for a Docker ID use `/hub invite`")
        if teams is None or not _teams(teams):
            raise self.usage_error("onboard needs --teams <team,team…>: the teams they join")
        names = _teams(teams)
        if len(names) > MAX_TEAMS:
            raise self.usage_error(f"at most {MAX_TEAMS} teams at once")
        return OnboardParams(
            invitee=_email(email),
            teams=names,
            role=role(asked_role) if asked_role is not None else None,
        )

    def destructive(self, params: OnboardParams) -> bool:
        # An owner on acceptance, by role or by the owners team: as destructive as `role … owner`.
        return params.role == "owner" or any(is_owners_team(team) for team in params.teams)

    async def _check(self, ctx: HandlerContext, params: OnboardParams) -> OnboardParams:
        """The teams exist (named as Docker Hub names them) and the email is not a member yet."""
        teams = [(await existing_team(ctx, team)).name for team in params.teams]
        member = await ctx.hub.find_member(params.invitee)
        if member is not None and not member.is_invitee:
            add = bk.code(f"/hub team add {teams[0]} {member.username}", 200)
            raise ChangeRefused(
                f"{bk.code(params.invitee)} is already org member *{bk.escape(member.username)}* of "
                f"*{bk.escape(ctx.instance)}*: no invite is needed. To put them in a team, use {add}"
            )
        return OnboardParams(invitee=params.invitee, teams=list(dict.fromkeys(teams)), role=params.role)

    def _summary(self, ctx: HandlerContext, params: OnboardParams) -> str:
        first, rest = params.teams[0], params.teams[1:]
        role = f" as {params.role}" if params.role else ""
        then = f", then add them to {teams_words(rest)} once they accept" if rest else ""
        return (
            f"Onboard {bk.code(params.invitee)} into *{bk.escape(ctx.instance)}*: invite them to team "
            f"*{bk.escape(first)}*{role}{then}"
        )

    async def plan(self, ctx: HandlerContext, params: OnboardParams) -> Plan:
        store = _store(ctx)
        checked = await self._check(ctx, params)
        waiting = await store.waiting_for(ctx.instance, checked.invitee)
        if waiting is not None:
            raise ChangeRefused(
                f"{bk.code(checked.invitee)} is being onboarded already (into {teams_words(waiting.teams)}, "
                f"asked by <@{waiting.requester}>). To start over: {bk.code(f'/hub onboard cancel {checked.invitee}')}"
            )
        pending = _pending_invites(await ctx.hub.list_invites(), checked.invitee)
        if pending:
            raise ChangeRefused(
                f"{bk.code(checked.invitee)} already has a pending invite ({invite_line(pending[0])}). "
                f"Cancel it first ({bk.code(f'/hub invite cancel {checked.invitee}', 200)}), then onboard them."
            )
        results = await ctx.hub.bulk_invite([checked.invitee], team=checked.teams[0], role=checked.role, dry_run=True)
        details = [f"{bk.code(result.invitee)} {status_words(result.status)}" for result in results]
        if not results or any(result.status != "invited" for result in results):
            raise ChangeRefused(
                f"Docker Hub would not invite {bk.code(checked.invitee)}: {'; '.join(details) or 'no answer'}."
            )
        details.append("hubkeeper adds them to the other teams once the invite is accepted, and tells you.")
        return Plan(summary=self._summary(ctx, checked), params=checked, details=details)

    async def execute(self, ctx: HandlerContext, params: OnboardParams) -> Outcome:
        store = _store(ctx)
        if ctx.request_id is None:
            raise ChangeRefused("This onboarding is not a stored request, so hubkeeper could not follow it up.")
        checked = await self._check(ctx, params)
        waiting = await store.waiting_for(ctx.instance, checked.invitee)
        if waiting is not None and waiting.request_id != ctx.request_id:
            raise ChangeRefused(
                f"{bk.code(checked.invitee)} is being onboarded already (asked by <@{waiting.requester}>). "
                "Nothing was changed."
            )
        # A Retry after the invite went out finds it pending: that invite is this onboarding's own.
        pending = _pending_invites(await ctx.hub.list_invites(), checked.invitee)
        if pending:
            invite_id: str | None = pending[0].id
        else:
            results = await ctx.hub.bulk_invite([checked.invitee], team=checked.teams[0], role=checked.role)
            result = next((r for r in results if r.invitee.lower() == checked.invitee.lower()), None)
            if result is None or result.status != "invited":
                said = status_words(result.status) if result is not None else "was not mentioned by Docker Hub"
                raise ChangeRefused(f"{bk.code(checked.invitee)} {said}; nothing was sent.")
            invite_id = result.invite.id if result.invite is not None else None
        onboarding = await store.start(
            instance=ctx.instance,
            request_id=ctx.request_id,
            email=checked.invitee,
            teams=checked.teams,
            role=checked.role,
            requester=await _requester(ctx),
            invite_id=invite_id,
            now=datetime.now(UTC),
        )
        rest = checked.teams[1:]
        then = f"; they join {teams_words(rest)} once they accept" if rest else ""
        return Outcome(
            f"Invited {bk.code(checked.invitee)} to team *{bk.escape(checked.teams[0])}* of "
            f"*{bk.escape(ctx.instance)}*{then}",
            {
                "invitee": checked.invitee,
                "teams": checked.teams,
                "role": checked.role,
                "invite_id": invite_id,
                "onboarding_id": onboarding.id,
            },
        )


async def _requester(ctx: HandlerContext) -> str:
    """Whoever asked for the request being executed (the actor is its approver)."""
    assert ctx.request_id is not None
    request = await ctx.store.get(ctx.request_id)
    if request is None:
        raise ChangeRefused("The request being executed is not in the store any more. Nothing was changed.")
    return request.requester


class OnboardCancelParams(Params):
    invitee: str

    @field_validator("invitee")
    @classmethod
    def _checked_email(cls, value: str) -> str:
        return _email(value)


class OnboardCancel(ChangeKind[OnboardCancelParams]):
    name = "onboard_cancel"
    command = "onboard cancel"
    usage = "onboard cancel <email>"
    description = "Stop a pending onboarding (and withdraw its invite)"
    examples = ("/hub onboard cancel ada@acme.example",)
    params_model = OnboardCancelParams

    def parse(self, args: list[str]) -> OnboardCancelParams:
        reject_unknown_options(self.syntax, args)
        (email,) = positional(self.syntax, args, 1, "the email being onboarded")
        return OnboardCancelParams(invitee=_email(email))

    def destructive(self, params: OnboardCancelParams) -> bool:
        return True  # it withdraws an invite, as `invite cancel` does

    async def _waiting(self, ctx: HandlerContext, email: str) -> Onboarding:
        onboarding = await _store(ctx).waiting_for(ctx.instance, email)
        if onboarding is None:
            raise ChangeRefused(
                f"No onboarding of {bk.code(email)} is waiting in *{bk.escape(ctx.instance)}*; App Home lists them."
            )
        if onboarding.status is OnboardingStatus.COMPLETING:
            raise ChangeRefused(f"{bk.code(email)} accepted the invite; hubkeeper is adding them to their teams now.")
        return onboarding

    async def plan(self, ctx: HandlerContext, params: OnboardCancelParams) -> Plan:
        onboarding = await self._waiting(ctx, params.invitee)
        return Plan(
            summary=(
                f"Stop onboarding {bk.code(onboarding.email)} into *{bk.escape(ctx.instance)}* and withdraw the invite"
            ),
            params=OnboardCancelParams(invitee=onboarding.email),
            details=[
                f"Teams: {teams_words(onboarding.teams)} · asked by <@{onboarding.requester}> on "
                f"{onboarding.created_at:%Y-%m-%d}"
            ],
        )

    async def execute(self, ctx: HandlerContext, params: OnboardCancelParams) -> Outcome:
        onboarding = await self._waiting(ctx, params.invitee)
        # Stopped first: from here on the sweep will not complete it, whatever happens to the invite.
        stopped = await _store(ctx).finish(
            onboarding.id,
            OnboardingStatus.PENDING,
            OnboardingStatus.CANCELLED,
            now=datetime.now(UTC),
            note="stopped with /hub onboard cancel",
        )
        if stopped is None:
            raise ChangeRefused(f"The onboarding of {bk.code(params.invitee)} finished meanwhile; nothing was changed.")
        email = bk.code(stopped.email)
        invites = [
            invite
            for invite in await ctx.hub.list_invites()
            if invite.id == stopped.invite_id or invite.invitee.lower() == stopped.email.lower()
        ]
        withdrawn: list[str] = []
        for invite in invites:
            try:
                await ctx.hub.cancel_invite(invite.id)
            except NotFound:
                continue  # accepted or cancelled a moment ago
            except HubError as error:
                raise PartlyApplied(
                    f"Stopping the onboarding of {email}",
                    ["stopped the onboarding"],
                    [f"withdrawing the invite: {bk.escape(error.message)}"],
                ) from error
            withdrawn.append(invite.id)
        request = await ctx.store.get(ctx.request_id) if ctx.request_id is not None else None
        if request is None or stopped.requester != request.requester:
            # Whoever asked for the cancel hears from the approval; whoever asked for the onboarding, here.
            try:
                await ctx.messenger.dm(
                    stopped.requester,
                    bk.message(
                        f"The onboarding of {email} into *{bk.escape(ctx.instance)}* you asked for was stopped."
                    ),
                )
            except Exception:
                logger.exception("could not tell %s their onboarding was stopped", stopped.requester)
        outcome = "withdrew the invite" if withdrawn else "the invite was no longer pending"
        return Outcome(
            f"Stopped onboarding {email} into *{bk.escape(ctx.instance)}*; {outcome}",
            {"invitee": stopped.email, "onboarding_id": stopped.id, "cancelled": withdrawn},
        )

"""`/hub invite cancel <email|username|invite id>`: withdraw pending invites (the ones approved, no other)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import field_validator

from handlers import blocks as bk
from handlers.changes.fields import InviteId, InviteRef
from handlers.context import HandlerContext
from handlers.grammar import invite_ref, positional, reject_unknown_options
from handlers.members import invite_line, matching_invites
from handlers.requests.kind import ChangeKind, ChangeRefused, Outcome, Params, Plan, Refusal
from hub.errors import NotFound
from hub.models import Invite


class InviteCancelParams(Params):
    invitee: InviteRef
    invite_ids: list[InviteId] | None = None
    """The invites the approval covers (the plan fills them in); None cancels whatever `invitee` names."""

    @field_validator("invite_ids")
    @classmethod
    def _some(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise Refusal("The request's invite ids are not valid; ask again.")
        return value


def _matching(invites: Sequence[Invite], invitee: str) -> list[Invite]:
    """The pending invites `invitee` names: by id, else by email or Docker ID."""
    by_id = [invite for invite in invites if invite.id.lower() == invitee.lower()]
    return by_id or matching_invites(invites, invitee)


class InviteCancel(ChangeKind[InviteCancelParams]):
    name = "invite_cancel"
    command = "invite cancel"
    usage = "invite cancel <email|username|invite id>"
    description = "Cancel a pending invite"
    examples = ("/hub invite cancel ravisharma",)
    params_model = InviteCancelParams

    def parse(self, args: list[str]) -> InviteCancelParams:
        reject_unknown_options(self.syntax, args)
        (invitee,) = positional(self.syntax, args, 1, "one email, username or invite id")
        return InviteCancelParams(invitee=invite_ref(invitee))

    def destructive(self, params: InviteCancelParams) -> bool:
        return True

    async def plan(self, ctx: HandlerContext, params: InviteCancelParams) -> Plan:
        invitee = params.invitee
        found = _matching(await ctx.hub.list_invites(), invitee)
        if not found:
            raise ChangeRefused(
                f"There is no pending invite for {bk.code(invitee)} in *{bk.escape(ctx.instance)}*; "
                "`/hub invites` lists them."
            )
        now = datetime.now(UTC)
        details = [f"{bk.code(invite.invitee)}: {invite_line(invite, now)}" for invite in found]
        noun = "the pending invite" if len(found) == 1 else f"{len(found)} pending invites"
        return Plan(
            summary=f"Cancel {noun} for {bk.code(found[0].invitee)} to *{bk.escape(ctx.instance)}*",
            params=InviteCancelParams(invitee=invitee, invite_ids=[invite.id for invite in found]),
            details=details,
        )

    async def execute(self, ctx: HandlerContext, params: InviteCancelParams) -> Outcome:
        invitee = params.invitee
        pending = await ctx.hub.list_invites()
        # Only the invites that were approved: one sent since then was not part of the request.
        if params.invite_ids is None:
            targets = _matching(pending, invitee)
        else:
            targets = [invite for invite in pending if invite.id in params.invite_ids]
        if not targets:
            raise ChangeRefused(
                f"The invite for {bk.code(invitee)} is no longer pending (accepted or cancelled since); nothing to do."
            )
        cancelled: list[str] = []
        gone: list[str] = []
        for invite in targets:
            try:
                await ctx.hub.cancel_invite(invite.id)
            except NotFound:
                # Accepted or cancelled between the read and the delete: the goal holds, say so.
                gone.append(invite.id)
            else:
                cancelled.append(invite.id)
        if not cancelled:
            raise ChangeRefused(f"The invite for {bk.code(invitee)} was no longer pending; nothing to do.")
        noun = "the invite" if len(cancelled) == 1 else f"{len(cancelled)} invites"
        return Outcome(
            f"Cancelled {noun} for {bk.code(targets[0].invitee)} to *{bk.escape(ctx.instance)}*",
            {"invitee": invitee, "cancelled": cancelled, "already_gone": gone},
        )

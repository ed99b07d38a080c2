"""A change hubkeeper can make to a Docker Hub org, declared once: its command, its parameters, its steps.

A kind is one class in `handlers/changes/` and one line in `handlers/requests/kinds.py`. It owns:

- its syntax (`command`, `usage`, `description`, `examples`) and its parser from the words typed to
  its typed parameters (`params_model`, a pydantic model); help and the grammar read them from here;
- `plan`, run when someone asks: it validates, checks preconditions against Docker Hub (the team
  exists; the user is already an org member…), and returns the change in plain words for the
  approval message. Nothing reaches Docker Hub but reads;
- `execute`, run after approval: it checks the preconditions again (the org may have changed
  meanwhile), makes the change, and returns what it did;
- `destructive`: whether the change needs the extra approvers (every removal, every new owner);
- `affected`: whom a done change is about, so they can be told (none unless the kind says).
- `reverse`: the change that undoes a done one, computed from what it recorded doing (the Undo
  button files it as a new request); None, the default, for a change that cannot be undone;
- `undone`: told once that reverse is done, to end what the change left running besides Docker Hub
  (time-bound access ends its recorded expiry); nothing, by default;
- `subjects`: who and what a stored request of the kind is about, for the request log.

The approval lifecycle (handlers/requests/approvals.py) only knows kinds by this interface. Stored
requests keep the kind's `name` and its parameters as JSON; `load` validates them back.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from handlers.blocks import echo, escape
from handlers.context import HandlerContext
from handlers.grammar import (
    REASON_OPTION,
    Line,
    Syntax,
    UsageError,
    reason_text,
    take_option,
)
from handlers.requests.lifecycle import STEP_EVENT, AuditEvent
from handlers.requests.subjects import Subjects, request_subjects
from hub.errors import InvalidInput


class ChangeRefused(Exception):
    """A precondition does not hold; `message` tells the person why and what to do instead."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PartlyApplied(Exception):
    """Some steps of a change were made and others were not: both lists say so, in plain words (mrkdwn).

    The request fails with this on record; an approver's Retry runs the kind again, which re-reads
    the org and does only what is left.
    """

    def __init__(self, what: str, done: list[str], not_done: list[str]) -> None:
        self.what = what
        self.done = list(done)
        self.not_done = list(not_done)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        did = "; ".join(self.done) if self.done else "nothing"
        missing = "; ".join(self.not_done)
        return f"{self.what} is incomplete. Done: {did}. Not done: {missing}. Retry finishes what is left."

    result: dict[str, Any] | None = None
    """What to store with the failed request (a bulk change's outcome per subject); a Retry gets it back."""

    def record(self) -> dict[str, list[str]]:
        """JSON-safe, for the stored request and the audit log."""
        return {"done": self.done, "not_done": self.not_done}


class Refusal(ValueError):
    """Raised by a parameter's validator when a stored value is wrong: `message` is said as it is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Params(BaseModel):
    """A kind's parameters: JSON-safe, checked again whenever they are read back from the store."""

    model_config = ConfigDict(frozen=True, extra="ignore")


P = TypeVar("P", bound=Params)


@dataclass(frozen=True)
class Plan:
    summary: str
    """The change in plain words, e.g. "Add *ivanpetrov* to team *backend*" (mrkdwn, escaped)."""
    params: Params
    """Normalised parameters that `execute` will get (e.g. the username an email resolved to)."""
    details: list[str] = field(default_factory=list)
    """Extra lines for the approval message (a dry run's result per invitee, what offboarding finds…)."""


@dataclass(frozen=True)
class Outcome:
    summary: str
    """What was done, in plain words, for the updated approval message and the requester's DM."""
    result: dict[str, Any] = field(default_factory=dict)
    """JSON-safe record of it, stored with the request and in the audit log."""


@dataclass(frozen=True)
class Affected:
    """Someone a done change is about: they are told what changed, who approved it and why."""

    change: str
    """What changed for them, in the second person, e.g. "you were added to team *backend*" (mrkdwn, escaped)."""
    username: str | None = None
    """Their Docker ID: their email is read from the org's member listing."""
    email: str | None = None
    """Their email, when the change took them out of the org (the listing no longer has them)."""


@dataclass(frozen=True)
class Reading:
    """A change command as typed: its parameters, its reason, the instance it names."""

    params: Params
    reason: str | None
    org: str | None


class ChangeKind(ABC, Generic[P]):
    name: ClassVar[str]
    """Stored with the request; never renamed once used."""
    command: ClassVar[str | None]
    """The words after `/hub`, e.g. "team add"; None for a kind no command asks for (a button does)."""
    usage: ClassVar[str] = ""
    description: ClassVar[str] = ""
    examples: ClassVar[tuple[str, ...]] = ()
    reason_required: ClassVar[bool] = False
    """Changes that take away or hand out power get a reason in the audit log, always."""
    open_to_everyone: ClassVar[bool] = False
    """Self-service: anyone in the workspace may ask (HUBKEEPER_VIEWERS does not apply)."""
    params_model: type[P]

    @cached_property
    def syntax(self) -> Syntax:
        return Syntax(self.command or self.name, self.usage, self.description, self.examples)

    # -- the grammar ----------------------------------------------------------------------------------

    @abstractmethod
    def parse(self, args: list[str]) -> P:
        """The words after the command's own (options included, `--org` and `--reason` taken out).

        Raises UsageError (with `self.syntax`) or InvalidInput for what does not fit.
        """

    def read(self, line: Line) -> Reading:
        """The whole line: `--org` anywhere before `--reason`, the reason, then `parse`."""
        if line.unclosed_quote:
            raise UsageError("a quote is not closed")
        words, org = take_option([word.text for word in line.words], "--org", None)
        args = words[len((self.command or self.name).split()) :]
        spec = self.syntax
        if line.reason is None:
            if self.reason_required:
                raise UsageError(f"{spec.name} needs {REASON_OPTION} <text>: why, for the audit log", spec)
            reason = None
        else:
            reason = reason_text(line.reason, spec)
        try:
            return Reading(self.parse(args), reason, org)
        except InvalidInput as error:
            raise UsageError(error.message, spec) from None

    def usage_error(self, message: str) -> UsageError:
        return UsageError(message, self.syntax)

    # -- what it does ---------------------------------------------------------------------------------

    def destructive(self, params: P) -> bool:
        """Whether it takes something away or makes an owner; such changes need the extra approvers."""
        return False

    def affected(self, params: P, result: Mapping[str, Any]) -> list[Affected]:
        """Who this change, once done, is about: read from its parameters and its recorded outcome."""
        return []
    def reverse(self, params: P, outcome: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
        """The change that undoes this one once done: a kind's `name` and its parameters (as stored,
        checked by that kind's `load`), or None.

        `outcome` is the stored result of `execute` (`Outcome.result`): the reverse is computed from
        what was really done (the previous role, the previous permission, the members actually added)
        and never from what was asked, which may differ ("already so" items are not undone). A kind
        whose changes cannot be taken back (a removal from the org, a deleted team, a sent invite)
        keeps this default. A KeyError or ValueError from an outcome missing what is needed (one
        recorded before the kind recorded it) counts as None.
        """
        return None

    async def undone(self, ctx: HandlerContext, params: P, outcome: Mapping[str, Any], request_id: str) -> None:
        """The reverse of done request `request_id` (of this kind, with these params and stored `outcome`)
        is done: end what the change left running outside Docker Hub. `ctx` is the undo's. Nothing, by
        default: most changes leave nothing behind but the change itself."""

    @abstractmethod
    async def plan(self, ctx: HandlerContext, params: P) -> Plan:
        """Validate and check preconditions; raise ChangeRefused (or a HubError) to refuse."""

    @abstractmethod
    async def execute(self, ctx: HandlerContext, params: P) -> Outcome:
        """Re-check and apply; raise ChangeRefused, PartlyApplied or a HubError when it cannot be done."""

    async def execute_again(self, ctx: HandlerContext, params: P, previous: Mapping[str, Any]) -> Outcome:
        """An approver's Retry after a failure that stored `previous` (PartlyApplied.result).

        By default the whole change runs again (`execute` re-reads the org); a bulk kind runs only the
        subjects that failed.
        """
        return await self.execute(ctx, params)

    def subjects(self, params: Mapping[str, Any], result: Mapping[str, Any] | None) -> Subjects:
        """Who and what a stored request of this kind is about (`/hub log alice` finds it by these).

        `params` and `result` are as stored, read leniently: a request stored long ago is still found.
        By default, the parameter names kinds share (`username`, `member`, `invitee`, `who`, `team`,
        `teams`, `namespace` and `repository`, …) and the person the result names; a kind whose
        parameters name people, teams or repositories under other names says so here.
        """
        return request_subjects(params, result)

    # -- stored parameters ----------------------------------------------------------------------------

    def load(self, raw: Mapping[str, Any] | Params) -> P:
        """Parameters as stored (or as a plan returned them), checked; ChangeRefused when they do not hold."""
        if isinstance(raw, self.params_model):
            return raw
        data = raw.model_dump(mode="json") if isinstance(raw, Params) else dict(raw)
        try:
            return self.params_model.model_validate(data)
        except ValidationError as error:
            raise _refusal(error) from None

    def dump(self, params: Params) -> dict[str, Any]:
        return self.load(params).model_dump(mode="json")


def _refusal(error: ValidationError) -> ChangeRefused:
    first = error.errors()[0]
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, Refusal):
        return ChangeRefused(cause.message)
    if isinstance(cause, InvalidInput):
        return ChangeRefused(f"The request's {echo(cause.message, 300)}.")
    key = ".".join(str(part) for part in first["loc"]) or "parameters"
    return ChangeRefused(f"The request has no valid {escape(key)}; ask again with `/hub help` to hand.")


async def record_step(ctx: HandlerContext, step: str) -> None:
    """Write down one step of a change as done, as it happens (mrkdwn, escaped).

    If the process dies before the change finishes, the request is marked interrupted and its approval
    message lists these steps, so whoever checks knows where it stopped.
    """
    if ctx.request_id is None:
        return
    await ctx.store.append_audit(
        AuditEvent(STEP_EVENT, ctx.actor, ctx.instance, request_id=ctx.request_id, detail={"summary": step})
    )

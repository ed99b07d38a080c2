"""What the change kinds that take several subjects share: `team add`, `team remove` and `invite`.

One request names up to MAX_ITEMS subjects (people). The plan names every subject that cannot be
done and leaves it out, so the approver sees it before approving; execution runs the rest side by
side (at most CONCURRENCY at once; the Hub client paces them by Docker Hub's rate-limit headers) and
records one outcome per subject: done, already so, or failed with the reason. When any failed, the
request fails with every outcome on record, and an approver's Retry runs only the failed ones
(`ChangeKind.execute_again`). The record keeps which subjects were actually changed (`changed`), so a
reverse change can be computed from it.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from handlers import blocks as bk
from handlers import concurrently
from handlers.context import HandlerContext
from handlers.grammar import Syntax, UsageError
from handlers.requests.kind import Affected, ChangeRefused, Outcome, PartlyApplied
from hub.errors import HubError, InvalidInput
from hub.models import OrgMember

MAX_ITEMS = 100
"""Subjects in one request: enough for a team's worth of new hires, few enough to read before approving."""
CONCURRENCY = 8
"""Requests in flight at once while executing; the client's throttle keeps them within the rate limit."""
TEXT_BUDGET = 2400
"""Characters a list of subjects may take in the approval message (a section holds 3,000)."""
SEARCH_UP_TO = 10
"""Up to this many subjects are looked up one by one; more read the whole member list once."""


class ItemStatus(StrEnum):
    DONE = "done"
    ALREADY = "already"
    """Already so when it ran (someone else did it meanwhile): nothing to do, not a failure."""
    FAILED = "failed"


@dataclass(frozen=True)
class ItemOutcome:
    item: str
    """The subject as the request's parameters hold it (a Docker ID or an email)."""
    status: ItemStatus
    reason: str = ""
    """Why it failed or was already so (mrkdwn, escaped)."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """What else the record keeps about it (an invite's id)."""

    def record(self) -> dict[str, Any]:
        return {**self.extra, "item": self.item, "status": self.status.value, "reason": self.reason}

    @classmethod
    def from_record(cls, raw: Mapping[str, Any]) -> ItemOutcome | None:
        item, status = raw.get("item"), raw.get("status")
        if not isinstance(item, str) or status not in {s.value for s in ItemStatus}:
            return None
        extra = {key: value for key, value in raw.items() if key not in ("item", "status", "reason")}
        return cls(item, ItemStatus(str(status)), str(raw.get("reason") or ""), extra)


@dataclass(frozen=True)
class Skipped:
    """A subject the plan leaves out, and why (mrkdwn, escaped)."""

    item: str
    reason: str


class ItemsFailed(PartlyApplied):
    """Some subjects failed: the request fails with every outcome on record; Retry runs only those."""

    def __init__(self, what: str, outcomes: Sequence[ItemOutcome], result: dict[str, Any]) -> None:
        self.outcomes = list(outcomes)
        done = [o.item for o in outcomes if o.status is not ItemStatus.FAILED]
        failed = [o.item for o in outcomes if o.status is ItemStatus.FAILED]
        super().__init__(what, done, failed)
        self.result = result

    @property
    def message(self) -> str:
        failed = sum(1 for o in self.outcomes if o.status is ItemStatus.FAILED)
        return f"{self.what}: {failed} of {len(self.outcomes)} failed. Retry runs only those."


# -- parsing ----------------------------------------------------------------------------------------


def parse_items(spec: Syntax, words: Sequence[str], check: Callable[[str], str], what: str) -> list[str]:
    """The subjects typed (or read from a file): each checked, none twice, at most MAX_ITEMS.

    Every problem is named at once, so a list of 80 is fixed in one go; nothing is requested.
    """
    if not words:
        raise UsageError(f"{spec.name} needs {what}", spec)
    if len(words) > MAX_ITEMS:
        raise UsageError(
            f"{len(words)} subjects is more than the {MAX_ITEMS} one request may name: split the list "
            "(nothing was requested)",
            spec,
        )
    items: list[str] = []
    bad: list[str] = []
    seen: dict[str, str] = {}
    twice: list[str] = []
    for word in words:
        try:
            item = check(word)
        except InvalidInput as error:
            bad.append(error.message)
            continue
        key = item.lower()
        if key in seen:
            if seen[key] not in twice:
                twice.append(seen[key])
            continue
        seen[key] = item
        items.append(item)
    problems = []
    if bad:
        problems.append(bk.join_limited(bad, 600, "; "))
    if twice:
        # Plain text: a usage error is escaped when it is shown.
        problems.append(f"named more than once: {bk.join_limited([f'`{t}`' for t in twice], 600)}")
    if problems:
        raise UsageError("; ".join(problems) + " (nothing was requested)", spec)
    return items


def single_or_list(data: Any, one: str, many: str) -> Any:
    """Stored parameters from before a kind took several subjects (`member`) read as a list (`members`)."""
    if isinstance(data, Mapping) and many not in data and one in data:
        converted = {key: value for key, value in data.items() if key != one}
        value = data[one]
        converted[many] = [value] if value is not None else []
        return converted
    return data


# -- looking people up ------------------------------------------------------------------------------


async def find_members(ctx: HandlerContext, refs: Sequence[str]) -> dict[str, OrgMember | None]:
    """Each Docker ID or email → the org member it names (None: not a member).

    A few are searched for one by one; more read the member list once, which costs fewer requests.
    """
    if len(refs) <= SEARCH_UP_TO:
        found = await bounded([functools.partial(ctx.hub.find_member, ref) for ref in refs])
        return dict(zip(refs, found, strict=True))
    by_key: dict[str, OrgMember] = {}
    async for member in ctx.hub.iter_members():
        by_key[member.username.lower()] = member
        if member.email:
            by_key.setdefault(member.email.lower(), member)
    return {ref: by_key.get(ref.lower()) for ref in refs}


# -- running ----------------------------------------------------------------------------------------

T = TypeVar("T")

Progress = Callable[[int, int], None]
"""(done, total): told as subjects are checked or executed (the command line's progress bar)."""

_progress: ContextVar[Progress | None] = ContextVar("bulk_progress", default=None)


@contextmanager
def reporting_progress(callback: Progress) -> Iterator[None]:
    """Within this block, bulk planning and execution report each subject to `callback`."""
    token = _progress.set(callback)
    try:
        yield
    finally:
        _progress.reset(token)


def report(done: int, total: int) -> None:
    callback = _progress.get()
    if callback is not None:
        callback(done, total)


async def bounded(steps: Sequence[Callable[[], Awaitable[T]]], limit: int = CONCURRENCY) -> list[T]:
    """Run the steps side by side, at most `limit` at once, in order of results; reports progress."""
    gate = asyncio.Semaphore(limit)
    finished = 0

    async def run(step: Callable[[], Awaitable[T]]) -> T:
        nonlocal finished
        async with gate:
            result = await step()
        finished += 1
        report(finished, len(steps))
        return result

    return await concurrently.each(run(step) for step in steps)


async def attempt(item: str, step: Callable[[], Awaitable[ItemOutcome]]) -> ItemOutcome:
    """One subject's step; a Docker Hub error fails this subject only."""
    try:
        return await step()
    except HubError as error:
        return ItemOutcome(item, ItemStatus.FAILED, bk.escape(error.message))


def previous_outcomes(previous: Mapping[str, Any] | None) -> list[ItemOutcome]:
    """The per-subject outcomes a failed attempt recorded (none for an older or a whole failure)."""
    raw = (previous or {}).get("items")
    if not isinstance(raw, list):
        return []
    outcomes = [ItemOutcome.from_record(entry) for entry in raw if isinstance(entry, Mapping)]
    return [outcome for outcome in outcomes if outcome is not None]


def merge(earlier: Sequence[ItemOutcome], now: Sequence[ItemOutcome]) -> list[ItemOutcome]:
    """The earlier attempt's outcomes with this attempt's in place of the ones it ran again (order kept)."""
    latest = {outcome.item.lower(): outcome for outcome in now}
    merged = [latest.pop(outcome.item.lower(), outcome) for outcome in earlier]
    return merged + list(latest.values())


def record(outcomes: Sequence[ItemOutcome], **fields: Any) -> dict[str, Any]:
    """The stored outcome: every subject's, and the ones actually changed (what a reverse change undoes)."""
    return {
        **fields,
        "items": [outcome.record() for outcome in outcomes],
        "changed": [outcome.item for outcome in outcomes if outcome.status is ItemStatus.DONE],
    }


def changed(outcome: Mapping[str, Any]) -> list[str]:
    """Who a done change actually changed, from its record (one `username` in records from before bulk).

    KeyError or ValueError when the record does not say (the Undo then counts it as irreversible).
    """
    found = outcome["changed"] if "changed" in outcome else [outcome["username"]]
    if not isinstance(found, list) or not all(isinstance(name, str) for name in found):
        raise ValueError("the outcome does not say who was changed")
    return found


def changed_in_team(outcome: Mapping[str, Any], change: Callable[[str], str]) -> list[Affected]:
    """Everyone a done team add or remove actually changed (never those already so), each told
    `change(team)`; nobody when the record does not say."""
    team = outcome.get("team")
    try:
        people = changed(outcome)
    except (KeyError, ValueError):
        return []
    if not isinstance(team, str):
        return []
    return [Affected(change(team), username=name) for name in people]


# -- words ------------------------------------------------------------------------------------------

_STATUS_MARK = {ItemStatus.DONE: "done", ItemStatus.ALREADY: "already so", ItemStatus.FAILED: "failed"}


def limited_lines(lines: Sequence[str], budget: int = TEXT_BUDGET) -> list[str]:
    """Lines up to `budget` characters, then one saying how many more were not shown."""
    out: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        line = bk.clip(line, 400)
        if used + len(line) + 1 > budget - 40:
            out.append(f"{bk.ELLIPSIS} and {len(lines) - index:,} more not shown")
            break
        out.append(line)
        used += len(line) + 1
    return out


def skipped_lines(skipped: Sequence[Skipped], budget: int = TEXT_BUDGET) -> list[str]:
    if not skipped:
        return []
    head = f"Cannot be done, left out ({len(skipped)}):"
    return [head, *limited_lines([f"• {s.reason}" for s in skipped], budget - len(head))]


def outcome_summary(what: str, outcomes: Sequence[ItemOutcome], shown: Callable[[str], str]) -> str:
    """ "Added to team *backend* (3 done, 1 failed)", then one line per subject within Slack's limits,
    ending with how many more were not shown."""
    counts = {status: sum(1 for o in outcomes if o.status is status) for status in ItemStatus}
    tally = ", ".join(f"{counts[s]} {_STATUS_MARK[s]}" for s in ItemStatus if counts[s])
    lines = []
    for outcome in outcomes:
        line = f"• {shown(outcome.item)}: {_STATUS_MARK[outcome.status]}"
        if outcome.reason and outcome.status is not ItemStatus.DONE:
            line += f" — {outcome.reason}"
        lines.append(line)
    return "\n".join([f"{what} ({tally})", *limited_lines(lines)])


def refuse_all(skipped: Sequence[Skipped]) -> str:
    """When nothing is left to do: the one reason, or every reason."""
    if len(skipped) == 1:
        return skipped[0].reason
    return "\n".join([f"None of the {len(skipped)} can be done; nothing was requested.", *skipped_lines(skipped)[1:]])


async def execute_items(
    items: Sequence[str],
    step: Callable[[str], Awaitable[ItemOutcome]],
    earlier: Sequence[ItemOutcome],
    *,
    what: str,
    shown: Callable[[str], str],
    fields: Mapping[str, Any],
    one: Callable[[ItemOutcome], str],
) -> Outcome:
    """Run `step` for each subject side by side and record every outcome (with `earlier`'s, on a Retry).

    `what` heads the summary of several ("Added to team *backend*"); `one` words a lone subject's outcome.
    A lone subject keeps the single change's behaviour: its refusal or Docker Hub's error fails the
    request as it is. With several, any failure fails the request with every outcome recorded.
    """
    if len(items) == 1 and not earlier:
        outcomes = [await step(items[0])]
    else:
        outcomes = await bounded([functools.partial(attempt, item, functools.partial(step, item)) for item in items])
    everything = merge(earlier, outcomes)
    if len(everything) == 1 and everything[0].status is ItemStatus.FAILED:
        raise ChangeRefused(everything[0].reason)
    summary = one(everything[0]) if len(everything) == 1 else outcome_summary(what, everything, shown)
    result = record(everything, **fields)
    if any(outcome.status is ItemStatus.FAILED for outcome in everything):
        raise ItemsFailed(what, everything, {"summary": summary, **result})
    return Outcome(summary, result)


def to_retry(previous: Mapping[str, Any]) -> tuple[list[ItemOutcome], list[str]] | None:
    """A Retry's earlier outcomes and the subjects that failed; None when nothing per subject was recorded."""
    earlier = previous_outcomes(previous)
    if not earlier:
        return None
    return earlier, [outcome.item for outcome in earlier if outcome.status is ItemStatus.FAILED]


async def retry_failed(
    previous: Mapping[str, Any],
    whole: Callable[[], Awaitable[Outcome]],
    run: Callable[[list[str], list[ItemOutcome]], Awaitable[Outcome]],
) -> Outcome:
    """A Retry runs only the subjects that failed, keeping the earlier outcomes; a record from before
    per-subject outcomes (or a request that failed as a whole) runs `whole` again."""
    retry = to_retry(previous)
    if retry is None:
        return await whole()
    earlier, failed = retry
    return await run(failed, earlier)

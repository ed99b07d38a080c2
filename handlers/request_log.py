"""The request log: decided requests about a person, a team or a repository, newest first.

`/hub log [username|team|ns/repo] [--days N]` on Slack and `hubkeeper log` on the command line both
read `RequestStore.decided_since` and keep the requests whose parameters (or, for a policy apply, the
policy and what it changed) name the subject: each change kind says what its requests name
(`ChangeKind.subjects`). A bare name matches a username or a team, since both
may be spelled alike; an email matches invites and offboardings by email; `ns/repo` matches grants,
self-service access and policy rules, a policy's `acme/*` pattern included.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from handlers import blocks as bk
from handlers.context import HandlerContext, Reply
from handlers.grammar import Syntax
from handlers.lookup import Lookup
from handlers.requests import kinds
from handlers.requests.lifecycle import ChangeRequest, RequestStore, Status
from handlers.requests.subjects import Subject, Subjects, request_subjects
from hub import paths
from hub.errors import InvalidInput

DEFAULT_DAYS = 30
MAX_DAYS = 3650
SHOWN_ON_SLACK = 25
"""Slack shows the newest few; `hubkeeper log` gives auditors everything."""

Permalink = Callable[[str, str], Awaitable[str | None]]
"""(channel, ts) → the message's permalink (Slack's chat.getPermalink), or None."""


def parse_subject(text: str) -> Subject:
    """`alice` / `backend` (either), `alice@example.com`, or `acme/api`; InvalidInput otherwise."""
    value = text.strip()
    if "/" in value:
        namespace, repository = paths.parse_repository_ref(value.lower())
        return Subject("repository", f"{namespace}/{repository}")
    if "@" in value:
        return Subject("email", paths.email(value).lower())
    try:
        paths.username(value)
    except InvalidInput:
        try:
            paths.team(value)
        except InvalidInput:
            raise InvalidInput("subject", value, "give a username, a team, an email or namespace/repository") from None
    return Subject("name", value.lower())


def parse_days(value: str | int) -> int:
    """Days back, 1 to MAX_DAYS; InvalidInput otherwise."""
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise InvalidInput("days", value, f"give a whole number of days from 1 to {MAX_DAYS}") from None
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput("days", value, f"give a whole number of days from 1 to {MAX_DAYS}")
    return days


def parse_log_args(words: Iterable[str]) -> tuple[Subject | None, int]:
    """`[subject] [--days N]` (also `--days=N`) → (subject, days); InvalidInput naming what is wrong."""
    subject: Subject | None = None
    days = DEFAULT_DAYS
    items = list(words)
    index = 0
    while index < len(items):
        word = items[index]
        if word == "--days":
            if index + 1 >= len(items):
                raise InvalidInput("days", "", "--days needs a number, e.g. --days 7")
            days = parse_days(items[index + 1])
            index += 2
            continue
        if word.startswith("--days="):
            days = parse_days(word.removeprefix("--days="))
        elif word.startswith("-"):
            raise InvalidInput("option", word, "the only option is --days N")
        elif subject is not None:
            raise InvalidInput("subject", word, "give one subject: a username, a team or namespace/repository")
        else:
            subject = parse_subject(word)
        index += 1
    return subject, days


# -- what a stored request is about ----------------------------------------------------------------


def subjects_of(request: ChangeRequest) -> Subjects:
    """Who and what `request` is about, as its kind says (a kind no longer known: its parameters)."""
    kind = kinds.by_name(request.kind)
    if kind is None:
        return request_subjects(request.params, request.result)
    return kind.subjects(request.params, request.result)


# -- links ----------------------------------------------------------------------------------------

_PERMALINK = re.compile(r"^(?P<base>https?://[^/]+)/archives/[^/]+/p\d+$")


def message_path(channel: str, ts: str) -> str:
    """Slack's permalink path of a top-level message: `/archives/C…/p` and the ts without its dot."""
    return f"/archives/{channel}/p{ts.replace('.', '')}"


class ApprovalLinks:
    """Permalinks of approval messages for one listing: Slack is asked once; the rest follow its form."""

    def __init__(self, permalink: Permalink | None) -> None:
        self._permalink = permalink
        self._base: str | None = None
        self._lock = asyncio.Lock()

    async def link(self, channel: str | None, ts: str | None) -> str | None:
        if not channel or not ts:
            return None
        if self._base is not None:
            return self._base + message_path(channel, ts)
        if self._permalink is None:
            return None
        async with self._lock:
            if self._base is not None:
                return self._base + message_path(channel, ts)
            try:
                url = await self._permalink(channel, ts)
            except Exception:  # a link is a nicety: the channel and ts are still shown
                self._permalink = None
                return None
            found = _PERMALINK.match(url or "")
            if found is not None and url is not None and url.endswith(message_path(channel, ts)):
                self._base = found.group("base")
            return url


def messenger_permalink(ctx: HandlerContext) -> Permalink | None:
    """The messenger's permalink lookup when it has one (Slack's does; a plain Messenger need not)."""
    found = getattr(ctx.messenger, "permalink", None)
    return found if callable(found) else None


# -- the listing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogEntry:
    request: ChangeRequest
    link: str | None

    @property
    def deciders(self) -> tuple[str, ...]:
        """Who decided: every approver of an approved request, else whoever denied or cancelled it."""
        request = self.request
        if request.status is Status.EXPIRED:
            return ()
        if request.status in (Status.DONE, Status.FAILED, Status.INTERRUPTED) and request.approvers:
            named = list(request.approvers)
            if request.decided_by and request.decided_by not in named:
                named.append(request.decided_by)  # a Retry after a failure
            return tuple(named)
        return (request.decided_by,) if request.decided_by else ()

    def row(self) -> dict[str, str]:
        """One line of `hubkeeper log` (CSV columns / JSON keys, in order)."""
        request = self.request
        return {
            "decided_at": _iso(request.updated_at),
            "request_id": request.id,
            "instance": request.instance,
            "kind": request.kind,
            "outcome": request.status.value,
            "summary": bk.unescape(request.summary),
            "requester": request.requester,
            "decided_by": " ".join(self.deciders),
            "reason": request.reason,
            "note": request.decision_note or request.error or "",
            "requested_at": _iso(request.created_at),
            "approval_channel": request.channel or "",
            "approval_ts": request.ts or "",
            "approval_link": self.link or "",
        }


COLUMNS = (
    "decided_at",
    "request_id",
    "instance",
    "kind",
    "outcome",
    "summary",
    "requester",
    "decided_by",
    "reason",
    "note",
    "requested_at",
    "approval_channel",
    "approval_ts",
    "approval_link",
)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


async def log_entries(
    store: RequestStore,
    since: datetime,
    *,
    subject: Subject | None = None,
    instance: str | None = None,
    permalink: Permalink | None = None,
    limit: int | None = None,
) -> list[LogEntry]:
    """Decided requests since `since` about `subject` (all when None), newest first, with their links."""
    requests = [
        request
        for request in await store.decided_since(since, instance=instance)
        if subject is None or subjects_of(request).match(subject)
    ]
    if limit is not None:
        requests = requests[:limit]
    links = ApprovalLinks(permalink)
    return [LogEntry(request, await links.link(request.channel, request.ts)) for request in requests]


_OUTCOME_WORDS = {
    Status.DONE: ":white_check_mark: done",
    Status.FAILED: ":x: failed",
    Status.INTERRUPTED: ":warning: interrupted",
    Status.DENIED: ":no_entry: denied",
    Status.CANCELLED: ":leftwards_arrow_with_hook: cancelled",
    Status.EXPIRED: ":hourglass: expired",
}


def _headline(summary: str, limit: int = 200) -> str:
    # A bulk request's summary lists every person (up to 100): one log line shows its first line, and
    # the approval message it links to has the rest.
    first = summary.splitlines()[0] if summary else ""
    if first == summary and len(first) <= limit:
        return summary
    return first[: limit - 1].rstrip() + " …"


def _line(entry: LogEntry) -> str:
    request = entry.request
    deciders = ", ".join(f"<@{user}>" for user in entry.deciders) or "nobody"
    where = f"<{entry.link}|approval message>" if entry.link else (f"<#{request.channel}>" if request.channel else "")
    parts = [
        f"{request.updated_at.astimezone(UTC):%Y-%m-%d %H:%M}",
        _OUTCOME_WORDS.get(request.status, request.status.value),
        _headline(request.summary),
    ]
    line = " · ".join(parts) + f"\n      asked by <@{request.requester}>, decided by {deciders}"
    note = request.decision_note or (request.error if request.status in (Status.FAILED, Status.INTERRUPTED) else None)
    if note:
        line += f" ({bk.echo(note, 200)})"
    line += f" · `{request.id}`" + (f" · {where}" if where else "")
    return line


async def request_log(ctx: HandlerContext, subject: str | None, days: int, *, now: datetime | None = None) -> Reply:
    """`/hub log [subject] [--days N]`: the instance's decided requests about `subject`, newest first."""
    if ctx.store is None:
        return bk.message("hubkeeper has no store configured here, so there is no request log.")
    try:
        wanted = parse_subject(subject) if subject else None
        days = parse_days(days)
    except InvalidInput as error:
        return bk.message(bk.escape(error.message))
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    entries = await log_entries(
        ctx.store, since, subject=wanted, instance=ctx.instance, permalink=messenger_permalink(ctx)
    )
    about = f" about {bk.code(str(wanted))}" if wanted else ""
    window = f"the last {bk.plural(days, 'day')}"
    if not entries:
        return bk.message(f"No decided requests{about} on *{bk.escape(ctx.instance)}* in {window}.")
    head = [
        bk.header(f"Request log: {ctx.instance}"),
        bk.context(f"{bk.plural(len(entries), 'decided request')}{about} in {window}, newest first"),
    ]
    shown = entries[:SHOWN_ON_SLACK]
    tail = []
    if len(entries) > len(shown):
        tail.append(bk.context(f"Older ones: `hubkeeper log --since {days}d` gives them all, as CSV or JSON."))
    return bk.reply(
        bk.list_blocks(head, [_line(entry) for entry in shown], tail),
        text=f"{bk.plural(len(entries), 'decided request')}{about} in {window}",
    )


async def request_log_command(ctx: HandlerContext, words: Iterable[str], *, now: datetime | None = None) -> Reply:
    """`/hub log` with its words as typed: `[subject] [--days N]`."""
    try:
        subject, days = parse_log_args(words)
    except InvalidInput as error:
        return bk.message(bk.escape(error.message), "Usage: `/hub log [username|team|namespace/repository] [--days N]`")
    return await request_log(ctx, str(subject) if subject else None, days, now=now)


@dataclass(frozen=True)
class LogQuery:
    subject: Subject | None
    days: int


def _parse_log_query(_: Syntax, args: list[str]) -> LogQuery:
    subject, days = parse_log_args(args)
    return LogQuery(subject, days)


async def _run_log(ctx: HandlerContext, query: LogQuery) -> Reply:
    return await request_log(ctx, str(query.subject) if query.subject else None, query.days)


LOG = Lookup(
    Syntax(
        "log",
        "log [username|team|namespace/repository] [--days N]",
        "Decided requests about someone or something, newest first",
        ("/hub log umarkhan --days 7",),
    ),
    LogQuery,
    _parse_log_query,
    _run_log,
)

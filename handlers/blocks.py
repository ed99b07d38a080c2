"""Block Kit builders: small pure functions that return plain dicts within Slack's limits.

Two rules hold for everything built here:

- Text that came from a person or from Docker Hub goes through `escape` before it meets mrkdwn, so
  it can never ping a channel or forge a link. Our own markup never uses `<…>` either, so a reply's
  text holds no `<` at all.
- Every builder enforces its own Block Kit limit (listed below), and `finish` enforces the
  message-wide ones (50 blocks, ~11k characters of text). Long lists are packed into as many sections as fit and end
  with a note saying how many were not shown; nothing is dropped without saying so.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from handlers.context import Block, Reply
from handlers.words import plural as plural  # `blocks.plural`, as every message builder calls it
from hub.errors import (
    AuthenticationFailed,
    BadRequest,
    Conflict,
    HubError,
    HubUnavailable,
    InvalidInput,
    NotAnOrgMember,
    NotFound,
    PermissionDenied,
    RateLimited,
    UnexpectedResponse,
    WrongTokenType,
)

# -- Slack's Block Kit limits ----------------------------------------------------------------------

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_CONTEXT_TEXT = 2000
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ID = 255
MAX_TOTAL_TEXT = 10_000
"""Slack answers `msg_blocks_too_long` somewhere around 11-12k characters of block text; the limit
is undocumented, so we stay a safe margin below it."""
MAX_FALLBACK_TEXT = 12_000
"""`Reply.text` (Slack truncates at 40k; notifications show far less)."""
MAX_ECHO = 100
"""How much of a person's input a reply repeats back."""

ELLIPSIS = "…"


# -- text -----------------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Make text safe inside mrkdwn: the three characters Slack gives control meaning."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """The reverse of `escape`, for showing a reply outside Slack (the CLI)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in "…" when cut.

    Safe on escaped text: a cut never leaves half an entity (`&am…`) behind.
    """
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + ELLIPSIS


def echo(text: str, limit: int = MAX_ECHO) -> str:
    """Someone's input as a reply may repeat it: cut short, then escaped."""
    return escape(clip(text, limit))


def code(text: str, limit: int = MAX_ECHO) -> str:
    """Input shown as `code`; backticks inside would end the span early, so they become quotes."""
    shown = echo(text, limit).replace("`", "'")
    return f"`{shown}`"


def age(when: datetime | None, now: datetime | None = None) -> str:
    """How long ago, coarsely: "just now", "5 minutes", "3 days", "4 months", "2 years"."""
    if when is None:
        return "unknown"
    now = now or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (now - when).total_seconds()
    if seconds < 60:
        return "just now"
    for size, unit in ((365 * 86400, "year"), (30 * 86400, "month"), (86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            return plural(int(seconds // size), unit)
    return "just now"  # unreachable: seconds ≥ 60 matches minutes


def date(when: datetime | None) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d") if when is not None else "unknown"


def when_ago(when: datetime | None, now: datetime | None = None) -> str:
    """ "2025-06-02 (3 days ago)"; "just now" needs no "ago"."""
    if when is None:
        return "unknown"
    ago = age(when, now)
    return f"{date(when)} ({ago if ago == 'just now' else ago + ' ago'})"


def join_limited(items: Sequence[str], limit: int, separator: str = ", ") -> str:
    """Items joined up to `limit` characters, then "and N more" rather than a silent cut."""
    out: list[str] = []
    used = 0
    for index, item in enumerate(items):
        rest = len(items) - index - 1
        tail = f"{separator}and {rest:,} more" if rest else ""
        cost = len(item) + (len(separator) if out else 0)
        if used + cost + len(tail) > limit:
            missing = len(items) - index
            note = f"and {missing:,} more"
            return separator.join([*out, note]) if out else clip(note, limit)
        out.append(item)
        used += cost
    return separator.join(out)


# -- blocks ---------------------------------------------------------------------------------------


def mrkdwn(text: str, limit: int = MAX_SECTION_TEXT) -> dict[str, Any]:
    # Slack refuses empty text objects; a lone space is the smallest valid one.
    return {"type": "mrkdwn", "text": clip(text, limit) or " "}


def plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit) or " ", "emoji": True}


def header(text: str) -> Block:
    """A header is plain text: only our own words and checked names (teams, orgs) go in it."""
    return {"type": "header", "text": plain(text, MAX_HEADER_TEXT)}


def section(text: str, *, fields: Sequence[str] = (), block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if fields:
        block["fields"] = [mrkdwn(field, MAX_FIELD_TEXT) for field in fields[:MAX_FIELDS]]
    if block_id:
        block["block_id"] = block_id[:MAX_ID]
    return block


def fields_sections(text: str, fields: Sequence[str]) -> list[Block]:
    """A section with up to 10 fields; more fields continue in further sections."""
    chunks = [fields[i : i + MAX_FIELDS] for i in range(0, len(fields), MAX_FIELDS)] or [[]]
    blocks = [section(text, fields=chunks[0])]
    blocks += [{"type": "section", "fields": [mrkdwn(f, MAX_FIELD_TEXT) for f in chunk]} for chunk in chunks[1:]]
    return blocks


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(text, MAX_CONTEXT_TEXT) for text in texts[:MAX_CONTEXT_ELEMENTS]]}


def divider() -> Block:
    return {"type": "divider"}


def button(text: str, action_id: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    """A button; its `value` carries state, so it is refused rather than cut when too long."""
    if len(value) > MAX_BUTTON_VALUE:
        raise ValueError(f"button value of {len(value)} characters is over Slack's {MAX_BUTTON_VALUE}")
    element: dict[str, Any] = {
        "type": "button",
        "text": plain(text, MAX_BUTTON_TEXT),
        "action_id": action_id[:MAX_ID],
        "value": value,
    }
    if style in ("primary", "danger"):
        element["style"] = style
    return element


def actions(elements: Sequence[dict[str, Any]], *, block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements[:MAX_ACTIONS_ELEMENTS])}
    if block_id:
        block["block_id"] = block_id[:MAX_ID]
    return block


def compact_json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


# -- measuring and fitting a message ---------------------------------------------------------------


def _texts(node: Any) -> Iterable[str]:
    """Every text a person sees in a block: text objects' `text`, at any depth."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from _texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)


def text_length(blocks: Sequence[Block]) -> int:
    """The cumulative text Slack counts toward `msg_blocks_too_long`."""
    return sum(len(text) for text in _texts(list(blocks)))


@dataclass(frozen=True)
class Packed:
    blocks: list[Block]
    shown: int
    """How many of the lines made it in; the caller says what the rest are."""


def pack_lines(lines: Sequence[str], *, max_blocks: int, max_chars: int) -> Packed:
    """Lines packed into as few sections as possible, within a block and a character budget.

    A line never straddles two sections, so an item is either shown whole or counted as not shown.
    """
    blocks: list[Block] = []
    current: list[str] = []
    current_len = 0
    used = 0
    shown = 0
    for line in lines:
        line = clip(line, MAX_SECTION_TEXT)
        extra = len(line) + (1 if current else 0)
        if current and current_len + extra > MAX_SECTION_TEXT:
            blocks.append(section("\n".join(current)))
            current, current_len, extra = [], 0, len(line)
        if len(blocks) + 1 > max_blocks or used + extra > max_chars:
            break
        current.append(line)
        current_len += extra
        used += extra
        shown += 1
    if current:
        blocks.append(section("\n".join(current)))
    return Packed(blocks, shown)


def list_blocks(
    head: Sequence[Block],
    lines: Sequence[str],
    tail: Sequence[Block] = (),
    *,
    not_shown: str = "{n} more not shown",
) -> list[Block]:
    """head, the lines packed into sections, then tail; lines that do not fit are counted in a note.

    `not_shown` is formatted with `n` (the number left out, with thousands separators).
    """
    note_room = len(not_shown) + 200  # the note, with room for a number and a hint
    budget_chars = MAX_TOTAL_TEXT - text_length(head) - text_length(tail) - note_room
    budget_blocks = MAX_BLOCKS - len(head) - len(tail) - 1
    packed = pack_lines(lines, max_blocks=max(budget_blocks, 0), max_chars=max(budget_chars, 0))
    blocks = [*head, *packed.blocks]
    missing = len(lines) - packed.shown
    if missing:
        blocks.append(context(ELLIPSIS + " " + not_shown.format(n=f"{missing:,}")))
    return finish([*blocks, *tail])


def finish(blocks: Sequence[Block]) -> list[Block]:
    """The last guard: a message over the block or text budget loses blocks from the end, and says so.

    Builders pack within budget themselves; this only catches what a caller got wrong, so the
    reply still arrives (and says it is incomplete) rather than Slack refusing it.
    """
    out = list(blocks)
    if len(out) <= MAX_BLOCKS and text_length(out) <= MAX_TOTAL_TEXT:
        return out
    note_room = 120
    dropped = 0
    while out and (len(out) > MAX_BLOCKS - 1 or text_length(out) > MAX_TOTAL_TEXT - note_room):
        out.pop()
        dropped += 1
    out.append(context(f"{ELLIPSIS} this reply was too long for Slack: {plural(dropped, 'part')} not shown"))
    return out


# -- replies --------------------------------------------------------------------------------------


def plain_text(blocks: Sequence[Block]) -> str:
    """The blocks flattened into one mrkdwn string, for `Reply.text` (notifications, screen readers).

    Still escaped, because Slack formats `text` as mrkdwn too; `terminal_text` undoes that.
    """
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"*{escape(block['text']['text'])}*")
        elif kind == "section":
            if "text" in block:
                lines.append(block["text"]["text"])
            lines += [field["text"] for field in block.get("fields", [])]
        elif kind == "context":
            lines.append("  ".join(element["text"] for element in block["elements"] if "text" in element))
        elif kind == "actions":
            labels = [escape(e["text"]["text"]) for e in block["elements"] if isinstance(e.get("text"), dict)]
            if labels:
                lines.append(" | ".join(f"[{label}]" for label in labels))
    return clip("\n".join(line for line in lines if line.strip()), MAX_FALLBACK_TEXT) or " "


def terminal_text(reply: Reply) -> str:
    """A reply as a terminal shows it: the fallback text, unescaped."""
    return unescape(reply.text)


def reply(blocks: Sequence[Block], *, text: str | None = None, replace_original: bool = False) -> Reply:
    """A Reply whose blocks fit Slack and whose `text` says the same thing in one string."""
    fitted = finish(blocks)
    return Reply(
        text=clip(text, MAX_FALLBACK_TEXT) if text else plain_text(fitted),
        blocks=fitted,
        replace_original=replace_original,
    )


def message(text: str, *notes: str) -> Reply:
    """A short reply: one section and optional context notes. `text` must already be escaped."""
    blocks = [section(text)]
    if notes:
        blocks.append(context(*notes))
    return reply(blocks)


# -- errors ---------------------------------------------------------------------------------------


def _error_title(error: HubError) -> tuple[str, str | None]:
    """What happened in a few words, and what the person can do about it (if anything)."""
    match error:
        case NotAnOrgMember():
            return "Not a member", None
        case NotFound():
            return "Not found", "Check the spelling; `/hub teams` and `/hub members` list what exists."
        case RateLimited(retry_after=wait):
            if wait is not None:
                return "Docker Hub is rate limiting hubkeeper", f"Try again in about {max(round(wait), 1)} s."
            return "Docker Hub is rate limiting hubkeeper", "Try again in a minute."
        case HubUnavailable():
            return "Docker Hub is unavailable", "Try again in a few minutes; status.docker.com says whether it is down."
        case WrongTokenType():
            return "Wrong kind of token", "An admin needs to configure an Organization Access Token."
        case AuthenticationFailed():
            return "Docker Hub refused hubkeeper's token", "An admin should check the token; `/hub health` shows more."
        case PermissionDenied():
            return "Permission denied", "The org access token may lack the scope this needs."
        case InvalidInput():
            return "That is not a valid value", "`/hub help` shows what each command takes."
        case Conflict():
            return "Conflict", None
        case BadRequest():
            return "Docker Hub refused the request", None
        case UnexpectedResponse():
            return "Docker Hub sent an unexpected answer", "This is likely a configuration problem (base URL)."
        case _:
            return "Docker Hub operation failed", None


def error_reply(error: HubError) -> Reply:
    """What went wrong, from the typed error's own message; never a traceback."""
    title, hint = _error_title(error)
    detail = escape(clip(error.message, 500)) if error.message else "no details"
    blocks = [section(f":warning: *{title}*: {detail}")]
    if hint:
        blocks.append(context(hint))
    return reply(blocks, text=f"{title}: {detail}")

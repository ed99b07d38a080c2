"""What every `/hub` command's parser shares: its syntax for help, the usage error, and word helpers.

The lexer that turns a line into words lives in `handlers/commands.py`; the lookups and the change
kinds each parse their own words with these helpers, so a command's grammar is declared where the
command is.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from hub import paths
from hub.errors import InvalidInput
from hub.models import Permission, Role

REASON_OPTION = "--reason"
DRY_RUN_OPTION = "--dry-run"
"""On any change command: show the plan the approver would see; nothing is filed, posted or changed."""
ORG_OPTION = "--org <instance>"
ROLES = tuple(role.value for role in Role)
"""Org roles as people type them and requests send them: owner, editor, member."""
PERMISSIONS = tuple(permission.value for permission in Permission)
"""A team's permissions on a repository: read, write, admin."""
MAX_SEARCH = 100
MAX_REASON = 500
"""A reason is stored with the request and shown in the approval message: a sentence, not an essay."""


@dataclass(frozen=True)
class Syntax:
    """How a command is typed and explained: what `/hub help` shows for it."""

    name: str
    """The words after `/hub` that name it, e.g. "team add"."""
    usage: str
    description: str
    examples: tuple[str, ...]

    @property
    def example(self) -> str:
        return self.examples[0]


class UsageError(Exception):
    """What was typed does not fit; `spec` is the command whose usage to show, if known."""

    def __init__(self, message: str, spec: Syntax | None = None, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.spec = spec
        self.suggestion = suggestion


@dataclass(frozen=True)
class Word:
    text: str
    start: int
    """Where the word begins in the line as typed."""
    rest_at: int
    """Where the text after it begins: a free-text tail is cut from the line here, as typed."""


@dataclass(frozen=True)
class Line:
    text: str
    """The line as typed."""
    words: list[Word]
    """The words before `--reason` (all of them when there is none)."""
    reason: str | None
    """The raw text after `--reason`, or None when the line has no `--reason`."""
    unclosed_quote: bool
    """Splitting stopped at a quote that is not closed; `words` holds the words before it."""


_QUOTE_PAIRS = {'"': '"', "'": "'", "“": "”", "‘": "’"}


def unquote(raw: str) -> str:
    """Free text as typed (a reason); quotes around all of it are optional, so they are dropped."""
    text = raw.strip()
    if len(text) >= 2 and _QUOTE_PAIRS.get(text[0]) == text[-1]:
        inner = text[1:-1]
        # `"a" and "b"` is not one quoted text; drop the quotes only when they wrap everything.
        if text[0] not in inner and text[-1] not in inner:
            text = inner.strip()
    return text


def closest(word: str, names: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word.lower(), list(names), n=1, cutoff=0.6)
    return matches[0] if matches else None


# -- values -----------------------------------------------------------------------------------------


def role(value: str) -> str:
    """An org role as requests spell it (lowercase)."""
    if value.lower() not in ROLES:
        raise InvalidInput("role", value, f"use one of {', '.join(ROLES)}")
    return value.lower()


def permission(value: str) -> str:
    """A team's permission on a repository, lowercase."""
    if value.lower() not in PERMISSIONS:
        raise InvalidInput("permission", value, f"use one of {', '.join(PERMISSIONS)}")
    return value.lower()


def member_ref(value: str) -> str:
    """An email or a Docker ID (username), checked as what it looks like."""
    return paths.email(value) if "@" in value else paths.username(value)


def invite_ref(value: str) -> str:
    """What names a pending invite: its id (a UUID), an email or a Docker ID."""
    try:
        return paths.invite_id(value)
    except InvalidInput:
        return member_ref(value)


def reason_text(value: str, spec: Syntax | None = None) -> str:
    """A reason, checked: not empty, at most MAX_REASON characters."""
    reason = value.strip()
    if not reason:
        raise UsageError(f"{REASON_OPTION} needs a text", spec)
    if len(reason) > MAX_REASON:
        raise UsageError(f"the reason is longer than {MAX_REASON} characters", spec)
    return reason


# -- words ------------------------------------------------------------------------------------------


def take_option(words: list[str], name: str, spec: Syntax | None) -> tuple[list[str], str | None]:
    """Remove `name value` (or `name=value`) from words; the last one given wins."""
    rest: list[str] = []
    value: str | None = None
    index = 0
    while index < len(words):
        word = words[index]
        if word == name:
            if index + 1 >= len(words):
                raise UsageError(f"{name} needs a value", spec)
            value = words[index + 1]
            index += 2
            continue
        if word.startswith(name + "="):
            value = word.split("=", 1)[1]
        else:
            rest.append(word)
        index += 1
    return rest, value


def take_text_option(args: list[str], name: str, stops: tuple[str, ...], spec: Syntax) -> tuple[list[str], str | None]:
    """Remove `name words…` (up to the next option in `stops`) from args; the words joined are its value."""
    rest: list[str] = []
    value: str | None = None
    index = 0
    while index < len(args):
        word = args[index]
        if word == name or word.startswith(name + "="):
            taken = [word.split("=", 1)[1]] if "=" in word else []
            index += 1
            while index < len(args) and args[index].split("=", 1)[0] not in stops:
                taken.append(args[index])
                index += 1
            if not taken:
                raise UsageError(f"{name} needs a value", spec)
            value = " ".join(taken)
            continue
        rest.append(word)
        index += 1
    return rest, value


def reject_unknown_options(spec: Syntax, args: list[str], known: tuple[str, ...] = ()) -> None:
    for arg in args:
        if arg.startswith("--") and arg.split("=", 1)[0] not in known:
            raise UsageError(f"unknown option {arg!r}", spec)


def positional(spec: Syntax, args: list[str], count: int, what: str) -> list[str]:
    if len(args) != count:
        raise UsageError(f"{spec.name} needs {what}", spec)
    return args


def no_arguments(spec: Syntax, args: list[str]) -> None:
    if args:
        raise UsageError(f"{spec.name} takes no arguments", spec)


def show_hint(word: str) -> str:
    """After `team`, subcommand words win: say how to look up a team named like one."""
    return f" (to look up a team named {word!r}, type `/hub team --show {word}`)"

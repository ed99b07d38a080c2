"""The `/hub` grammar: text in, a typed command (or a usage error that says what to type) out.

This module splits the line into words and finds the command they name in the two registries,
`handlers/lookups.py` and `handlers/requests/kinds.py`; each command parses its own words.
`--org <instance>` may stand anywhere on the line before `--reason`. Values that name Docker Hub
things are checked by the parsers, before any handler runs, with the same rules the Hub client
applies to paths.

A change command parses to one `Change`: its kind and the kind's typed parameters. `--reason`
takes the rest of the line as it was typed, so a reason may hold apostrophes and `--words`. After
`team` and `invite`, the words create, update, delete, add, remove (and cancel) are subcommands: a
team literally named like one is looked up with `/hub team --show <name>`. A word that names no
command, or no subcommand, is an error that points to `/hub help`: never some other command.

`--dry-run` is the grammar's, not any kind's: it is taken out of the line (anywhere before `--reason`,
or as the line's last word, after a reason too) before the kind sees the words, so every change kind,
one added tomorrow included, takes it without knowing of it.

Slack sends the line escaped (the manifest's `should_escape: true`, so that a person picked with `@`
arrives as their user ID): `&`, `<` and `>` as entities, links and emails as `<target|as typed>`,
people as `<@U…|name>`. `slack_text` turns it back into what was typed, keeping mentions as tokens
(`/hub access` takes a person).
"""

from __future__ import annotations

import io
import re
import shlex
from dataclasses import dataclass, replace
from typing import Any

from handlers import lookups
from handlers.blocks import unescape
from handlers.grammar import (
    DRY_RUN_OPTION,
    REASON_OPTION,
    Line,
    Syntax,
    UsageError,
    Word,
    closest,
    take_option,
    unquote,
)
from handlers.lookup import AnyLookup
from handlers.lookups import Help
from handlers.requests import kinds
from handlers.requests.kind import ChangeKind, Params
from hub.errors import InvalidInput


@dataclass(frozen=True)
class Change:
    """Any change command: its kind and the kind's checked parameters."""

    kind: ChangeKind[Any]
    params: Params
    reason: str | None = None
    dry_run: bool = False
    """`--dry-run`: show the plan the approver would see; file, post and change nothing."""


@dataclass(frozen=True)
class Parsed:
    command: object
    """A lookup's query (`Help`, `Whois`…) or a `Change`."""
    org: str | None = None
    """The instance label given with --org, if any."""


def syntaxes() -> list[Syntax]:
    return lookups.syntaxes()


def spec(name: str) -> Syntax | None:
    """The command typed as `name` (lowercase words, e.g. "team add")."""
    return next((syntax for syntax in syntaxes() if syntax.name == name), None)


def suggest(word: str) -> str | None:
    return closest(word, [syntax.name for syntax in syntaxes()])


_SLACK_TOKEN = re.compile(r"<([^<>]*)>")


def slack_text(text: str) -> str:
    """The line as typed, from Slack's escaped form; `<@U…|name>` mentions are kept as they are."""

    def typed(token: re.Match[str]) -> str:
        target, _, label = token.group(1).partition("|")
        if target.startswith(("@", "#", "!")):
            # People, channels and special mentions stay tokens: only `/hub access` takes one (a
            # person), and every other parser refuses them as they are.
            return token.group(0)
        # A link or an email: Slack puts what was typed after the pipe.
        return label or target.removeprefix("mailto:")

    # Tokens first: an escaped `&lt;` in the text is a literal `<`, never the start of one.
    return unescape(_SLACK_TOKEN.sub(typed, text))


_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})


def lex(text: str) -> Line:
    """Split into words like `shlex.split`, but lazily and with offsets, stopping at `--reason`.

    Lazily because a reason is free text ("don't", "--force it") that shell quoting would choke
    on; with offsets so that such text can be cut from the line exactly as it was typed. Slack's
    clients turn quotes into curly ones; people mean plain quotes.
    """
    translated = text.translate(_SMART_QUOTES)
    stream = io.StringIO(translated)
    lexer = shlex.shlex(stream, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    words: list[Word] = []
    position = 0
    while True:
        start = position
        while start < len(translated) and translated[start] in lexer.whitespace:
            start += 1
        try:
            token = lexer.get_token()
        except ValueError:
            return Line(text, words, None, unclosed_quote=True)
        if token is None:
            return Line(text, words, None, unclosed_quote=False)
        position = stream.tell()
        if token == REASON_OPTION:
            return Line(text, words, unquote(text[position:]), unclosed_quote=False)
        if token.startswith(REASON_OPTION + "=") and translated.startswith(REASON_OPTION + "=", start):
            return Line(text, words, unquote(text[start + len(REASON_OPTION) + 1 :]), unclosed_quote=False)
        words.append(Word(token, start, position))


def _command_words(words: list[str]) -> list[str]:
    """The words that are not `--org` or its value, lowercased."""
    found: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word == "--org":
            index += 2
        elif word.startswith("--org="):
            index += 1
        else:
            found.append(word.lower())
            index += 1
    return found


def take_dry_run(line: Line) -> tuple[Line, bool]:
    """The line as if `--dry-run` had not been typed, and whether it was.

    It is cut from the text itself (not only from the words) so that a kind reading free text from
    the line, like `request`'s reason, never sees it. As the last word of the line it counts even
    after `--reason`: someone who ends a line with it means a dry run, and filing the request instead
    would be the costly misreading.
    """
    text = line.text
    found = False
    stripped = text.rstrip()
    if stripped.endswith(DRY_RUN_OPTION) and stripped[: -len(DRY_RUN_OPTION)][-1:].isspace():
        text, found = stripped[: -len(DRY_RUN_OPTION)].rstrip(), True
        line = lex(text)
    flags = [word for word in line.words if word.text == DRY_RUN_OPTION]
    for word in reversed(flags):
        text = text[: word.start] + text[word.rest_at :]
    if flags:
        line, found = lex(text), True
    return line, found


def parse(text: str) -> Parsed:
    """`text` as Slack sends it (see `slack_text`)."""
    line, dry_run = take_dry_run(lex(slack_text(text)))
    parsed = _parse(line)
    if not dry_run:
        return parsed
    if not isinstance(parsed.command, Change):
        raise UsageError(f"{DRY_RUN_OPTION} goes with a change command; lookups change nothing anyway")
    return replace(parsed, command=replace(parsed.command, dry_run=True))


def _parse(line: Line) -> Parsed:
    names = _command_words([word.text for word in line.words])
    if not names:
        if line.unclosed_quote:
            raise UsageError("a quote is not closed")
        if line.reason is not None:
            raise UsageError("--reason goes at the end of a change command, e.g. `/hub remove umarkhan --reason left`")
        _, org = take_option([word.text for word in line.words], "--org", None)
        return Parsed(Help(), org)
    for name in (" ".join(names[:2]), names[0]) if len(names) > 1 else (names[0],):
        kind = kinds.by_command(name)
        lookup = lookups.by_command(name)
        try:
            if kind is not None:
                return _change(kind, line)
            if lookup is not None:
                return _lookup(lookup, name, line)
        except UsageError:
            _refuse_unknown_subcommand(names, name)
            raise
    group = [syntax for syntax in syntaxes() if syntax.name.startswith(names[0] + " ")]
    if group:
        raise UsageError(f"{names[0]} needs a subcommand", group[0])
    first = next(word.text for word in line.words if word.text.lower() == names[0])
    raise UsageError(f"unknown command {first!r}", None, suggest(names[0]))


def _refuse_unknown_subcommand(names: list[str], name: str) -> None:
    """A one-word command with subcommands that did not parse, its second word like a subcommand:
    `team archive mobile` is "no command `team archive`", never a lookup of some team or another kind."""
    if " " in name or len(names) < 2 or not names[1].isalpha():
        return
    subcommands = [syntax.name for syntax in syntaxes() if syntax.name.startswith(name + " ")]
    if subcommands:
        typed = f"{name} {names[1]}"
        raise UsageError(f"there is no command {typed!r}", None, closest(typed, subcommands)) from None


def _change(kind: ChangeKind[Any], line: Line) -> Parsed:
    reading = kind.read(line)
    return Parsed(Change(kind, reading.params, reading.reason), reading.org)


def _lookup(lookup: AnyLookup, name: str, line: Line) -> Parsed:
    spec = lookup.syntax
    if line.unclosed_quote:
        raise UsageError("a quote is not closed")
    words, org = take_option([word.text for word in line.words], "--org", None)
    if line.reason is not None:
        raise UsageError(f"unknown option {REASON_OPTION!r}", spec)
    try:
        return Parsed(lookup.parse(spec, words[len(name.split()) :]), org)
    except InvalidInput as error:
        raise UsageError(error.message, spec) from None

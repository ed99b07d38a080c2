"""The `/hub` grammar: text in, a typed command (or a usage error that says what to type) out.

`--org <instance>` may stand anywhere on the line. Values that name Docker Hub things are checked
here, before any handler runs, with the same rules the Hub client applies to paths.
"""

from __future__ import annotations

import difflib
import shlex
from dataclasses import dataclass

from hub import paths
from hub.errors import InvalidInput

MAX_SEARCH = 100


@dataclass(frozen=True)
class CommandSpec:
    name: str
    usage: str
    description: str
    example: str


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("help", "help [command]", "List the commands, or explain one", "/hub help members"),
    CommandSpec(
        "whois",
        "whois <email|username>",
        "One person: role, teams, guest or not, activity, pending invite",
        "/hub whois ada@acme.example",
    ),
    CommandSpec(
        "members",
        "members [search] [--role owner|editor|member]",
        "Org members, a page at a time",
        "/hub members --role owner",
    ),
    CommandSpec("teams", "teams", "Every team with its description and member count", "/hub teams"),
    CommandSpec("team", "team <name>", "One team: its details and members", "/hub team backend"),
    CommandSpec("invites", "invites", "Pending invites with their age, inviter and team", "/hub invites"),
    CommandSpec("health", "health", "Check the token, reading one member and reading one team", "/hub health"),
)
SPECS = {spec.name: spec for spec in COMMANDS}
ORG_OPTION = "--org <instance>"
ROLES = ("owner", "editor", "member")


@dataclass(frozen=True)
class Help:
    topic: str | None = None


@dataclass(frozen=True)
class Whois:
    query: str


@dataclass(frozen=True)
class Members:
    search: str | None = None
    role: str | None = None
    page: int = 1


@dataclass(frozen=True)
class Teams:
    pass


@dataclass(frozen=True)
class TeamShow:
    name: str


@dataclass(frozen=True)
class Invites:
    pass


@dataclass(frozen=True)
class Health:
    pass


Command = Help | Whois | Members | Teams | TeamShow | Invites | Health


@dataclass(frozen=True)
class Parsed:
    command: Command
    org: str | None = None
    """The instance label given with --org, if any."""


class UsageError(Exception):
    """What was typed does not fit; `spec` is the subcommand whose usage to show, if known."""

    def __init__(self, message: str, spec: CommandSpec | None = None, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.spec = spec
        self.suggestion = suggestion


_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})


def tokenize(text: str) -> list[str]:
    # Slack's clients turn quotes into curly ones; people mean plain quotes.
    try:
        return shlex.split(text.translate(_SMART_QUOTES))
    except ValueError:
        raise UsageError("a quote is not closed") from None


def _take_option(words: list[str], name: str, spec: CommandSpec | None) -> tuple[list[str], str | None]:
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


def suggest(word: str) -> str | None:
    matches = difflib.get_close_matches(word.lower(), list(SPECS), n=1, cutoff=0.6)
    return matches[0] if matches else None


def parse(text: str) -> Parsed:
    words, org = _take_option(tokenize(text), "--org", None)
    if not words:
        return Parsed(Help(), org)
    name, args = words[0].lower(), words[1:]
    spec = SPECS.get(name)
    if spec is None:
        raise UsageError(f"unknown command {words[0]!r}", None, suggest(name))
    try:
        return Parsed(_parse_command(spec, args), org)
    except InvalidInput as error:
        raise UsageError(error.message, spec) from None


def _no_arguments(spec: CommandSpec, args: list[str]) -> None:
    if args:
        raise UsageError(f"{spec.name} takes no arguments", spec)


def _parse_command(spec: CommandSpec, args: list[str]) -> Command:
    unknown = [arg for arg in args if arg.startswith("--") and not arg.startswith("--role")]
    if unknown:
        raise UsageError(f"unknown option {unknown[0]!r}", spec)
    match spec.name:
        case "help":
            if len(args) > 1:
                raise UsageError("help takes at most one command name", spec)
            return Help(args[0].lower() if args else None)
        case "whois":
            if len(args) != 1:
                raise UsageError("whois needs one email or username", spec)
            query = args[0]
            return Whois(paths.email(query) if "@" in query else paths.username(query))
        case "members":
            rest, role = _take_option(args, "--role", spec)
            if role is not None and role.lower() not in ROLES:
                raise UsageError(f"--role must be one of {', '.join(ROLES)}", spec)
            search = " ".join(rest) or None
            if search is not None and len(search) > MAX_SEARCH:
                raise UsageError(f"the search is longer than {MAX_SEARCH} characters", spec)
            return Members(search=search, role=role.lower() if role else None)
        case "team":
            if len(args) != 1:
                raise UsageError("team needs one team name", spec)
            return TeamShow(paths.team(args[0]))
        case "teams":
            _no_arguments(spec, args)
            return Teams()
        case "invites":
            _no_arguments(spec, args)
            return Invites()
        case _:
            _no_arguments(spec, args)
            return Health()

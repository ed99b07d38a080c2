"""The `/hub` grammar: text in, a typed command (or a usage error that says what to type) out.

`--org <instance>` may stand anywhere on the line before `--reason`. Values that name Docker Hub
things are checked here, before any handler runs, with the same rules the Hub client applies to paths.

Change commands (team create…, role, invite, grant, request, offboard…) all parse to one `Change`
whose `kind` names a `handlers.requests.kind` kind. `--reason` takes the rest of the line as it was
typed, so a reason may hold apostrophes and `--words`. After `team` and `invite`, the words
create, update, delete, add, remove (and cancel) are subcommands: a team literally named like one
is looked up with `/hub team --show <name>`.
"""

from __future__ import annotations

import difflib
import io
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

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
    CommandSpec("review", "review", "An access review: a CSV of every member, sent to you by DM", "/hub review"),
    CommandSpec("digest", "digest", "Post the digest (invites, stale members, changes) in this channel", "/hub digest"),
    CommandSpec("policy plan", "policy plan", "What applying the access policy file would change", "/hub policy plan"),
    # Changes: each is shown for approval before anything reaches Docker Hub. `[--reason <text…>]`
    # may end any of them; it is required where the usage shows it.
    CommandSpec(
        "team create", "team create <name> [description…]", "Create a team", "/hub team create mobile iOS and Android"
    ),
    CommandSpec(
        "team update",
        "team update <name> [--name <new>] [--description <text…>]",
        "Rename a team or change its description",
        "/hub team update mobile --name apps",
    ),
    CommandSpec("team delete", "team delete <name>", "Delete a team", "/hub team delete mobile"),
    CommandSpec(
        "team add", "team add <team> <username|email>", "Add an org member to a team", "/hub team add backend umarkhan"
    ),
    CommandSpec(
        "team remove", "team remove <team> <username>", "Take someone out of a team", "/hub team remove data ninagarcia"
    ),
    CommandSpec(
        "role",
        "role <username> <owner|editor|member> --reason <text…>",
        "Change someone's org role",
        "/hub role ivanpetrov editor --reason leads the API",
    ),
    CommandSpec(
        "remove",
        "remove <username> --reason <text…>",
        "Remove someone from the org and its teams",
        "/hub remove umarkhan --reason left in May",
    ),
    CommandSpec(
        "invite",
        "invite <email|username> [--team <team>] [--role <role>]",
        "Invite someone to the org",
        "/hub invite ada@acme.example --team backend",
    ),
    CommandSpec(
        "invite cancel",
        "invite cancel <email|username|invite id>",
        "Cancel a pending invite",
        "/hub invite cancel ravisharma",
    ),
    CommandSpec(
        "grant",
        "grant <team> <namespace/repo> <read|write|admin>",
        "Give a team access to a repository",
        "/hub grant data acme/api read",
    ),
    CommandSpec(
        "revoke", "revoke <team> <namespace/repo>", "Take a team's repository access away", "/hub revoke data acme/api"
    ),
    CommandSpec(
        "request",
        "request <namespace/repo> <read|write|admin> [for <N>m|h|d] <reason…>",
        "Ask for access to a repository",
        "/hub request acme/api write for 2h deploy the hotfix",
    ),
    CommandSpec(
        "offboard",
        "offboard <email|username> --reason <text…>",
        "Remove a leaver: org, teams, invites",
        "/hub offboard ivanpetrov --reason last day today",
    ),
)
SPECS = {spec.name: spec for spec in COMMANDS}
ORG_OPTION = "--org <instance>"
REASON_OPTION = "--reason"
ROLES = ("owner", "editor", "member")
PERMISSIONS = ("read", "write", "admin")
MAX_REASON = 500
"""A reason is stored with the request and shown in the approval message: a sentence, not an essay."""
MIN_DURATION = 60
MAX_DURATION = 90 * 86400
"""Time-bound access (`request … for 2h`) runs from a minute to 90 days; longer is "for good"."""
TEAM_SUBCOMMANDS = ("create", "update", "delete", "add", "remove")
INVITE_SUBCOMMANDS = ("cancel",)
REASON_REQUIRED = frozenset({"role", "remove", "offboard", "request"})
"""Changes that take away or hand out power get a reason in the audit log, always."""


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


@dataclass(frozen=True)
class Review:
    pass


@dataclass(frozen=True)
class DigestNow:
    pass


@dataclass(frozen=True)
class PolicyPlan:
    pass


@dataclass(frozen=True)
class Change:
    """Any change command: `kind` names its `handlers.requests.kind` kind, `params` are JSON-safe and checked."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None


Command = Help | Whois | Members | Teams | TeamShow | Invites | Health | Review | DigestNow | PolicyPlan | Change


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


@dataclass(frozen=True)
class _Word:
    text: str
    start: int
    """Where the word begins in the line as typed."""
    rest_at: int
    """Where the text after it begins: a free-text tail is cut from the line here, as typed."""


@dataclass(frozen=True)
class _Line:
    text: str
    """The line as typed."""
    words: list[_Word]
    """The words before `--reason` (all of them when there is none)."""
    reason: str | None
    """The raw text after `--reason`, or None when the line has no `--reason`."""
    unclosed_quote: bool
    """Splitting stopped at a quote that is not closed; `words` holds the words before it."""


def _lex(text: str) -> _Line:
    """Split like `tokenize`, but lazily and with offsets, stopping at `--reason`.

    Lazily because a reason is free text ("don't", "--force it") that shell quoting would choke
    on; with offsets so that such text can be cut from the line exactly as it was typed. shlex's
    own lexer is used (as `shlex.split` does) so words split exactly as they always have.
    """
    translated = text.translate(_SMART_QUOTES)
    stream = io.StringIO(translated)
    lexer = shlex.shlex(stream, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    words: list[_Word] = []
    position = 0
    while True:
        start = position
        while start < len(translated) and translated[start] in lexer.whitespace:
            start += 1
        try:
            token = lexer.get_token()
        except ValueError:
            return _Line(text, words, None, unclosed_quote=True)
        if token is None:
            return _Line(text, words, None, unclosed_quote=False)
        position = stream.tell()
        if token == REASON_OPTION:
            return _Line(text, words, _reason_text(text[position:]), unclosed_quote=False)
        if token.startswith(REASON_OPTION + "=") and translated.startswith(REASON_OPTION + "=", start):
            return _Line(text, words, _reason_text(text[start + len(REASON_OPTION) + 1 :]), unclosed_quote=False)
        words.append(_Word(token, start, position))


_QUOTE_PAIRS = {'"': '"', "'": "'", "“": "”", "‘": "’"}


def _reason_text(raw: str) -> str:
    """The reason as typed; quotes around all of it are optional, so they are dropped."""
    reason = raw.strip()
    if len(reason) >= 2 and _QUOTE_PAIRS.get(reason[0]) == reason[-1]:
        inner = reason[1:-1]
        # `"a" and "b"` is not one quoted reason; drop the quotes only when they wrap everything.
        if reason[0] not in inner and reason[-1] not in inner:
            reason = inner.strip()
    return reason


def parse(text: str) -> Parsed:
    line = _lex(text)
    name = _command_name([word.text for word in line.words])
    if name == "request":
        return _parse_request(line)
    if line.unclosed_quote:
        raise UsageError("a quote is not closed")
    words, org = _take_option([word.text for word in line.words], "--org", None)
    if not words:
        if line.reason is not None:
            raise UsageError("--reason goes at the end of a change command, e.g. `/hub remove umarkhan --reason left`")
        return Parsed(Help(), org)
    name, args = words[0].lower(), words[1:]
    if name == "policy":
        # `policy` has one subcommand so far; the Apply button, not a command, applies it.
        if not args or args[0].lower() != "plan":
            raise UsageError("policy needs a subcommand", SPECS["policy plan"])
        name, args = "policy plan", args[1:]
    spec = SPECS.get(name)
    if spec is None:
        raise UsageError(f"unknown command {words[0]!r}", None, suggest(name))
    change_spec = _change_spec(name, args)
    try:
        if change_spec is not None:
            return Parsed(_parse_change(change_spec, args, line.reason), org)
        if line.reason is not None:
            raise UsageError(f"unknown option {REASON_OPTION!r}", spec)
        return Parsed(_parse_command(spec, args), org)
    except InvalidInput as error:
        raise UsageError(error.message, change_spec or spec) from None


def _command_name(words: list[str]) -> str | None:
    """The first word that is not `--org` or its value, lowercased."""
    index = 0
    while index < len(words):
        word = words[index]
        if word == "--org":
            index += 2
        elif word.startswith("--org="):
            index += 1
        else:
            return word.lower()
    return None


def _change_spec(name: str, args: list[str]) -> CommandSpec | None:
    """The change command's spec when the line is one, else None (a lookup)."""
    if name == "team" and args and args[0].lower() in TEAM_SUBCOMMANDS:
        return SPECS[f"team {args[0].lower()}"]
    if name == "invite" and args and args[0].lower() in INVITE_SUBCOMMANDS:
        return SPECS[f"invite {args[0].lower()}"]
    if name in ("role", "remove", "invite", "grant", "revoke", "offboard"):
        return SPECS[name]
    return None


# -- change commands ------------------------------------------------------------------------------

_DURATION = re.compile(r"(\d{1,6})([mhd])")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}


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


def duration_seconds(value: str) -> int:
    """`30m`, `2h`, `7d` → seconds, from a minute to 90 days."""
    match = _DURATION.fullmatch(value.lower())
    if match is None:
        raise InvalidInput("duration", value, "use minutes, hours or days, e.g. 30m, 2h or 7d")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not MIN_DURATION <= seconds <= MAX_DURATION:
        raise InvalidInput("duration", value, "it must be from 1m to 90d")
    return seconds


def reason_text(value: str, spec: CommandSpec | None = None) -> str:
    """A reason, checked: not empty, at most MAX_REASON characters."""
    reason = value.strip()
    if not reason:
        raise UsageError(f"{REASON_OPTION} needs a text", spec)
    if len(reason) > MAX_REASON:
        raise UsageError(f"the reason is longer than {MAX_REASON} characters", spec)
    return reason


def _reason(spec: CommandSpec, reason: str | None) -> str | None:
    if reason is None:
        if spec.name in REASON_REQUIRED:
            raise UsageError(f"{spec.name} needs {REASON_OPTION} <text>: why, for the audit log", spec)
        return None
    return reason_text(reason, spec)


def _reject_unknown_options(spec: CommandSpec, args: list[str], known: tuple[str, ...] = ()) -> None:
    for arg in args:
        if arg.startswith("--") and arg.split("=", 1)[0] not in known:
            raise UsageError(f"unknown option {arg!r}", spec)


def _take_text_option(
    args: list[str], name: str, stops: tuple[str, ...], spec: CommandSpec
) -> tuple[list[str], str | None]:
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


def _positional(spec: CommandSpec, args: list[str], count: int, what: str) -> list[str]:
    if len(args) != count:
        raise UsageError(f"{spec.name} needs {what}", spec)
    return args


def _parse_change(spec: CommandSpec, args: list[str], raw_reason: str | None) -> Change:
    reason = _reason(spec, raw_reason)
    if " " in spec.name:
        args = args[1:]  # the subcommand word
    match spec.name:
        case "team create":
            _reject_unknown_options(spec, args)
            if not args:
                raise UsageError(f"team create needs a team name{_show_hint('create')}", spec)
            name, description = paths.team(args[0]), " ".join(args[1:])
            return Change("team_create", {"name": name, "description": description}, reason)
        case "team update":
            args, new_description = _take_text_option(args, "--description", ("--name",), spec)
            args, new_name = _take_option(args, "--name", spec)
            _reject_unknown_options(spec, args)
            (name,) = _positional(spec, args, 1, f"one team name{_show_hint('update')}")
            if new_name is None and new_description is None:
                raise UsageError("team update needs --name or --description (or both)", spec)
            params = {
                "name": paths.team(name),
                "new_name": paths.team(new_name) if new_name is not None else None,
                "description": new_description,
            }
            return Change("team_update", params, reason)
        case "team delete":
            _reject_unknown_options(spec, args)
            (name,) = _positional(spec, args, 1, f"one team name{_show_hint('delete')}")
            return Change("team_delete", {"name": paths.team(name)}, reason)
        case "team add":
            _reject_unknown_options(spec, args)
            team, member = _positional(spec, args, 2, f"a team and a username or email{_show_hint('add')}")
            return Change("team_add", {"team": paths.team(team), "member": member_ref(member)}, reason)
        case "team remove":
            _reject_unknown_options(spec, args)
            team, username = _positional(spec, args, 2, f"a team and a username{_show_hint('remove')}")
            return Change("team_remove", {"team": paths.team(team), "username": paths.username(username)}, reason)
        case "role":
            _reject_unknown_options(spec, args)
            username, new_role = _positional(spec, args, 2, "a username and a role (owner, editor or member)")
            return Change("role", {"username": paths.username(username), "role": role(new_role)}, reason)
        case "remove":
            _reject_unknown_options(spec, args)
            (username,) = _positional(spec, args, 1, "one username")
            return Change("member_remove", {"username": paths.username(username)}, reason)
        case "invite":
            args, invite_team = _take_option(args, "--team", spec)
            args, invite_role = _take_option(args, "--role", spec)
            _reject_unknown_options(spec, args)
            (invitee,) = _positional(spec, args, 1, "one email or username")
            params = {
                "invitee": member_ref(invitee),
                "team": paths.team(invite_team) if invite_team is not None else None,
                "role": role(invite_role) if invite_role is not None else None,
            }
            return Change("invite", params, reason)
        case "invite cancel":
            _reject_unknown_options(spec, args)
            (invitee,) = _positional(spec, args, 1, "one email, username or invite id")
            return Change("invite_cancel", {"invitee": invite_ref(invitee)}, reason)
        case "grant":
            _reject_unknown_options(spec, args)
            team, ref, level = _positional(spec, args, 3, "a team, a namespace/repository and read, write or admin")
            namespace, repository = paths.parse_repository_ref(ref)
            params = {
                "team": paths.team(team),
                "namespace": namespace,
                "repository": repository,
                "permission": permission(level),
            }
            return Change("grant", params, reason)
        case "revoke":
            _reject_unknown_options(spec, args)
            team, ref = _positional(spec, args, 2, "a team and a namespace/repository")
            namespace, repository = paths.parse_repository_ref(ref)
            return Change(
                "revoke", {"team": paths.team(team), "namespace": namespace, "repository": repository}, reason
            )
        case _:
            _reject_unknown_options(spec, args)
            (who,) = _positional(spec, args, 1, "one email or username")
            return Change("offboard", {"who": member_ref(who)}, reason)


def _show_hint(word: str) -> str:
    return f" (to look up a team named {word!r}, type `/hub team --show {word}`)"


def _parse_request(line: _Line) -> Parsed:
    """`request <ns/repo> <permission> [for <N>m|h|d] <reason…>`: the reason is the rest of the line.

    The reason is cut from the line as typed (like `--reason`), so everything after the permission
    and duration belongs to it, `--org` included; `--org` goes before the reason.
    """
    spec = SPECS["request"]
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
    try:
        namespace, repository = paths.parse_repository_ref(positionals[1])
        level = permission(positionals[2])
        duration: int | None = None
        # `for` starts a duration only when a number follows ("for 2h"); "for the incident" is the reason.
        if index + 1 < len(words) and words[index].text.lower() == "for" and words[index + 1].text[:1].isdigit():
            duration = duration_seconds(words[index + 1].text)
            rest_at = words[index + 1].rest_at
            index += 2
        while index < len(words) and take_org():
            rest_at = words[index - 1].rest_at
    except InvalidInput as error:
        raise UsageError(error.message, spec) from None
    assert rest_at is not None
    if line.reason is not None:
        if index < len(words):
            raise UsageError("give the reason once: after the permission, or after --reason", spec)
        reason = reason_text(line.reason, spec)
    else:
        tail = _reason_text(line.text[rest_at:])
        if not tail:
            raise UsageError("request needs a reason after the permission (why you need the access)", spec)
        reason = reason_text(tail, spec)
    params = {"namespace": namespace, "repository": repository, "permission": level, "duration_seconds": duration}
    return Parsed(Change("access_request", params, reason), org)


def _no_arguments(spec: CommandSpec, args: list[str]) -> None:
    if args:
        raise UsageError(f"{spec.name} takes no arguments", spec)


def _parse_command(spec: CommandSpec, args: list[str]) -> Command:
    # `team --show <name>` looks up a team named like a subcommand (`create`, `delete`…).
    if spec.name == "team" and len(args) == 2 and args[0] == "--show":
        return TeamShow(paths.team(args[1]))
    unknown = [arg for arg in args if arg.startswith("--") and not arg.startswith("--role")]
    if unknown:
        raise UsageError(f"unknown option {unknown[0]!r}", spec)
    match spec.name:
        case "help":
            # Two words name a subcommand (`help team add`); anything else longer is a mistake.
            topic = " ".join(args).lower()
            if len(args) > 1 and topic not in SPECS:
                raise UsageError("help takes at most one command name", spec)
            return Help(topic or None)
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
        case "review":
            _no_arguments(spec, args)
            return Review()
        case "digest":
            _no_arguments(spec, args)
            return DigestNow()
        case "policy plan":
            _no_arguments(spec, args)
            return PolicyPlan()
        case _:
            _no_arguments(spec, args)
            return Health()

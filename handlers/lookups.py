"""Every lookup command, in the order `/hub help` lists them: adding a lookup is one line here.

Like `handlers/requests/kinds.py` for changes, this tuple is the registry; nothing registers itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.access_review import REVIEW_ACCESS
from handlers.digest.service import DIGEST
from handlers.grammar import Syntax, UsageError
from handlers.health import HEALTH
from handlers.invites import INVITES
from handlers.lookup import AnyLookup, Lookup
from handlers.member_access import ACCESS
from handlers.members import MEMBERS, WHOIS
from handlers.policy.slack import POLICY_PLAN
from handlers.repos import REPO, REPOS
from handlers.request_log import LOG
from handlers.requests import kinds
from handlers.review import REVIEW
from handlers.teams import TEAM, TEAMS


@dataclass(frozen=True)
class Help:
    topic: str | None = None


def _parse_help(spec: Syntax, args: list[str]) -> Help:
    # Two words name a subcommand (`help team add`); anything else longer is a mistake.
    topic = " ".join(args).lower()
    if len(args) > 1 and not any(syntax.name == topic for syntax in syntaxes()):
        raise UsageError("help takes at most one command name", spec)
    return Help(topic or None)


HELP: Lookup[Help] = Lookup(
    Syntax("help", "help [command]", "List the commands, or explain one", ("/hub help members",)),
    Help,
    _parse_help,
    None,
)

ALL: tuple[AnyLookup, ...] = (
    HELP,
    WHOIS,
    MEMBERS,
    TEAMS,
    TEAM,
    INVITES,
    REPO,
    REPOS,
    ACCESS,
    HEALTH,
    REVIEW,
    REVIEW_ACCESS,
    DIGEST,
    POLICY_PLAN,
    LOG,
)


def by_command(words: str) -> AnyLookup | None:
    return next((lookup for lookup in ALL if lookup.syntax.name == words), None)


def answering(query: object) -> AnyLookup | None:
    """The lookup whose parser made `query`."""
    return next((lookup for lookup in ALL if lookup.answers(query)), None)


def syntaxes() -> list[Syntax]:
    """Every command, lookups first, then the changes a command asks for: what `/hub help` lists."""
    return [lookup.syntax for lookup in ALL] + [kind.syntax for kind in kinds.ALL if kind.command is not None]

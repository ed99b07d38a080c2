"""The /hub grammar: typed commands out, or a usage error that says what to type."""

from __future__ import annotations

import pytest

from handlers import commands
from handlers.commands import Parsed, parse
from handlers.digest.service import DigestNow
from handlers.grammar import UsageError
from handlers.health import Health
from handlers.invites import Invites
from handlers.lookups import Help
from handlers.members import Members, Whois
from handlers.policy.slack import PolicyPlan
from handlers.review import Review
from handlers.teams import Teams, TeamShow


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Parsed(Help())),
        ("   ", Parsed(Help())),
        ("help", Parsed(Help())),
        ("HELP Members", Parsed(Help("members"))),
        ("whois ada@acme.example", Parsed(Whois("ada@acme.example"))),
        ("whois alicechen", Parsed(Whois("alicechen"))),
        ("members", Parsed(Members())),
        ("members chen", Parsed(Members(search="chen"))),
        ("members --role OWNER", Parsed(Members(role="owner"))),
        ("members --role=editor ali", Parsed(Members(search="ali", role="editor"))),
        ('members "alice chen"', Parsed(Members(search="alice chen"))),
        ("members “alice chen”", Parsed(Members(search="alice chen"))),
        ("teams", Parsed(Teams())),
        ("team backend", Parsed(TeamShow("backend"))),
        ("invites", Parsed(Invites())),
        ("health", Parsed(Health())),
        ("review", Parsed(Review())),
        ("digest", Parsed(DigestNow())),
        ("policy plan", Parsed(PolicyPlan())),
        ("POLICY Plan --org prod", Parsed(PolicyPlan(), org="prod")),
        ("--org prod teams", Parsed(Teams(), org="prod")),
        ("teams --org prod", Parsed(Teams(), org="prod")),
        ("members --org=staging --role member", Parsed(Members(role="member"), org="staging")),
    ],
)
def test_valid_lines(text: str, expected: Parsed) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message", "usage_of"),
    [
        ("whois", "whois needs one email or username", "whois"),
        ("whois a b", "whois needs one email or username", "whois"),
        ("whois ../etc", "username '../etc' is not valid", "whois"),
        ("whois a@b", "email 'a@b' is not valid", "whois"),
        ("team", "team needs one team name", "team"),
        ("team ../owners", "team name '../owners' is not valid", "team"),
        ("team <!channel>", "team name '<!channel>' is not valid", "team"),
        ("members --role boss", "--role must be one of owner, editor, member", "members"),
        ("members --role", "--role needs a value", "members"),
        ("members --sort name", "unknown option '--sort'", "members"),
        ("members " + "x" * 101, "the search is longer than 100 characters", "members"),
        ("teams all", "teams takes no arguments", "teams"),
        ("help a b", "help takes at most one command name", "help"),
        ("policy", "policy needs a subcommand", "policy plan"),
        ("policy apply", "policy needs a subcommand", "policy plan"),
        ("policy plan now", "policy plan takes no arguments", "policy plan"),
        ("digest weekly", "digest takes no arguments", "digest"),
        ("review all", "review takes no arguments", "review"),
    ],
)
def test_errors_name_the_problem_and_the_usage(text: str, message: str, usage_of: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text)
    assert message in caught.value.message
    assert caught.value.spec is commands.spec(usage_of)


def test_an_unknown_command_suggests_the_closest() -> None:
    with pytest.raises(UsageError) as caught:
        parse("membrs --role owner")
    assert caught.value.suggestion == "members"
    assert caught.value.spec is None
    with pytest.raises(UsageError) as caught:
        parse("frobnicate")
    assert caught.value.suggestion is None


def test_unbalanced_quotes_and_a_dangling_org() -> None:
    with pytest.raises(UsageError, match="a quote is not closed"):
        parse('members "alice')
    with pytest.raises(UsageError, match="--org needs a value"):
        parse("teams --org")


def test_every_command_has_usage_description_and_example() -> None:
    for spec in commands.syntaxes():
        assert spec.usage.startswith(spec.name)
        assert spec.description and spec.example.startswith("/hub " + spec.name)

"""The /hub grammar: typed commands out, or a usage error that says what to type."""

from __future__ import annotations

import pytest

from handlers import commands
from handlers.access_review import ReviewAccess
from handlers.commands import Parsed, parse, slack_text
from handlers.digest.service import DigestNow
from handlers.grammar import UsageError
from handlers.health import Health
from handlers.invites import Invites
from handlers.lookups import Help
from handlers.member_access import AccessQuery
from handlers.members import Members, Whois
from handlers.policy.slack import PolicyPlan
from handlers.repos import RepoQuery, ReposQuery
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
        ("review access", Parsed(ReviewAccess())),
        ("repo acme/api", Parsed(RepoQuery("acme/api"))),
        ("repo api", Parsed(RepoQuery("api"))),
        ("repos", Parsed(ReposQuery())),
        ("repos api gw", Parsed(ReposQuery("api gw"))),
        ("access erinpatel", Parsed(AccessQuery("erinpatel"))),
        ("access erinpatel@acme.example", Parsed(AccessQuery("erinpatel@acme.example"))),
        ("access <@U0ERINP01|erin>", Parsed(AccessQuery("<@U0ERINP01|erin>"))),
        ("access <@U0ERINP01|Erin Patel>", Parsed(AccessQuery("<@U0ERINP01|Erin Patel>"))),
        # As Slack sends an email with escaping on (the manifest's should_escape).
        (
            "access <mailto:erinpatel@acme.example|erinpatel@acme.example>",
            Parsed(AccessQuery("erinpatel@acme.example")),
        ),
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
        ("review 2026", "review takes no arguments", "review"),
        ("review access now", "review access takes no arguments", "review access"),
        ("repo", "repo needs one repository", "repo"),
        ("repo a/b/c", "expected namespace/repository", "repo"),
        ("repo Acme/API", "is not valid", "repo"),
        ("repos --teams", "unknown option '--teams'", "repos"),
        ("repos " + "x" * 101, "the search is longer than 100 characters", "repos"),
        ("access", "access needs a Docker username", "access"),
        ("access erin patel", "access needs one person", "access"),
        ("access @erin", "'@erin' is nobody on Slack", "access"),
        ("access ../etc", "username '../etc' is not valid", "access"),
    ],
)
def test_errors_name_the_problem_and_the_usage(text: str, message: str, usage_of: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text)
    assert message in caught.value.message
    assert caught.value.spec is commands.spec(usage_of)


def test_a_second_word_that_is_no_subcommand_suggests_one() -> None:
    with pytest.raises(UsageError) as caught:
        parse("review all")
    assert "there is no command 'review all'" in caught.value.message
    assert caught.value.suggestion == "review access"


@pytest.mark.parametrize(
    ("sent", "typed"),
    [
        ("whois &lt;b&gt; &amp; co", "whois <b> & co"),
        ("whois <mailto:a@acme.example|a@acme.example>", "whois a@acme.example"),
        (
            "request acme/docs read docs <https://jira.example/X-1|jira.example/X-1>",
            "request acme/docs read docs jira.example/X-1",
        ),
        ("log <https://acme.example>", "log https://acme.example"),
        ("access <@U0ERINP01|erin>", "access <@U0ERINP01|erin>"),
        ("team <!channel> <#C0HUBOPS01|hub-ops>", "team <!channel> <#C0HUBOPS01|hub-ops>"),
        ("team &lt;!channel&gt;", "team <!channel>"),
    ],
)
def test_slack_escaping_is_undone_but_mentions_stay(sent: str, typed: str) -> None:
    assert slack_text(sent) == typed


def test_an_escaped_reason_is_stored_as_typed() -> None:
    parsed = parse("remove umarkhan --reason left &amp; <https://hr.example/1|hr.example/1>")
    assert parsed.command.reason == "left & hr.example/1"  # type: ignore[attr-defined]


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

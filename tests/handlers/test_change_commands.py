"""The change commands' grammar: each line to one `Change(kind, params, reason)`, or a usage error."""

from __future__ import annotations

from typing import Any

import pytest

from handlers import commands
from handlers.commands import Change, Parsed, parse
from handlers.grammar import UsageError
from handlers.help import usage_reply
from handlers.lookups import Help
from handlers.requests import kinds
from handlers.teams import TeamShow

R = "because"


def change(name: str, params: dict[str, Any], reason: str | None = None) -> Change:
    """A parsed change as the grammar should make it: the kind named, its parameters typed."""
    kind = kinds.named(name)
    return Change(kind, kind.params_model(**params), reason)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # teams
        ("team create mobile", change("team_create", {"name": "mobile", "description": ""})),
        (
            "team create mobile iOS and Android apps",
            change("team_create", {"name": "mobile", "description": "iOS and Android apps"}),
        ),
        (
            "team create mobile 'Apps, iOS & Android' --reason new squad",
            change("team_create", {"name": "mobile", "description": "Apps, iOS & Android"}, "new squad"),
        ),
        (
            "team update backend --name services",
            change("team_update", {"name": "backend", "new_name": "services", "description": None}),
        ),
        (
            "team update backend --description All the APIs --name services",
            change("team_update", {"name": "backend", "new_name": "services", "description": "All the APIs"}),
        ),
        (
            "team update backend --description=Services only",
            change("team_update", {"name": "backend", "new_name": None, "description": "Services only"}),
        ),
        (
            'team update backend --description ""',
            change("team_update", {"name": "backend", "new_name": None, "description": ""}),
        ),
        ("TEAM DELETE mobile", change("team_delete", {"name": "mobile"})),
        ("team add backend umarkhan", change("team_add", {"team": "backend", "member": "umarkhan"})),
        (
            "team add backend umar.khan@acme.example",
            change("team_add", {"team": "backend", "member": "umar.khan@acme.example"}),
        ),
        ("team remove data ninagarcia", change("team_remove", {"team": "data", "username": "ninagarcia"})),
        # members
        (
            "role ivanpetrov EDITOR --reason leads the API",
            change("role", {"username": "ivanpetrov", "role": "editor"}, "leads the API"),
        ),
        ("remove umarkhan --reason left", change("member_remove", {"username": "umarkhan"}, "left")),
        # invites
        ("invite ada@acme.example", change("invite", {"invitee": "ada@acme.example", "team": None, "role": None})),
        (
            "invite adalovelace --team backend --role=Editor",
            change("invite", {"invitee": "adalovelace", "team": "backend", "role": "editor"}),
        ),
        ("invite cancel ravisharma", change("invite_cancel", {"invitee": "ravisharma"})),
        ("invite CANCEL newhire@acme.example", change("invite_cancel", {"invitee": "newhire@acme.example"})),
        (
            "invite cancel 8b1d2c3e-1111-4222-8333-944455566677",
            change("invite_cancel", {"invitee": "8b1d2c3e-1111-4222-8333-944455566677"}),
        ),
        # access
        (
            "grant data acme/api Read",
            change("grant", {"team": "data", "namespace": "acme", "repository": "api", "permission": "read"}),
        ),
        ("revoke security acme/web", change("revoke", {"team": "security", "namespace": "acme", "repository": "web"})),
        (
            "request acme/api write for 2h deploy the hotfix",
            change(
                "access_request",
                {"namespace": "acme", "repository": "api", "permission": "write", "duration_seconds": 7200},
                "deploy the hotfix",
            ),
        ),
        (
            "request acme/api read look at prod's logs",
            change(
                "access_request",
                {"namespace": "acme", "repository": "api", "permission": "read", "duration_seconds": None},
                "look at prod's logs",
            ),
        ),
        (
            "request acme/api read for the incident",
            change(
                "access_request",
                {"namespace": "acme", "repository": "api", "permission": "read", "duration_seconds": None},
                "for the incident",
            ),
        ),
        (
            "request acme/docs admin for 90d --reason docs owner",
            change(
                "access_request",
                {"namespace": "acme", "repository": "docs", "permission": "admin", "duration_seconds": 90 * 86400},
                "docs owner",
            ),
        ),
        (
            "request acme/docs write for 1m quick fix",
            change(
                "access_request",
                {"namespace": "acme", "repository": "docs", "permission": "write", "duration_seconds": 60},
                "quick fix",
            ),
        ),
        # offboarding
        ("offboard ivanpetrov --reason last day", change("offboard", {"who": "ivanpetrov"}, "last day")),
        ("offboard ivan@acme.example --reason gone", change("offboard", {"who": "ivan@acme.example"}, "gone")),
    ],
)
def test_change_lines(text: str, expected: Change) -> None:
    assert parse(text) == Parsed(expected)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # The rest of the line, as typed: apostrophes, --words and all.
        ("remove umarkhan --reason he's gone --force it", "he's gone --force it"),
        ("remove umarkhan --reason --org prod is not an option here", "--org prod is not an option here"),
        ('remove umarkhan --reason "left in May"', "left in May"),
        ("remove umarkhan --reason 'left in May'", "left in May"),
        ("remove umarkhan --reason “left in May”", "left in May"),
        ('remove umarkhan --reason "a" and "b"', '"a" and "b"'),
        ("remove umarkhan --reason=left in  May ", "left in  May"),
        ('remove umarkhan --reason="left" early', '"left" early'),
        ("remove umarkhan --reason   spaces   kept  inside", "spaces   kept  inside"),
    ],
)
def test_reason_takes_the_rest_of_the_line(text: str, reason: str) -> None:
    command = parse(text).command
    assert isinstance(command, Change)
    assert command.reason == reason


@pytest.mark.parametrize(
    ("text", "org", "expected"),
    [
        ("--org prod team delete mobile", "prod", change("team_delete", {"name": "mobile"})),
        ("team delete --org prod mobile --reason x", "prod", change("team_delete", {"name": "mobile"}, "x")),
        ("team delete mobile --org=staging", "staging", change("team_delete", {"name": "mobile"})),
        (
            "role ivanpetrov owner --org prod --reason on call --org other",
            "prod",
            change("role", {"username": "ivanpetrov", "role": "owner"}, "on call --org other"),
        ),
        (
            "team create mobile --org prod Mobile apps",
            "prod",
            change("team_create", {"name": "mobile", "description": "Mobile apps"}),
        ),
        (
            "request --org prod acme/api read for 2h look",
            "prod",
            change(
                "access_request",
                {"namespace": "acme", "repository": "api", "permission": "read", "duration_seconds": 7200},
                "look",
            ),
        ),
        (
            "request acme/api --org prod read --org=staging debugging",
            "staging",
            change(
                "access_request",
                {"namespace": "acme", "repository": "api", "permission": "read", "duration_seconds": None},
                "debugging",
            ),
        ),
        (
            # After the permission the reason has begun: --org there is part of it.
            "request acme/api read debugging --org prod",
            None,
            change(
                "access_request",
                {"namespace": "acme", "repository": "api", "permission": "read", "duration_seconds": None},
                "debugging --org prod",
            ),
        ),
    ],
)
def test_org_combines_with_changes(text: str, org: str | None, expected: Change) -> None:
    assert parse(text) == Parsed(expected, org=org)


@pytest.mark.parametrize(
    ("text", "message", "usage_of"),
    [
        ("team create", "team create needs a team name", "team create"),
        ("team create ../x", "team name '../x' is not valid", "team create"),
        ("team create mobile --color blue", "unknown option '--color'", "team create"),
        ("team update backend", "team update needs --name or --description", "team update"),
        ("team update --name x1y", "team update needs one team name", "team update"),
        ("team update backend --name", "--name needs a value", "team update"),
        ("team update backend --description", "--description needs a value", "team update"),
        ("team update backend --name a/b", "team name 'a/b' is not valid", "team update"),
        # A new name follows Docker Hub's rule for new names (3 to 30 characters); addressing does not.
        ("team update backend --name a", "team name 'a' is not valid", "team update"),
        ("team update qa --name a", "team name 'a' is not valid", "team update"),
        ("team create qa", "team name 'qa' is not valid", "team create"),
        ("team delete", "team delete needs one team name", "team delete"),
        ("team delete a b", "team delete needs one team name", "team delete"),
        ("team add backend", "team add needs a team and a username or email", "team add"),
        ("team add backend ../etc", "username '../etc' is not valid", "team add"),
        ("team add backend a@b", "email 'a@b' is not valid", "team add"),
        ("team remove backend ada@acme.example", "username 'ada@acme.example' is not valid", "team remove"),
        ("role ivanpetrov owner", "role needs --reason <text>", "role"),
        ("role ivanpetrov boss --reason x", "role 'boss' is not valid", "role"),
        ("role ivanpetrov --reason x", "role needs a username and a role", "role"),
        ("role ivanpetrov owner --reason", "--reason needs a text", "role"),
        ("role ivanpetrov owner --reason ''", "--reason needs a text", "role"),
        ("role ivanpetrov owner --reason " + "x" * 501, "the reason is longer than 500 characters", "role"),
        ("remove umarkhan", "remove needs --reason <text>", "remove"),
        ("remove --reason x", "remove needs one username", "remove"),
        ("remove <!channel> --reason x", "username '<!channel>' is not valid", "remove"),
        ("invite", "invite needs one email or username", "invite"),
        ("invite ada@acme.example --team x/y", "team name 'x/y' is not valid", "invite"),
        ("invite ada@acme.example --role boss", "role 'boss' is not valid", "invite"),
        ("invite ada@acme.example --team", "--team needs a value", "invite"),
        ("invite ada@acme.example --as owner", "unknown option '--as'", "invite"),
        ("invite cancel", "invite cancel needs one email, username or invite id", "invite cancel"),
        ("invite cancel a/b", "username 'a/b' is not valid", "invite cancel"),
        ("grant data acme/api", "grant needs a team, a namespace/repository", "grant"),
        ("grant data api read", "repository 'api' is not valid", "grant"),
        ("grant data acme/API read", "repository 'API' is not valid", "grant"),
        ("grant data acme/api/x read", "repository 'acme/api/x' is not valid", "grant"),
        ("grant data acme/api delete", "permission 'delete' is not valid", "grant"),
        ("revoke data", "revoke needs a team and a namespace/repository", "revoke"),
        ("request acme/api", "request needs a namespace/repository", "request"),
        ("request acme/api write", "request needs a reason", "request"),
        ("request acme/api write for 2h", "request needs a reason", "request"),
        ("request acme/api write for 2h --reason", "--reason needs a text", "request"),
        ("request acme/api write for 2w oops", "duration '2w' is not valid", "request"),
        ("request acme/api write for 0m oops", "it must be from 1m to 90d", "request"),
        ("request acme/api write for 91d oops", "it must be from 1m to 90d", "request"),
        ("request acme/api write for 2hours oops", "duration '2hours' is not valid", "request"),
        ("request acme/api write now --reason twice", "give the reason once", "request"),
        ("request acme/api sudo fix", "permission 'sudo' is not valid", "request"),
        ("request api read fix", "repository 'api' is not valid", "request"),
        ("request acme/api read --org", "--org needs a value", "request"),
        ("offboard ivanpetrov", "offboard needs --reason <text>", "offboard"),
        ("offboard --reason x", "offboard needs one email or username", "offboard"),
        ("offboard a@b --reason x", "email 'a@b' is not valid", "offboard"),
    ],
)
def test_errors_name_the_problem_and_the_usage(text: str, message: str, usage_of: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text)
    assert message in caught.value.message
    assert caught.value.spec is commands.spec(usage_of)


def test_apostrophes_before_the_reason_still_need_quotes() -> None:
    with pytest.raises(UsageError, match="a quote is not closed"):
        parse("team create mobile Ada's team")
    assert parse('team create mobile "Ada\'s team"') == Parsed(
        change("team_create", {"name": "mobile", "description": "Ada's team"})
    )


def test_an_unclosed_quote_in_the_request_before_its_reason() -> None:
    with pytest.raises(UsageError, match="a quote is not closed") as caught:
        parse("request 'acme/api read fix")
    assert caught.value.spec is commands.spec("request")


def test_subcommand_words_are_reserved_and_show_looks_such_a_team_up() -> None:
    assert parse("team backend") == Parsed(TeamShow("backend"))
    assert parse("team --show delete") == Parsed(TeamShow("delete"))
    assert parse("team --org prod --show create") == Parsed(TeamShow("create"), org="prod")
    with pytest.raises(UsageError, match="team --show delete") as caught:
        parse("team delete")
    assert caught.value.spec is commands.spec("team delete")


def test_lookups_do_not_take_a_reason() -> None:
    with pytest.raises(UsageError, match="unknown option '--reason'") as caught:
        parse("members --reason curious")
    assert caught.value.spec is commands.spec("members")
    with pytest.raises(UsageError, match="--reason goes at the end"):
        parse("--reason why")


def test_help_names_a_subcommand() -> None:
    assert parse("help team add") == Parsed(Help("team add"))
    assert parse("help invite cancel") == Parsed(Help("invite cancel"))
    with pytest.raises(UsageError, match="at most one command name"):
        parse("help team frobnicate")


def test_every_change_command_is_in_the_table() -> None:
    names = {spec.name for spec in commands.syntaxes()}
    assert {
        "team create",
        "team update",
        "team delete",
        "team add",
        "team remove",
        "role",
        "remove",
        "invite",
        "invite cancel",
        "grant",
        "revoke",
        "request",
        "offboard",
    } <= names
    for spec in commands.syntaxes():
        if spec.name in {kind.command for kind in kinds.ALL if kind.reason_required}:
            assert "--reason" in spec.usage or "<reason…>" in spec.usage


def test_every_example_parses() -> None:
    for spec in commands.syntaxes():
        parse(spec.example.removeprefix("/hub "))


def test_every_change_takes_a_reason() -> None:
    # `--reason` ends every change command, required or not.
    lines = [
        "team create mobile",
        "team update backend --name services",
        "team delete mobile",
        "team add backend umarkhan",
        "team remove data ninagarcia",
        "invite ada@acme.example --team backend",
        "invite cancel ravisharma",
        "grant data acme/api read",
        "revoke security acme/web",
    ]
    for line in lines:
        command = parse(f"{line} --reason {R}").command
        assert isinstance(command, Change) and command.reason == R


@pytest.mark.parametrize(
    ("text", "typed"),
    [
        ("team archive mobile", "team archive"),
        ("team frobnicate ivanpetrov --reason x", "team frobnicate"),
        ("invite resend ada@acme.example", "invite resend"),
    ],
)
def test_an_unknown_subcommand_is_an_error_never_another_command(text: str, typed: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text)
    assert caught.value.message == f"there is no command {typed!r}"
    assert caught.value.spec is None
    assert "`/hub help`" in usage_reply(caught.value).text


def test_the_table_is_the_registries() -> None:
    words = {kind.command for kind in kinds.ALL if kind.command is not None}
    assert words <= {spec.name for spec in commands.syntaxes()}
    for kind in kinds.ALL:
        if kind.command is not None:
            assert commands.spec(kind.command) is kind.syntax

"""The change commands' grammar: each line to one `Change(kind, params, reason)`, or a usage error."""

from __future__ import annotations

import pytest

from handlers import commands
from handlers.commands import Change, Help, Parsed, TeamShow, UsageError, parse

R = "because"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # teams
        ("team create mobile", Change("team_create", {"name": "mobile", "description": ""})),
        (
            "team create mobile iOS and Android apps",
            Change("team_create", {"name": "mobile", "description": "iOS and Android apps"}),
        ),
        (
            "team create mobile 'Apps, iOS & Android' --reason new squad",
            Change("team_create", {"name": "mobile", "description": "Apps, iOS & Android"}, "new squad"),
        ),
        (
            "team update backend --name services",
            Change("team_update", {"name": "backend", "new_name": "services", "description": None}),
        ),
        (
            "team update backend --description All the APIs --name services",
            Change("team_update", {"name": "backend", "new_name": "services", "description": "All the APIs"}),
        ),
        (
            "team update backend --description=Services only",
            Change("team_update", {"name": "backend", "new_name": None, "description": "Services only"}),
        ),
        (
            'team update backend --description ""',
            Change("team_update", {"name": "backend", "new_name": None, "description": ""}),
        ),
        ("TEAM DELETE mobile", Change("team_delete", {"name": "mobile"})),
        ("team add backend umarkhan", Change("team_add", {"team": "backend", "member": "umarkhan"})),
        (
            "team add backend umar.khan@acme.example",
            Change("team_add", {"team": "backend", "member": "umar.khan@acme.example"}),
        ),
        ("team remove data ninagarcia", Change("team_remove", {"team": "data", "username": "ninagarcia"})),
        # members
        (
            "role ivanpetrov EDITOR --reason leads the API",
            Change("role", {"username": "ivanpetrov", "role": "editor"}, "leads the API"),
        ),
        ("remove umarkhan --reason left", Change("member_remove", {"username": "umarkhan"}, "left")),
        # invites
        ("invite ada@acme.example", Change("invite", {"invitee": "ada@acme.example", "team": None, "role": None})),
        (
            "invite adalovelace --team backend --role=Editor",
            Change("invite", {"invitee": "adalovelace", "team": "backend", "role": "editor"}),
        ),
        ("invite cancel ravisharma", Change("invite_cancel", {"invitee": "ravisharma"})),
        ("invite CANCEL newhire@acme.example", Change("invite_cancel", {"invitee": "newhire@acme.example"})),
        (
            "invite cancel 8b1d2c3e-1111-4222-8333-944455566677",
            Change("invite_cancel", {"invitee": "8b1d2c3e-1111-4222-8333-944455566677"}),
        ),
        # access
        (
            "grant data acme/api Read",
            Change("grant", {"team": "data", "namespace": "acme", "repository": "api", "permission": "read"}),
        ),
        ("revoke security acme/web", Change("revoke", {"team": "security", "namespace": "acme", "repository": "web"})),
        (
            "request acme/api write for 2h deploy the hotfix",
            Change(
                "access_request",
                {"namespace": "acme", "repository": "api", "permission": "write", "duration_seconds": 7200},
                "deploy the hotfix",
            ),
        ),
        (
            "request acme/api read look at prod's logs",
            Change(
                "access_request",
                {"namespace": "acme", "repository": "api", "permission": "read", "duration_seconds": None},
                "look at prod's logs",
            ),
        ),
        (
            "request acme/api read for the incident",
            Change(
                "access_request",
                {"namespace": "acme", "repository": "api", "permission": "read", "duration_seconds": None},
                "for the incident",
            ),
        ),
        (
            "request acme/docs admin for 90d --reason docs owner",
            Change(
                "access_request",
                {"namespace": "acme", "repository": "docs", "permission": "admin", "duration_seconds": 90 * 86400},
                "docs owner",
            ),
        ),
        (
            "request acme/docs write for 1m quick fix",
            Change(
                "access_request",
                {"namespace": "acme", "repository": "docs", "permission": "write", "duration_seconds": 60},
                "quick fix",
            ),
        ),
        # offboarding
        ("offboard ivanpetrov --reason last day", Change("offboard", {"who": "ivanpetrov"}, "last day")),
        ("offboard ivan@acme.example --reason gone", Change("offboard", {"who": "ivan@acme.example"}, "gone")),
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
        ("--org prod team delete mobile", "prod", Change("team_delete", {"name": "mobile"})),
        ("team delete --org prod mobile --reason x", "prod", Change("team_delete", {"name": "mobile"}, "x")),
        ("team delete mobile --org=staging", "staging", Change("team_delete", {"name": "mobile"})),
        (
            "role ivanpetrov owner --org prod --reason on call --org other",
            "prod",
            Change("role", {"username": "ivanpetrov", "role": "owner"}, "on call --org other"),
        ),
        (
            "team create mobile --org prod Mobile apps",
            "prod",
            Change("team_create", {"name": "mobile", "description": "Mobile apps"}),
        ),
        (
            "request --org prod acme/api read for 2h look",
            "prod",
            Change(
                "access_request",
                {"namespace": "acme", "repository": "api", "permission": "read", "duration_seconds": 7200},
                "look",
            ),
        ),
        (
            "request acme/api --org prod read --org=staging debugging",
            "staging",
            Change(
                "access_request",
                {"namespace": "acme", "repository": "api", "permission": "read", "duration_seconds": None},
                "debugging",
            ),
        ),
        (
            # After the permission the reason has begun: --org there is part of it.
            "request acme/api read debugging --org prod",
            None,
            Change(
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
    assert caught.value.spec is commands.SPECS[usage_of]


def test_apostrophes_before_the_reason_still_need_quotes() -> None:
    with pytest.raises(UsageError, match="a quote is not closed"):
        parse("team create mobile Ada's team")
    assert parse('team create mobile "Ada\'s team"') == Parsed(
        Change("team_create", {"name": "mobile", "description": "Ada's team"})
    )


def test_an_unclosed_quote_in_the_request_before_its_reason() -> None:
    with pytest.raises(UsageError, match="a quote is not closed") as caught:
        parse("request 'acme/api read fix")
    assert caught.value.spec is commands.SPECS["request"]


def test_subcommand_words_are_reserved_and_show_looks_such_a_team_up() -> None:
    assert parse("team backend") == Parsed(TeamShow("backend"))
    assert parse("team --show delete") == Parsed(TeamShow("delete"))
    assert parse("team --org prod --show create") == Parsed(TeamShow("create"), org="prod")
    with pytest.raises(UsageError, match="team --show delete") as caught:
        parse("team delete")
    assert caught.value.spec is commands.SPECS["team delete"]


def test_lookups_do_not_take_a_reason() -> None:
    with pytest.raises(UsageError, match="unknown option '--reason'") as caught:
        parse("members --reason curious")
    assert caught.value.spec is commands.SPECS["members"]
    with pytest.raises(UsageError, match="--reason goes at the end"):
        parse("--reason why")


def test_help_names_a_subcommand() -> None:
    assert parse("help team add") == Parsed(Help("team add"))
    assert parse("help invite cancel") == Parsed(Help("invite cancel"))
    with pytest.raises(UsageError, match="at most one command name"):
        parse("help team frobnicate")


def test_every_change_command_is_in_the_table() -> None:
    names = {spec.name for spec in commands.COMMANDS}
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
    for spec in commands.COMMANDS:
        if spec.name in commands.REASON_REQUIRED:
            assert "--reason" in spec.usage or "<reason…>" in spec.usage


def test_every_example_parses() -> None:
    for spec in commands.COMMANDS:
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

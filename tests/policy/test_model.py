"""Parsing the policy file: the model, and one error per kind of mistake, each naming file, line and key."""

from __future__ import annotations

import pytest

from handlers.policy.model import Policy, PolicyError, TeamSpec, parse_policy

EXAMPLE = """\
instance: acme-prod
teams:
  backend:
    description: Backend engineers
    members: [alice, bob]
  contractors:
    members:
      - kai
    prune: false
  bare:
repositories:
  acme/api:
    backend: write
    testers: read
  acme/web: {}
"""


def test_example_parses() -> None:
    policy = parse_policy(EXAMPLE, "p.yml")
    assert policy.instance == "acme-prod"
    assert policy.teams["backend"] == TeamSpec("backend", 3, "Backend engineers", ("alice", "bob"), True)
    assert policy.teams["contractors"].prune is False
    assert policy.teams["bare"] == TeamSpec("bare", 10)
    assert policy.repositories == {"acme/api": {"backend": "write", "testers": "read"}, "acme/web": {}}
    assert policy.all_teams == ["backend", "bare", "contractors", "testers"]
    assert policy.referenced_only == ["testers"]
    assert policy.team_lines["testers"] == 14


@pytest.mark.parametrize("text", ["", "# nothing\n", "teams:\nrepositories:\n"])
def test_empty_policies(text: str) -> None:
    policy = parse_policy(text, "p.yml")
    assert policy == Policy(source="p.yml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("colour: blue\n", "p.yml:1: colour: unknown key (expected instance, teams, repositories)"),
        (
            "repositories:\n  acme/api:\n    backend: writ\n",
            "p.yml:3: repositories.acme/api.backend: permission must be read, write or admin",
        ),
        ("repositories:\n  acme/api:\n    backend: [write]\n", "p.yml:3: repositories.acme/api.backend: permission"),
        ("teams:\n  'a b':\n", "p.yml:2: teams.a b: 'a b' is not a valid team name"),
        ("repositories:\n  acme/api:\n    x/y: read\n", "p.yml:3: repositories.acme/api.x/y: 'x/y' is not a valid"),
        ("repositories:\n  api:\n    backend: read\n", "p.yml:2: repositories.api: 'api' is not a valid repository"),
        ("repositories:\n  Acme/API: {}\n", "p.yml:2: repositories.Acme/API: 'Acme/API' is not a valid namespace"),
        (
            "teams:\n  backend:\n    members: [al/ice]\n",
            "p.yml:3: teams.backend.members: 'al/ice' is not a valid username",
        ),
        ("teams:\n  backend:\n    members: alice\n", "p.yml:3: teams.backend.members: expected a list of usernames"),
        ("teams:\n  backend:\n    members: [bob, bob]\n", "p.yml:3: teams.backend.members: 'bob' is listed twice"),
        ("teams:\n  backend:\n    prune: maybe\n", "p.yml:3: teams.backend.prune: expected true or false"),
        ("teams:\n  backend:\n    owner: bob\n", "p.yml:3: teams.backend.owner: unknown key"),
        ("teams:\n  backend:\n    description: [x]\n", "p.yml:3: teams.backend.description: expected a string"),
        ("teams:\n  backend: {}\n  backend: {}\n", "p.yml:3: teams.backend: appears twice"),
        ("teams: [backend]\n", "p.yml:1: teams: expected a mapping"),
        ("instance: [a]\n", "p.yml:1: instance: expected a string"),
        ("teams:\n  backend: {members: [a\n", "p.yml:3: not valid YAML"),
        ("- just\n- a list\n", "p.yml:1: expected a mapping"),
    ],
)
def test_each_mistake_is_named(text: str, expected: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "p.yml")
    assert len(caught.value.problems) == 1, caught.value.problems
    assert caught.value.problems[0].startswith(expected), caught.value.problems[0]


def test_every_problem_is_reported() -> None:
    text = "teams:\n  ok-team:\n    prune: 3\nrepositories:\n  acme/api:\n    ok-team: own\nextra: 1\n"
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "p.yml")
    assert [problem.split(":")[1] for problem in caught.value.problems] == ["3", "6", "7"]

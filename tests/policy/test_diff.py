"""(policy, org state) → changes, and the plan as text: pure, no Docker Hub."""

from __future__ import annotations

import pytest

from handlers.policy_diff import Change, OrgState, compute_changes, is_destructive, render_plan, summary_line
from handlers.policy_model import PolicyError, parse_policy

POLICY = """\
teams:
  backend:
    description: Backend engineers
    members: [alice, bob]
  newteam:
    description: Brand new
    members: [carol]
  keepers:
    members: [alice]
    prune: false
repositories:
  acme/api:
    backend: write
    testers: read
    newteam: admin
  acme/web:
    testers: write
"""


def org() -> OrgState:
    return OrgState(
        teams={"backend": "Old words", "keepers": "", "testers": "Testers", "other": ""},
        team_ids={"backend": 1, "keepers": 2, "testers": 3, "other": 4},
        members={"alice", "bob", "carol", "dave"},
        team_members={"backend": {"alice", "dave"}, "keepers": {"dave"}},
        grants={
            ("acme/api", "backend"): "read",
            ("acme/api", "keepers"): "admin",
            ("acme/web", "testers"): "write",
            ("acme/web", "other"): "read",
        },
    )


def test_every_kind_of_change() -> None:
    changes = compute_changes(parse_policy(POLICY), org())
    assert changes == [
        Change("create_team", "newteam", description="Brand new"),
        Change("update_team", "backend", description="Backend engineers"),
        Change("add_member", "backend", username="bob"),
        Change("add_member", "keepers", username="alice"),
        Change("add_member", "newteam", username="carol"),
        Change("remove_member", "backend", username="dave"),
        Change("grant", "newteam", repository="acme/api", permission="admin", rule="acme/api"),
        Change("grant", "testers", repository="acme/api", permission="read", rule="acme/api"),
        Change(
            "change_permission", "backend", repository="acme/api", permission="write", previous="read", rule="acme/api"
        ),
        Change("revoke", "keepers", repository="acme/api", permission="admin", rule="acme/api"),
    ]
    # `other` is not named in the policy: its grant on acme/web is left alone; `keepers` keeps dave.
    assert is_destructive(changes)


def test_matching_org_has_no_changes() -> None:
    policy = parse_policy("teams:\n  backend:\n    members: [alice]\nrepositories:\n  acme/api:\n    backend: read\n")
    state = OrgState(
        teams={"backend": ""}, members={"alice"}, team_members={"backend": {"alice"}},
        grants={("acme/api", "backend"): "read"},
    )  # fmt: skip
    assert compute_changes(policy, state) == []
    assert render_plan([]) == "No changes: the organization matches the policy."


def test_team_without_members_key_keeps_its_membership() -> None:
    policy = parse_policy("teams:\n  backend:\n")
    assert compute_changes(policy, org()) == []


def test_missing_referenced_team_and_non_member_are_errors() -> None:
    text = "teams:\n  backend:\n    members: [zed]\nrepositories:\n  acme/api:\n    ghosts: read\n"
    with pytest.raises(PolicyError) as caught:
        compute_changes(parse_policy(text, "p.yml"), org())
    assert caught.value.problems == [
        "p.yml:6: team 'ghosts' does not exist; add it under `teams:` to create it",
        "p.yml:2: teams.backend.members: 'zed' is not a member of the organization; invite them first",
    ]


def test_render_groups_and_colours() -> None:
    changes = compute_changes(parse_policy(POLICY), org())
    text = render_plan(changes, lambda line, colour: f"<{colour}>{line}")
    lines = text.splitlines()
    assert "<green>Create team (1):" in lines
    assert "<green>  + create team newteam (Brand new)" in lines
    assert "<red>Remove member (1):" in lines
    assert "<red>  - revoke admin on acme/api from team keepers  [acme/api]" in lines
    assert "<yellow>  ~ change team backend on acme/api from read to write  [acme/api]" in lines
    assert lines[-1] == summary_line(changes)
    assert lines[-1].startswith("10 change(s): 1 team(s) to create")


def test_change_round_trips_through_json() -> None:
    for change in compute_changes(parse_policy(POLICY), org()):
        assert Change.from_dict(change.as_dict()) == change
    with pytest.raises(ValueError):
        Change.from_dict({"action": "delete_org", "team": "x"})


def test_owners_membership_cannot_be_changed() -> None:
    state = OrgState(teams={"owners": ""}, members={"alice", "bob"}, team_members={"owners": {"alice"}})
    assert compute_changes(parse_policy("teams:\n  owners:\n    members: [alice]\n"), state) == []
    with pytest.raises(PolicyError, match="follows the owner role"):
        compute_changes(parse_policy("teams:\n  owners:\n    members: [alice, bob]\n", "p.yml"), state)

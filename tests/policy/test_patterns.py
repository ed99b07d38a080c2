"""Repository patterns in the policy: parsing, precedence, expansion against the org, and --fold."""

from __future__ import annotations

import pytest

from handlers.policy_diff import Change, OrgState, compute_changes
from handlers.policy_engine import dump_policy, export_policy, plan_policy
from handlers.policy_model import Policy, PolicyError, fold_repositories, parse_policy, resolve
from hub.client import HubClient
from hub.emulator import DEMO, EmulatorState

ORG_REPOS = ["acme/api", "acme/api-gateway", "acme/api-internal", "acme/web", "acme/docs"]

LAYERED = """\
repositories:
  acme/*:
    testers: read
  acme/api-*:
    backend: write
  acme/api:
    backend: admin
"""


def test_exact_beats_pattern_and_longer_beats_shorter() -> None:
    resolved = resolve(parse_policy(LAYERED), ORG_REPOS)
    assert resolved.rules == {
        "acme/api": "acme/api",
        "acme/api-gateway": "acme/api-*",
        "acme/api-internal": "acme/api-*",
        "acme/docs": "acme/*",
        "acme/web": "acme/*",
    }
    # The deciding rule decides the whole repository: no merging with the shorter ones.
    assert resolved.repositories["acme/api"] == {"backend": "admin"}
    assert resolved.repositories["acme/api-gateway"] == {"backend": "write"}
    assert resolved.repositories["acme/web"] == {"testers": "read"}
    assert resolved.warnings == []


def test_equally_long_patterns_matching_one_repository_are_an_error() -> None:
    policy = parse_policy(
        "repositories:\n  acme/api-*:\n    testers: read\n  acme/*-api:\n    testers: write\n", "p.yml"
    )
    with pytest.raises(PolicyError) as caught:
        resolve(policy, ["acme/api-x-api", "acme/api-y"])
    assert caught.value.problems == [
        "p.yml:2: repositories: acme/api-x-api matches acme/*-api and acme/api-*, equally long; "
        "add an exact key for acme/api-x-api or make one pattern longer"
    ]
    # An exact key settles it.
    fixed = parse_policy(
        "repositories:\n  acme/api-*:\n    testers: read\n  acme/*-api:\n    testers: write\n  acme/api-x-api: {}\n"
    )
    assert resolve(fixed, ["acme/api-x-api"]).rules == {"acme/api-x-api": "acme/api-x-api"}


def test_a_pattern_that_matches_nothing_warns_and_plans() -> None:
    policy = parse_policy(
        "repositories:\n  acme/legacy-*:\n    testers: read\n  acme/api:\n    testers: read\n", "p.yml"
    )
    resolved = resolve(policy, ORG_REPOS)
    assert resolved.warnings == ["p.yml:2: repositories.acme/legacy-*: matches no repository"]
    assert resolved.rules == {"acme/api": "acme/api"}


def test_bad_patterns_are_named_with_their_line() -> None:
    text = (
        "repositories:\n  acme/API-*:\n    testers: read\n  ac*/x:\n    testers: read\n"
        "  acme/a/b*:\n    testers: read\n"
    )
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "p.yml")
    assert [problem.split(": ")[0:2] for problem in caught.value.problems] == [
        ["p.yml:2", "repositories.acme/API-*"],
        ["p.yml:4", "repositories.ac*/x"],
        ["p.yml:6", "repositories.acme/a/b*"],
    ]


def test_changes_name_the_rule_that_decided_them() -> None:
    state = OrgState(
        teams={"testers": "", "backend": ""},
        team_ids={"testers": 1, "backend": 2},
        grants={("acme/api", "testers"): "read", ("acme/web", "backend"): "read"},
        repositories=ORG_REPOS,
    )
    changes = compute_changes(parse_policy(LAYERED), state)
    by_repo = {(change.repository, change.team): change for change in changes}
    assert by_repo[("acme/api", "testers")] == Change(
        "revoke", "testers", repository="acme/api", permission="read", rule="acme/api"
    )
    assert by_repo[("acme/web", "backend")].rule == "acme/*"
    assert by_repo[("acme/api-gateway", "backend")].rule == "acme/api-*"
    assert by_repo[("acme/docs", "testers")].describe() == "grant read on acme/docs to team testers"
    assert by_repo[("acme/docs", "testers")].rule_note() == "  [acme/*]"
    assert Change.from_dict(by_repo[("acme/docs", "testers")].as_dict()) == by_repo[("acme/docs", "testers")]


async def test_plan_expands_patterns_over_the_org_reading_the_list_once(
    hub: HubClient, emulator_state: EmulatorState
) -> None:
    policy = parse_policy("repositories:\n  acme/*:\n    security: read\n  acme/infra-*:\n    platform: admin\n")
    emulator_state.clear_requests()
    state, changes = await plan_policy(hub, policy)
    listing = "/v2/namespaces/acme/repositories"
    listings = [r for r in emulator_state.requests if r.method == "GET" and r.path == listing]
    assert len(listings) == 1
    assert state.repositories == ["acme/api", "acme/docs", "acme/infra-tools", "acme/sdk", "acme/web"]
    described = sorted(f"{change.describe()}{change.rule_note()}" for change in changes)
    assert described == [
        "grant read on acme/docs to team security  [acme/*]",
        "grant read on acme/sdk to team security  [acme/*]",
        "revoke admin on acme/api from team platform  [acme/*]",
    ]


def test_fold_groups_identical_grants_and_means_the_same() -> None:
    grants = {
        "acme/api": {"backend": "write"},
        "acme/api-gateway": {"backend": "admin", "testers": "read"},
        "acme/api-internal": {"backend": "admin", "testers": "read"},
        "acme/web": {"testers": "read"},
        "acme/docs": {"testers": "read"},
        "acme/sdk": {"testers": "read"},
    }
    folded = fold_repositories(grants, grants)
    assert folded == {
        "acme/*": {"testers": "read"},
        "acme/api": {"backend": "write"},
        "acme/api-*": {"backend": "admin", "testers": "read"},
    }
    assert resolve(parse_policy_from(folded), grants).repositories == grants


def test_fold_leaves_exact_keys_where_a_pattern_would_cover_repositories_not_exported() -> None:
    grants = {"acme/web": {"testers": "read"}, "acme/docs": {"testers": "read"}}
    # acme/api exists but was not exported: `acme/*` would claim it.
    assert fold_repositories(grants, [*grants, "acme/api"]) == {
        "acme/docs": {"testers": "read"},
        "acme/web": {"testers": "read"},
    }


def parse_policy_from(repositories: dict[str, dict[str, str]]) -> Policy:
    return parse_policy(dump_policy({"repositories": repositories}))


async def test_export_fold_then_plan_has_no_changes(hub: HubClient, emulator_state: EmulatorState) -> None:
    org = emulator_state.org(DEMO.org)
    for repository in ("docs", "sdk"):
        for group in list(org.groups.values()):
            org.repositories[repository].grants.pop(group.id, None)
        org.repositories[repository].grants[org.groups["frontend"].id] = "read"
    emulator_state.add_repository(DEMO.org, "api-v2", is_private=True, description="")
    emulator_state.add_repository(DEMO.org, "api-v3", is_private=True, description="")
    for repository in ("api-v2", "api-v3"):
        emulator_state.add_grant(DEMO.org, repository, "backend", "admin")
    document = await export_policy(hub, fold=True)
    assert document["repositories"]["acme/*"] == {"frontend": "read"}
    assert document["repositories"]["acme/api-*"] == {"backend": "admin"}
    assert "acme/docs" not in document["repositories"]
    _, changes = await plan_policy(hub, parse_policy(dump_policy(document)))
    assert changes == []

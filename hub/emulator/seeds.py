"""Deterministic data sets: the small `acme` demo org (plus `globex`) and a large benchmark org.

Randomness comes from fixed seeds; timestamps are fixed offsets from the real "now", so the
demo's "last seen 400 days ago" stays 400 days ago whenever it is loaded.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .models import OWNERS_TEAM, Permission, Role
from .state import EmulatorState


@dataclass(frozen=True)
class DemoCredentials:
    org: str = "acme"
    oat: str = "dckr_oat_AcmeDemoOrgToken000000001"
    # An editor of acme: may use repository routes with a PAT, never /v2/orgs routes.
    pat_username: str = "erinpatel"
    pat: str = "dckr_pat_ErinPatelDemoToken0000001"
    # A plain member of acme: repository routes refuse this PAT.
    member_pat_username: str = "ivanpetrov"
    member_pat: str = "dckr_pat_IvanPetrovDemoToken000001"
    other_org: str = "globex"
    other_oat: str = "dckr_oat_GlobexDemoOrgToken00000001"


DEMO = DemoCredentials()
LARGE_OAT = "dckr_oat_LargeBenchmarkOrgToken0001"

_TEAMS = {
    OWNERS_TEAM: "Organization owners",
    "backend": "API and service developers",
    "frontend": "Web and mobile UI developers",
    "platform": "CI/CD, clusters and base images",
    "data": "Data engineering and analytics",
    "security": "Security reviews and image scanning",
}

# username, full name, role, teams, days since last seen (None: never logged in), guest email
_DemoMember = tuple[str, str, Role, tuple[str, ...], int | None, str | None]
_DEMO_MEMBERS: tuple[_DemoMember, ...] = (
    ("alicechen", "Alice Chen", "owner", ("owners", "platform"), 0, None),
    ("bobokafor", "Bob Okafor", "owner", ("owners",), 2, None),
    ("carolsmith", "Carol Smith", "owner", ("owners", "security"), 15, None),
    ("erinpatel", "Erin Patel", "editor", ("platform", "backend"), 1, None),
    ("danielkim", "Daniel Kim", "editor", ("backend",), 3, None),
    ("fatimazahra", "Fatima Zahra", "editor", ("frontend",), 5, None),
    ("georgelee", "George Lee", "editor", ("data",), 120, None),
    ("hannahmuller", "Hannah Müller", "editor", ("security", "platform"), 8, None),
    ("ivanpetrov", "Ivan Petrov", "member", ("backend",), 1, None),
    ("julianaruiz", "Juliana Ruiz", "member", ("backend", "data"), 4, None),
    ("kenjisato", "Kenji Sato", "member", ("frontend",), 0, None),
    ("laylahassan", "Layla Hassan", "member", ("frontend",), 30, None),
    ("marcusbrown", "Marcus Brown", "member", ("backend",), 95, None),
    ("ninagarcia", "Nina García", "member", ("data",), 10, None),
    ("omarfarouk", "Omar Farouk", "member", ("platform",), 200, None),
    ("priyanair", "Priya Nair", "member", ("backend", "frontend"), 6, None),
    ("quentinroy", "Quentin Roy", "member", ("security",), 400, None),
    ("rachelgreen", "Rachel Green", "member", ("frontend",), 12, None),
    ("samuelosei", "Samuel Osei", "member", ("backend",), None, None),
    ("tanyaivanova", "Tanya Ivanova", "member", ("data",), 45, None),
    ("umarkhan", "Umar Khan", "member", (), 2, None),
    ("valentinadiaz", "Valentina Díaz", "member", ("frontend", "data"), 9, None),
    ("weizhang", "Wei Zhang", "member", ("backend",), 560, None),
    ("ximenalopez", "Ximena López", "member", (), None, None),
    ("yusufdemir", "Yusuf Demir", "member", ("platform",), 7, None),
    ("zaraahmed", "Zara Ahmed", "member", ("security",), 3, None),
    ("aaronwright", "Aaron Wright", "member", (), 380, None),
    ("beatrizsilva", "Beatriz Silva", "member", ("backend",), 18, None),
    ("chloedubois", "Chloé Dubois", "member", ("frontend",), None, None),
    ("diegomartin", "Diego Martín", "member", ("data",), 100, None),
    ("elenarossi", "Elena Rossi", "member", (), 25, None),
    ("felixwagner", "Felix Wagner", "member", ("platform", "security"), 1, None),
    ("gracehopper", "Grace Hopper", "member", ("backend",), 60, None),
    ("hugonilsson", "Hugo Nilsson", "member", ("frontend",), 2, None),
    ("isaacnewton", "Isaac Newton", "member", (), None, None),
    ("jadeturner", "Jade Turner", "member", ("data",), 11, None),
    ("contractorkai", "Kai Andersen", "member", ("frontend",), 20, "kai@andersen-consulting.example"),
    ("contractorlin", "Lin Feng", "member", ("backend",), 150, "lin.feng@gmail.example"),
    ("auditorsam", "Sam Rivera", "member", (), 500, "sam@audit-partners.example"),
    ("designermia", "Mia Costa", "member", ("frontend",), None, "mia.costa@studio.example"),
)

_DEMO_REPOS: tuple[tuple[str, bool, str, int, int], ...] = (
    # name, private, description, pull count, days since update
    ("api", True, "Public API service", 18250, 1),
    ("web", True, "Customer web frontend", 9120, 3),
    ("infra-tools", True, "Internal CI and cluster tooling", 2400, 40),
    ("docs", False, "Documentation site", 51234, 12),
    ("sdk", False, "Client SDK images", 120400, 7),
)

_DEMO_GRANTS: tuple[tuple[str, str, Permission], ...] = (
    ("api", "backend", "write"),
    ("api", "platform", "admin"),
    ("api", "security", "read"),
    ("web", "frontend", "write"),
    ("web", "security", "read"),
    ("infra-tools", "platform", "admin"),
    ("docs", "frontend", "write"),
    ("sdk", "backend", "write"),
    ("sdk", "frontend", "read"),
    ("docs", "backend", "read"),
    ("docs", "data", "read"),
)

# An audit history: (days ago, actor, action, name (None: the org), data, description). The owners
# made these in Docker Hub's web UI before hubkeeper arrived.
_DemoEvent = tuple[float, str, str, str | None, dict[str, str], str]
_DEMO_HISTORY: tuple[_DemoEvent, ...] = (
    (60, "alicechen", "team.create", None, {"team": "security"}, "created the team security"),
    (59, "alicechen", "team.member.add", "zaraahmed", {"team": "security"}, "added zaraahmed to the team security"),
    (45, "bobokafor", "member.invite.send", None, {"invitee": "contractorkai", "role": "member", "team": "frontend"},
     "invited contractorkai to the organization acme (team frontend)"),
    (44, "bobokafor", "member.add", None, {"username": "contractorkai", "role": "member"},
     "added contractorkai to the organization acme as member"),
    (30, "carolsmith", "member.role.change", None, {"username": "hannahmuller", "role": "editor",
     "previous_role": "member"}, "changed the role of hannahmuller from member to editor in the organization acme"),
    (12, "alicechen", "team.member.remove", "weizhang", {"team": "platform"},
     "removed weizhang from the team platform"),
    (3, "bobokafor", "member.remove", None, {"username": "formercontractor", "role": "member"},
     "removed formercontractor from the organization acme"),
    (0.5, "carolsmith", "team.member.add", "felixwagner", {"team": "security"},
     "added felixwagner to the team security"),
)  # fmt: skip

# invitee, inviter, team, age in days
_DEMO_INVITES: tuple[tuple[str, str, str, int], ...] = (
    ("newhire@acme.example", "alicechen", "backend", 1),
    ("ravisharma", "bobokafor", "", 10),
    ("olga.petrova@acme.example", "carolsmith", "data", 40),
    ("stale.contractor@outsource.example", "alicechen", "", 100),
)


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def seed_demo(state: EmulatorState) -> None:
    """Load the `acme` demo org (Insights on) and the small `globex` org (Insights off)."""
    rng = random.Random(20261127)
    now = datetime.now(UTC)
    org = DEMO.org
    state.add_org(org, insights_enabled=True)
    for name, description in _TEAMS.items():
        state.add_group(org, name, description, group_uuid=str(_uuid(rng)))
    for index, (username, full_name, role, teams, seen_days, guest_email) in enumerate(_DEMO_MEMBERS):
        joined = now - timedelta(days=900 - index * 17, hours=rng.randrange(24))
        seen = None if seen_days is None else now - timedelta(days=seen_days, minutes=rng.randrange(600))
        state.add_member(
            org,
            username,
            role=role,
            email=guest_email or f"{username}@acme.example",
            full_name=full_name,
            teams=[t for t in teams if t != OWNERS_TEAM],
            is_guest=guest_email is not None,
            date_joined=joined,
            last_logged_in_at=None if seen is None else seen - timedelta(hours=rng.randrange(1, 72)),
            last_seen_at=seen,
            last_desktop_version=None if seen is None else rng.choice(("4.34.2", "4.36.0", "4.38.1")),
            company="Acme Corp" if guest_email is None else "",
            member_id=_uuid(rng).hex,
        )
    for name, private, description, pulls, days in _DEMO_REPOS:
        state.add_repository(
            org,
            name,
            is_private=private,
            description=description,
            date_registered=now - timedelta(days=700 + pulls % 97),
            last_updated=now - timedelta(days=days),
            pull_count=pulls,
            star_count=pulls // 1000,
            storage_size=pulls * 4096,
        )
    for repo, team, permission in _DEMO_GRANTS:
        state.add_grant(org, repo, team, permission)
    for ago, actor, action, subject, data, text in _DEMO_HISTORY:
        when = now - timedelta(days=ago, minutes=rng.randrange(600))
        state.add_audit_event(org, action, actor, text, name=subject, data=data, when=when)
    for invitee, inviter, team, days in _DEMO_INVITES:
        state.add_invite(
            org,
            invitee,
            inviter=inviter,
            team=team,
            created_at=now - timedelta(days=days, hours=2),
            invite_id=str(_uuid(rng)),
        )
    state.add_oat(org, DEMO.oat)
    state.add_pat(DEMO.pat_username, DEMO.pat)
    state.add_pat(DEMO.member_pat_username, DEMO.member_pat)
    _seed_globex(state, rng, now)


def _seed_globex(state: EmulatorState, rng: random.Random, now: datetime) -> None:
    org = DEMO.other_org
    state.add_org(org, insights_enabled=False)
    state.add_group(org, OWNERS_TEAM, "Organization owners", group_uuid=str(_uuid(rng)))
    state.add_group(org, "engineering", "All engineers", group_uuid=str(_uuid(rng)))
    people: tuple[tuple[str, str, Role], ...] = (
        ("hankscorpio", "Hank Scorpio", "owner"),
        ("franklloyd", "Frank Lloyd", "editor"),
        ("gretaberg", "Greta Berg", "member"),
        ("homerjay", "Homer Jay", "member"),
        ("lindaolsen", "Linda Olsen", "member"),
    )
    for index, (username, full_name, role) in enumerate(people):
        state.add_member(
            org,
            username,
            role=role,
            email=f"{username}@globex.example",
            full_name=full_name,
            teams=("engineering",) if role != "owner" else (),
            date_joined=now - timedelta(days=300 - index * 30),
            member_id=_uuid(rng).hex,
        )
    state.add_repository(org, "reactor", is_private=True, description="Reactor control", last_updated=now)
    state.add_oat(org, DEMO.other_oat)


def seed_large(
    state: EmulatorState,
    members: int = 5000,
    teams: int = 300,
    repositories: int = 0,
    org: str = "bigcorp",
    grants_per_repository: int = 3,
) -> str:
    """Load a benchmark org with `members` members over `teams` teams (and `repositories`, each granted
    to `grants_per_repository` random teams); returns its OAT secret."""
    rng = random.Random(members * 7919 + teams)
    now = datetime.now(UTC)
    state.add_org(org, insights_enabled=True)
    state.add_group(org, OWNERS_TEAM, "Organization owners", group_uuid=str(_uuid(rng)))
    team_names = [f"team{index:04d}" for index in range(1, teams)]
    for name in team_names:
        state.add_group(org, name, f"Benchmark team {name}", group_uuid=str(_uuid(rng)))
    owners = min(3, members)
    width = max(5, len(str(members)))
    for index in range(members):
        username = f"user{index:0{width}d}"
        seen_days = rng.randrange(0, 800) if index % 10 else None
        seen = None if seen_days is None else now - timedelta(days=seen_days, seconds=rng.randrange(86400))
        count = rng.randrange(4) if team_names else 0
        state.add_member(
            org,
            username,
            role="owner" if index < owners else ("editor" if index % 50 == 0 else "member"),
            email=f"{username}@{org}.example",
            full_name=f"User {index}",
            teams=rng.sample(team_names, min(count, len(team_names))),
            date_joined=now - timedelta(days=1000 - index % 1000),
            last_logged_in_at=seen,
            last_seen_at=seen,
            last_desktop_version=None if seen is None else "4.36.0",
            member_id=f"{rng.getrandbits(128):032x}",
        )
    for index in range(repositories):
        state.add_repository(
            org,
            f"repo{index:05d}",
            is_private=index % 3 != 0,
            description=f"Benchmark repository {index}",
            last_updated=now - timedelta(hours=index),
            pull_count=rng.randrange(1_000_000),
        )
        for team in rng.sample(team_names, min(grants_per_repository, len(team_names))):
            state.add_grant(org, f"repo{index:05d}", team, rng.choice(("read", "read", "write", "admin")))
    state.add_oat(org, LARGE_OAT)
    return LARGE_OAT

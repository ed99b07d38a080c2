"""(policy, the org as it is) → the changes that make it match, and the plan as text. Pure.

For every team under `teams:` the team exists (with its description when one is given) and, when
`members` is given, has exactly those members (`prune: false`: at least those). For every
repository listed, or covered by a pattern (`acme/*`), every team named anywhere in the policy has
exactly the permission given for it by the rule that decides that repository, or no grant at all;
each repository change remembers that rule, so the plan can say why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from handlers.policy.model import Policy, PolicyError, resolve
from handlers.teams import OWNERS_TEAM

ChangeAction = Literal[
    "create_team", "update_team", "add_member", "remove_member", "grant", "change_permission", "revoke"
]

# Order of the plan's sections (and of applying: teams are created before anything refers to them).
SECTIONS: tuple[tuple[ChangeAction, str, str, str], ...] = (
    ("create_team", "Create team", "+", "green"),
    ("update_team", "Update team description", "~", "yellow"),
    ("add_member", "Add member", "+", "green"),
    ("remove_member", "Remove member", "-", "red"),
    ("grant", "Grant permission", "+", "green"),
    ("change_permission", "Change permission", "~", "yellow"),
    ("revoke", "Revoke permission", "-", "red"),
)
DESTRUCTIVE: frozenset[ChangeAction] = frozenset({"remove_member", "revoke"})


@dataclass(frozen=True)
class Change:
    action: ChangeAction
    team: str
    username: str | None = None
    repository: str | None = None
    """`namespace/repository`."""
    permission: str | None = None
    """The permission after (grant, change) or before (revoke)."""
    previous: str | None = None
    """The permission before a change."""
    description: str | None = None
    rule: str | None = None
    """The repository key that decided a permission change: the repository itself or a pattern."""

    def rule_note(self) -> str:
        """`  [acme/*]`: which rule decided a repository change ("" for team changes)."""
        return f"  [{self.rule}]" if self.rule else ""

    def describe(self) -> str:
        """One plain line, e.g. `grant write on acme/api to team backend`."""
        match self.action:
            case "create_team":
                return f"create team {self.team}" + (f" ({self.description})" if self.description else "")
            case "update_team":
                return f"set the description of team {self.team} to {self.description!r}"
            case "add_member":
                return f"add {self.username} to team {self.team}"
            case "remove_member":
                return f"remove {self.username} from team {self.team}"
            case "grant":
                return f"grant {self.permission} on {self.repository} to team {self.team}"
            case "change_permission":
                return f"change team {self.team} on {self.repository} from {self.previous} to {self.permission}"
            case "revoke":
                return f"revoke {self.permission} on {self.repository} from team {self.team}"

    def as_dict(self) -> dict[str, str]:
        """JSON-safe, for the audit log and stored requests."""
        fields = {
            "action": self.action,
            "team": self.team,
            "username": self.username,
            "repository": self.repository,
            "permission": self.permission,
            "previous": self.previous,
            "description": self.description,
            "rule": self.rule,
        }
        return {key: value for key, value in fields.items() if value is not None}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Change:
        action = data["action"]
        if action not in {section[0] for section in SECTIONS}:
            raise ValueError(f"unknown policy change {action!r}")
        return cls(
            action=action,
            team=data["team"],
            username=data.get("username"),
            repository=data.get("repository"),
            permission=data.get("permission"),
            previous=data.get("previous"),
            description=data.get("description"),
            rule=data.get("rule"),
        )


@dataclass
class OrgState:
    """What the plan needs to know of the org, as read from Docker Hub."""

    teams: dict[str, str] = field(default_factory=dict)
    """Team name → description."""
    team_ids: dict[str, int] = field(default_factory=dict)
    members: set[str] = field(default_factory=set)
    """Usernames of the org's members."""
    team_members: dict[str, set[str]] = field(default_factory=dict)
    grants: dict[tuple[str, str], str] = field(default_factory=dict)
    """(`namespace/repository`, team) → permission, for the pairs that were read and have one."""
    repositories: list[str] = field(default_factory=list)
    """The org's repositories (`ns/repo`) in the namespaces the policy's patterns name; read only for patterns."""


def compute_changes(policy: Policy, state: OrgState) -> list[Change]:
    """The changes, in plan order; raises PolicyError for what cannot be planned (missing team, non-member)."""
    problems: list[str] = []
    for team in policy.referenced_only:
        if team not in state.teams:
            line = policy.team_lines.get(team, 1)
            problems.append(f"{policy.source}:{line}: team {team!r} does not exist; add it under `teams:` to create it")
    for spec in policy.teams.values():
        for username in spec.members or ():
            if username not in state.members:
                problems.append(
                    f"{policy.source}:{spec.line}: teams.{spec.name}.members: {username!r} is not a member "
                    "of the organization; invite them first"
                )
    if problems:
        raise PolicyError(problems)
    resolved = resolve(policy, state.repositories)

    changes: list[Change] = []
    for name in sorted(policy.teams):
        spec = policy.teams[name]
        if name not in state.teams:
            changes.append(Change("create_team", name, description=spec.description or ""))
        elif spec.description is not None and spec.description != state.teams[name]:
            changes.append(Change("update_team", name, description=spec.description))
        if spec.members is None:
            continue
        current = state.team_members.get(name, set())
        wanted = set(spec.members)
        team_changes = [Change("add_member", name, username=user) for user in sorted(wanted - current)]
        if spec.prune:
            team_changes += [Change("remove_member", name, username=user) for user in sorted(current - wanted)]
        if name == OWNERS_TEAM and team_changes:
            raise PolicyError(
                [
                    f"{policy.source}:{spec.line}: teams.{name}.members: the {name} team follows the owner role; "
                    "change people's roles instead, or leave out `members`"
                ]
            )
        changes += team_changes
    for repository in sorted(resolved.repositories):
        wanted_grants = resolved.repositories[repository]
        rule = resolved.rules[repository]
        for team in policy.all_teams:
            want = wanted_grants.get(team)
            have = state.grants.get((repository, team))
            if want == have:
                continue
            if have is None:
                changes.append(Change("grant", team, repository=repository, permission=want, rule=rule))
            elif want is None:
                changes.append(Change("revoke", team, repository=repository, permission=have, rule=rule))
            else:
                changes.append(
                    Change("change_permission", team, repository=repository, permission=want, previous=have, rule=rule)
                )
    order = {section[0]: index for index, section in enumerate(SECTIONS)}
    return sorted(changes, key=lambda change: order[change.action])


@dataclass
class Recheck:
    """A stored plan against the org as it is now: what still applies, and why the rest is skipped."""

    todo: list[Change] = field(default_factory=list)
    already: list[tuple[Change, str]] = field(default_factory=list)
    """Already so (someone did it meanwhile, or an earlier attempt did): nothing to do."""
    stale: list[tuple[Change, str]] = field(default_factory=list)
    """The org is no longer as the plan saw it: applying would make a change nobody approved. Plan again."""


def recheck(changes: Iterable[Change], state: OrgState) -> Recheck:
    """Sort planned changes by what the org is now. Never adds one: what the plan did not show is a new plan.

    A planned change is applied only from the state the plan saw (a permission change only from the
    permission it saw, a grant only where there was none), so applying it does exactly what was shown.
    """
    planned = list(changes)
    created = {change.team for change in planned if change.action == "create_team"}
    found = Recheck()
    for change in planned:
        verdict = _verdict(change, state, created)
        if verdict is None:
            found.todo.append(change)
        elif verdict[0]:
            found.already.append((change, verdict[1]))
        else:
            found.stale.append((change, verdict[1]))
    return found


def _verdict(change: Change, state: OrgState, created: set[str]) -> tuple[bool, str] | None:
    """None: apply it; (True, why): already so; (False, why): the org changed, skip it."""
    team, exists = change.team, change.team in state.teams
    if change.action == "create_team":
        return (True, f"team {team} exists already") if exists else None
    if not exists and not (team in created and change.action != "update_team"):
        return False, f"team {team} no longer exists"
    members = state.team_members.get(team, set())
    have = state.grants.get((change.repository or "", team))
    match change.action:
        case "update_team":
            return (True, "it has that description already") if state.teams[team] == change.description else None
        case "add_member" | "remove_member" if team.lower() == OWNERS_TEAM:
            return False, f"the {OWNERS_TEAM} team follows the owner role"
        case "add_member":
            if change.username not in state.members:
                return False, f"{change.username} is no longer a member of the organization"
            return (True, f"{change.username} is in team {team} already") if change.username in members else None
        case "remove_member":
            return None if change.username in members else (True, f"{change.username} is no longer in team {team}")
        case "grant":
            if have == change.permission:
                return True, f"team {team} has {have} already"
            return None if have is None else (False, f"team {team} now has {have} (the plan saw no access)")
        case "change_permission":
            if have == change.permission:
                return True, f"team {team} has {have} already"
            if have != change.previous:
                return False, f"team {team} now has {have or 'no access'} (the plan saw {change.previous})"
            return None
        case "revoke":
            if have is None:
                return True, f"team {team} has no access already"
            return (
                None
                if have == change.permission
                else (False, f"team {team} now has {have} (the plan saw {change.permission})")
            )
    return None


def is_destructive(changes: Iterable[Change]) -> bool:
    """Whether applying takes something away or makes an owner (the extra approvers' business)."""
    return any(
        change.action in DESTRUCTIVE or (change.action == "add_member" and change.team.lower() == OWNERS_TEAM)
        for change in changes
    )


def counts(changes: Iterable[Change]) -> dict[str, int]:
    found: dict[str, int] = {}
    for change in changes:
        found[change.action] = found.get(change.action, 0) + 1
    return found


def summary_line(changes: list[Change]) -> str:
    """e.g. `3 changes: 1 team to create, 2 permissions to grant`; `No changes` when there are none."""
    if not changes:
        return "No changes: the organization matches the policy."
    words = {
        "create_team": "team(s) to create",
        "update_team": "description(s) to update",
        "add_member": "member(s) to add",
        "remove_member": "member(s) to remove",
        "grant": "permission(s) to grant",
        "change_permission": "permission(s) to change",
        "revoke": "permission(s) to revoke",
    }
    found = counts(changes)
    parts = [f"{found[action]} {words[action]}" for action, *_ in SECTIONS if action in found]
    return f"{len(changes)} change(s): " + ", ".join(parts)


def render_plan(changes: list[Change], style: Callable[[str, str], str] = lambda text, colour: text) -> str:
    """The plan grouped by kind of change; `style(text, colour)` colours it (click.style on a terminal)."""
    lines: list[str] = []
    for action, title, sign, colour in SECTIONS:
        group = [change for change in changes if change.action == action]
        if not group:
            continue
        lines.append(style(f"{title} ({len(group)}):", colour))
        lines.extend(style(f"  {sign} {change.describe()}{change.rule_note()}", colour) for change in group)
        lines.append("")
    lines.append(summary_line(changes))
    return "\n".join(lines)

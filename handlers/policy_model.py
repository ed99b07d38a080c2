"""The access policy file: YAML parsed with line numbers into a `Policy`, every mistake named.

    instance: acme-prod            # optional when one instance is configured
    teams:
      backend:
        description: Backend engineers
        members: [alice, bob]      # exact membership; `prune: false` keeps members not listed
    repositories:
      acme/api:
        backend: write
        qa: read
      acme/*:                      # a pattern: every repository of acme not matched more closely
        qa: read

A repository key may be a glob (`*` any run of characters, `?` one) over the repository name; the
namespace is always spelled out. The org's repositories decide what a pattern covers (`resolve`):
an exact key beats any pattern, and of two patterns the longer one wins (equally long ones that both
match a repository are an error: add an exact key). The rule that decides a repository decides all
of it: teams it does not name get no grant there.

Pure: no Docker Hub, no environment. Errors read `policy.yml:12: repositories.acme/api.backend:
permission must be read, write or admin`; all of them are collected, and a file with any error
gives no Policy (so nothing is applied).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import yaml  # type: ignore[import-untyped]

from hub import paths
from hub.errors import InvalidInput

PERMISSIONS = ("read", "write", "admin")
TOP_LEVEL_KEYS = ("instance", "teams", "repositories")
TEAM_KEYS = ("description", "members", "prune")
_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"
_STR_TAG = "tag:yaml.org,2002:str"
_REPOSITORY_GLOB = re.compile(r"[a-z0-9._*?-]+")


def is_pattern(key: str) -> bool:
    """A repository key with a wildcard (`acme/*`, `acme/api-?`)."""
    return "*" in key or "?" in key


def check_repository_key(value: str) -> str:
    """`ns/repo` or `ns/glob`: the namespace exact, the name a repository name or a glob over one."""
    if not is_pattern(value):
        paths.parse_repository_ref(value)
        return value
    if value.count("/") != 1:
        raise InvalidInput("repository pattern", value, "expected namespace/pattern, e.g. acme/api-*")
    namespace, name = value.split("/")
    paths.namespace(namespace)
    if not _REPOSITORY_GLOB.fullmatch(name):
        raise InvalidInput(
            "repository pattern", value, "use lowercase letters, digits, '.', '_', '-' and the wildcards * and ?"
        )
    return value


class PolicyError(Exception):
    """The policy file (or the plan against the org) has problems; `problems` lists each on one line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class TeamSpec:
    name: str
    line: int
    description: str | None = None
    """None: the description is left as it is."""
    members: tuple[str, ...] | None = None
    """None: membership is left alone (the team only has to exist)."""
    prune: bool = True
    """False: members not listed are kept."""


@dataclass(frozen=True)
class Policy:
    source: str
    """The file name, for messages."""
    instance: str | None = None
    teams: dict[str, TeamSpec] = field(default_factory=dict)
    repositories: dict[str, dict[str, str]] = field(default_factory=dict)
    """`namespace/repository` (or a pattern such as `namespace/api-*`) → team → permission."""
    repository_lines: dict[str, int] = field(default_factory=dict)
    """Where each repository key is, for warnings and errors found at plan time."""
    team_lines: dict[str, int] = field(default_factory=dict)
    """Where each team is first named, for errors found at plan time."""

    @property
    def all_teams(self) -> list[str]:
        """Every team named in the policy: under `teams:` and under any repository, sorted."""
        names = set(self.teams)
        for grants in self.repositories.values():
            names.update(grants)
        return sorted(names)

    @property
    def patterns(self) -> list[str]:
        return sorted(key for key in self.repositories if is_pattern(key))

    @property
    def pattern_namespaces(self) -> list[str]:
        """Namespaces whose repository list the patterns need."""
        return sorted({key.split("/")[0] for key in self.patterns})

    @property
    def referenced_only(self) -> list[str]:
        """Teams named only under `repositories`: they must exist already."""
        return [team for team in self.all_teams if team not in self.teams]


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def error(self, node: yaml.Node | None, key: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.problems.append(f"{self.source}:{line}: {key}: {message}" if key else f"{self.source}:{line}: {message}")

    def mapping(self, node: yaml.Node, key: str) -> Iterator[tuple[str, yaml.Node, yaml.Node]]:
        """(key text, key node, value node) of a mapping; reports a non-mapping or a duplicate key."""
        if isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG:
            return
        if not isinstance(node, yaml.MappingNode):
            self.error(node, key, "expected a mapping")
            return
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.error(key_node, key, "keys must be plain names")
                continue
            name = str(key_node.value)
            full = f"{key}.{name}" if key else name
            if name in seen:
                self.error(key_node, full, "appears twice")
                continue
            seen.add(name)
            yield name, key_node, value_node

    def string(self, node: yaml.Node, key: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag != _STR_TAG:
            self.error(node, key, "expected a string")
            return None
        return str(node.value)

    def checked(self, node: yaml.Node, key: str, value: str, check: Callable[[str], object]) -> bool:
        try:
            check(value)
        except InvalidInput as exc:
            self.error(node, key, f"{value!r} is not a valid {exc.field}: {exc.reason}")
            return False
        return True

    def parse(self, text: str) -> Policy | None:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 1
            problem = getattr(exc, "problem", None) or str(exc)
            self.problems.append(f"{self.source}:{line}: not valid YAML: {problem}")
            return None
        if root is None:
            return Policy(source=self.source)
        instance: str | None = None
        teams: dict[str, TeamSpec] = {}
        repositories: dict[str, dict[str, str]] = {}
        repository_lines: dict[str, int] = {}
        team_lines: dict[str, int] = {}
        for name, key_node, value in self.mapping(root, ""):
            if name == "instance":
                instance = self.string(value, "instance")
            elif name == "teams":
                for team, team_key, spec in self.mapping(value, "teams"):
                    parsed = self.team(team, team_key, spec)
                    if parsed is not None:
                        teams[team] = parsed
                        team_lines.setdefault(team, parsed.line)
            elif name == "repositories":
                for repo, repo_key, grants in self.mapping(value, "repositories"):
                    where = f"repositories.{repo}"
                    valid = self.checked(repo_key, where, repo, check_repository_key)
                    parsed_grants: dict[str, str] = {}
                    for team, team_key, level in self.mapping(grants, where):
                        key = f"{where}.{team}"
                        if not self.checked(team_key, key, team, paths.team):
                            continue
                        permission = str(level.value) if isinstance(level, yaml.ScalarNode) else ""
                        if permission not in PERMISSIONS:
                            self.error(level, key, "permission must be read, write or admin")
                            continue
                        parsed_grants[team] = permission
                        team_lines.setdefault(team, team_key.start_mark.line + 1)
                    if valid:
                        repositories[repo] = parsed_grants
                        repository_lines[repo] = repo_key.start_mark.line + 1
            else:
                known = ", ".join(TOP_LEVEL_KEYS)
                self.error(key_node, name, f"unknown key (expected {known})")
        if self.problems:
            return None
        return Policy(
            source=self.source,
            instance=instance,
            teams=teams,
            repositories=repositories,
            team_lines=team_lines,
            repository_lines=repository_lines,
        )

    def team(self, name: str, key_node: yaml.Node, spec: yaml.Node) -> TeamSpec | None:
        where = f"teams.{name}"
        ok = self.checked(key_node, where, name, paths.team)
        description: str | None = None
        members: list[str] | None = None
        prune = True
        for key, field_key, value in self.mapping(spec, where):
            full = f"{where}.{key}"
            if key == "description":
                description = self.string(value, full)
                ok = ok and description is not None
            elif key == "members":
                members = self.members(value, full)
                ok = ok and members is not None
            elif key == "prune":
                if isinstance(value, yaml.ScalarNode) and value.tag == _BOOL_TAG:
                    prune = str(value.value).lower() in ("true", "yes", "on")
                else:
                    self.error(value, full, "expected true or false")
                    ok = False
            else:
                self.error(field_key, full, f"unknown key (expected {', '.join(TEAM_KEYS)})")
                ok = False
        if not ok:
            return None
        return TeamSpec(
            name=name,
            line=key_node.start_mark.line + 1,
            description=description,
            members=tuple(members) if members is not None else None,
            prune=prune,
        )

    def members(self, node: yaml.Node, key: str) -> list[str] | None:
        if isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG:
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, key, "expected a list of usernames")
            return None
        usernames: list[str] = []
        ok = True
        for item in node.value:
            if not isinstance(item, yaml.ScalarNode):
                self.error(item, key, "expected a username")
                ok = False
                continue
            username = str(item.value)
            if not self.checked(item, key, username, paths.username):
                ok = False
            elif username in usernames:
                self.error(item, key, f"{username!r} is listed twice")
                ok = False
            else:
                usernames.append(username)
        return usernames if ok else None


def parse_policy(text: str, source: str = "policy.yml") -> Policy:
    """The policy in `text`; raises PolicyError listing every problem (file:line: key: message)."""
    parser = _Parser(source)
    policy = parser.parse(text)
    if policy is None:
        raise PolicyError(parser.problems)
    return policy


def load_policy(path: str) -> Policy:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise PolicyError([f"{path}: cannot be read ({exc.strerror or exc})"]) from None
    return parse_policy(text, path)


@dataclass(frozen=True)
class Resolved:
    """The policy's repositories with patterns expanded against the org's repository list."""

    repositories: dict[str, dict[str, str]]
    """Every repository a rule covers → team → permission."""
    rules: dict[str, str]
    """Repository → the key that decided it (itself, for an exact key)."""
    warnings: list[str] = field(default_factory=list)
    """Patterns that match no repository (not an error: the org may not have them yet)."""


def deciding_rule(repository: str, keys: Iterable[str]) -> str | list[str] | None:
    """The key that decides `repository`: itself if listed, else the longest matching pattern.

    A list when several equally long patterns match (ambiguous); None when nothing matches.
    """
    listed = list(keys)
    if repository in listed:
        return repository
    matching = [key for key in listed if is_pattern(key) and fnmatch.fnmatchcase(repository, key)]
    if not matching:
        return None
    longest = max(len(key) for key in matching)
    best = sorted(key for key in matching if len(key) == longest)
    return best[0] if len(best) == 1 else best


def resolve(policy: Policy, org_repositories: Iterable[str]) -> Resolved:
    """Expand patterns over `org_repositories` (`ns/repo`); PolicyError when two patterns tie."""
    keys = list(policy.repositories)
    repositories: dict[str, dict[str, str]] = {}
    rules: dict[str, str] = {}
    problems: list[str] = []
    org = sorted(set(org_repositories))
    candidates = sorted({*(key for key in keys if not is_pattern(key)), *org})
    for repository in candidates:
        rule = deciding_rule(repository, keys)
        if rule is None:
            continue
        if isinstance(rule, list):
            line = min(policy.repository_lines.get(key, 1) for key in rule)
            listed = " and ".join(rule)
            problems.append(
                f"{policy.source}:{line}: repositories: {repository} matches {listed}, equally long; "
                f"add an exact key for {repository} or make one pattern longer"
            )
            continue
        rules[repository] = rule
        repositories[repository] = dict(policy.repositories[rule])
    if problems:
        raise PolicyError(problems)
    warnings = [
        f"{policy.source}:{policy.repository_lines.get(key, 1)}: repositories.{key}: matches no repository"
        for key in policy.patterns
        if not any(fnmatch.fnmatchcase(repository, key) for repository in org)
    ]
    return Resolved(repositories=repositories, rules=rules, warnings=warnings)


_FIRST_SEPARATOR = re.compile(r"^([a-z0-9]+[._-])[a-z0-9]")


def fold_repositories(grants: dict[str, dict[str, str]], universe: Iterable[str]) -> dict[str, dict[str, str]]:
    """Repository rules with identical grants folded into patterns, meaning exactly the same.

    `grants` is the exported repositories (`ns/repo` → team → permission); `universe` is every
    repository of those namespaces. Per namespace, repositories sharing a first word and their grants
    become `ns/word-*`, then the most common grants of the rest become `ns/*` — each only where every
    repository of the org the pattern covers is exported with those grants (or keeps an exact key
    that beats the pattern), so the folded policy plans to no change. The rest stay exact keys.
    """
    everything = set(universe) | set(grants)
    folded: dict[str, dict[str, str]] = {}
    for namespace in sorted({repository.split("/")[0] for repository in grants}):
        in_namespace = sorted(repository for repository in everything if repository.split("/")[0] == namespace)
        remaining = {repository: grants[repository] for repository in in_namespace if repository in grants}
        by_prefix: dict[str, list[str]] = {}
        for repository in remaining:
            found = _FIRST_SEPARATOR.match(repository.split("/")[1])
            if found is not None:
                by_prefix.setdefault(found.group(1), []).append(repository)
        for prefix, members in sorted(by_prefix.items()):
            pattern = f"{namespace}/{prefix}*"
            covered = [repository for repository in in_namespace if fnmatch.fnmatchcase(repository, pattern)]
            shared = {tuple(sorted(remaining.get(repository, {}).items())) for repository in covered}
            if len(members) >= 2 and all(repository in remaining for repository in covered) and len(shared) == 1:
                folded[pattern] = dict(remaining[members[0]])
                for repository in covered:
                    del remaining[repository]
        everything_exported = all(repository in grants for repository in in_namespace)
        if everything_exported and len(remaining) >= 2:
            counts: dict[tuple[tuple[str, str], ...], int] = {}
            for team_grants in remaining.values():
                key = tuple(sorted(team_grants.items()))
                counts[key] = counts.get(key, 0) + 1
            common, count = max(counts.items(), key=lambda item: (item[1], item[0]))
            if count >= 2:
                folded[f"{namespace}/*"] = dict(common)
                remaining = {
                    repo: team_grants for repo, team_grants in remaining.items() if team_grants != dict(common)
                }
        folded.update(remaining)
    ordered = {key: folded[key] for key in sorted(folded)}
    # The fold must mean exactly what it folds: if it ever would not, keep every key exact instead.
    check = resolve(Policy(source="fold", repositories=ordered), everything)
    if {repository: check.repositories.get(repository) for repository in grants} != grants:
        return {key: dict(grants[key]) for key in sorted(grants)}
    return ordered

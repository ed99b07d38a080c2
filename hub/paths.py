"""Every Docker Hub path hubkeeper calls, built in one place, exactly as the spec writes them.

Each segment that comes from a person is checked against its documented shape and then
percent-encoded, so no input can change which endpoint is called. A path never ends in `/`:
Docker Hub answers that with a 404 HTML page.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from hub.errors import InvalidInput

DEFAULT_BASE_URL = "https://hub.docker.com"
"""Docker Hub's API; an instance may name another (the emulator, a proxy)."""

# Docker IDs are 4-30 lowercase letters and digits for new accounts, but older accounts and orgs
# do not all follow that rule (docs/docker-hub.md, "Names"), so usernames are checked loosely: letters and
# digits joined by single `.`, `_` or `-`, which still rules out `/`, `%`, `..`, spaces and controls.
_USERNAME = re.compile(r"[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*")
_NAMESPACE = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
_REPOSITORY = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
# Team names: the rule for new names (3-30 letters, digits, `_`, `-`; docs/docker-hub.md, "Names") is not
# what older teams follow (`qa`), so addressing a team checks path safety alone, like usernames.
_TEAM = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")
_NEW_TEAM = re.compile(r"[A-Za-z0-9_-]{3,30}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
_EMAIL = re.compile(r"[^\s@/%]+@[^\s@/%]+\.[^\s@/%]+")


def _check(field: str, value: object, pattern: re.Pattern[str], reason: str, max_len: int = 255) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput(field, value, "it is empty")
    if len(value) > max_len:
        raise InvalidInput(field, value, f"it is longer than {max_len} characters")
    if not pattern.fullmatch(value):
        raise InvalidInput(field, value, reason)
    return value


def username(value: str) -> str:
    return _check("username", value, _USERNAME, "use letters and digits, joined by single '.', '_' or '-'", max_len=255)


def namespace(value: str) -> str:
    return _check("namespace", value, _NAMESPACE, "use lowercase letters and digits, joined by single '.', '_' or '-'")


def org_name(value: str) -> str:
    return _check(
        "organization",
        value,
        _NAMESPACE,
        "use lowercase letters and digits, joined by single '.', '_' or '-'",
    )


def repository(value: str) -> str:
    return _check(
        "repository",
        value,
        _REPOSITORY,
        "use 2-255 lowercase letters and digits, joined by single '.', '_' or '-'",
    )


def team(value: str) -> str:
    """A team to address (read, change, delete): any name Docker Hub may return that is safe in a path."""
    return _check("team name", value, _TEAM, "use letters, digits, '-' or '_', joined by single '.'")


def new_team_name(value: str) -> str:
    """A name to create a team with or rename one to: Docker Hub's rule for new names."""
    return _check("team name", value, _NEW_TEAM, "a new team name must be 3-30 letters, digits, '-' or '_'")


def invite_id(value: str) -> str:
    return _check("invite id", value, _UUID, "expected a UUID such as 8b1d…-…", max_len=36)


def email(value: str) -> str:
    return _check("email", value, _EMAIL, "expected an address such as ada@example.com", max_len=254)


def group_id(value: int) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidInput("team id", value, "expected a positive whole number")
    return str(value)


def parse_repository_ref(value: str) -> tuple[str, str]:
    """`ns/repo` → (namespace, repository), each checked."""
    if not isinstance(value, str) or value.count("/") != 1:
        raise InvalidInput("repository", value, "expected namespace/repository, e.g. acme/api")
    ns, repo = value.split("/")
    return namespace(ns), repository(repo)


def _join(*segments: str) -> str:
    # Every segment arrives validated; quoting anyway means a future shape change cannot open a hole.
    path = "/" + "/".join(quote(segment, safe="") for segment in segments)
    assert not path.endswith("/"), "Docker Hub answers a trailing slash with 404"
    return path


AUTH_TOKEN = "/v2/auth/token"
INVITES_BULK = "/v2/invites/bulk"


def org_members(org: str) -> str:
    return _join("v2", "orgs", org_name(org), "members")


def org_member(org: str, user: str) -> str:
    return _join("v2", "orgs", org_name(org), "members", username(user))


def org_groups(org: str) -> str:
    return _join("v2", "orgs", org_name(org), "groups")


def org_group(org: str, name: str) -> str:
    return _join("v2", "orgs", org_name(org), "groups", team(name))


def org_group_members(org: str, name: str) -> str:
    return _join("v2", "orgs", org_name(org), "groups", team(name), "members")


def org_group_member(org: str, name: str, user: str) -> str:
    return _join("v2", "orgs", org_name(org), "groups", team(name), "members", username(user))


def org_invites(org: str) -> str:
    return _join("v2", "orgs", org_name(org), "invites")


def invite(identifier: str) -> str:
    return _join("v2", "invites", invite_id(identifier))


def invite_resend(identifier: str) -> str:
    return _join("v2", "invites", invite_id(identifier), "resend")


def namespace_repositories(ns: str) -> str:
    return _join("v2", "namespaces", namespace(ns), "repositories")


def namespace_repository(ns: str, repo: str) -> str:
    return _join("v2", "namespaces", namespace(ns), "repositories", repository(repo))


def repository_groups(ns: str, repo: str) -> str:
    return _join("v2", "repositories", namespace(ns), repository(repo), "groups")


def repository_group(ns: str, repo: str, group: int) -> str:
    return _join("v2", "repositories", namespace(ns), repository(repo), "groups", group_id(group))


def audit_logs(account: str) -> str:
    return _join("v2", "auditlogs", namespace(account))


def audit_log_actions(account: str) -> str:
    return _join("v2", "auditlogs", namespace(account), "actions")


ROUTES = (
    AUTH_TOKEN,
    INVITES_BULK,
    "/v2/orgs/{org}/members",
    "/v2/orgs/{org}/members/{username}",
    "/v2/orgs/{org}/groups",
    "/v2/orgs/{org}/groups/{group_name}",
    "/v2/orgs/{org}/groups/{group_name}/members",
    "/v2/orgs/{org}/groups/{group_name}/members/{username}",
    "/v2/orgs/{org}/invites",
    "/v2/invites/{id}",
    "/v2/invites/{id}/resend",
    "/v2/namespaces/{namespace}/repositories",
    "/v2/namespaces/{namespace}/repositories/{repository}",
    "/v2/repositories/{namespace}/{repository}/groups",
    "/v2/repositories/{namespace}/{repository}/groups/{group_id}",
    "/v2/auditlogs/{account}",
    "/v2/auditlogs/{account}/actions",
)
"""The template of every path built above, in the spec's shape: what metrics may name (a raw path could
carry a username or an email)."""

OTHER_ROUTE = "other"

_ROUTE_SEGMENTS = tuple((template, template.strip("/").split("/")) for template in ROUTES)


def route(path: str) -> str:
    """The template `path` was built from, e.g. `/v2/orgs/{org}/members/{username}`; `other` for none.

    A literal segment beats a placeholder, so `/v2/invites/bulk` is not taken for an invite id.
    """
    segments = path.strip("/").split("/")
    best, best_literals = OTHER_ROUTE, -1
    for template, parts in _ROUTE_SEGMENTS:
        if len(parts) != len(segments):
            continue
        literals = 0
        for part, segment in zip(parts, segments, strict=True):
            if part.startswith("{"):
                continue
            if part != segment:
                break
            literals += 1
        else:
            if literals > best_literals:
                best, best_literals = template, literals
    return best

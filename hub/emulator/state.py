"""EmulatorState: every org, credential and fault knob behind one lock, with no aiohttp in sight.

Tests drive it from their own thread while the server's event loop reads it, so every access
to shared data goes through `self._lock`; the work done under it is short and never awaits.
"""

from __future__ import annotations

import fnmatch
import itertools
import math
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, TypeVar

from . import audit, org_ops
from .config import EmulatorConfig
from .errors import bad_request, not_found, pat_not_allowed, permission_denied, unauthorized
from .models import Group, Invite, Member, Org, Permission, RecordedRequest, Repository, Role, TokenKind
from .ratelimit import FixedWindowLimiter, RateDecision
from .tokens import TokenError, sign, verify

R = TypeVar("R")
Scope = Literal["org", "repo", "audit"]


@dataclass(frozen=True, slots=True)
class Principal:
    kind: TokenKind
    subject: str  # the org name for an OAT, the username for a PAT

    @property
    def rate_key(self) -> str:
        return f"{self.kind}:{self.subject}"


@dataclass(frozen=True, slots=True)
class Fault:
    kind: Literal["drop", "drop_after", "fail", "rate_limit", "delay"]
    """drop: the connection is cut before the request is handled; drop_after: the request is handled
    (a change is applied) and then the connection is cut before the answer; delay: handled after
    `seconds`."""
    status: int = 0
    retry_after: int = 0
    seconds: float = 0.0
    method: str | None = None
    """Only requests with this method (None: any)."""
    path: str | None = None
    """Only paths matching this glob, e.g. `/v2/invites/*` (None: any)."""
    detail: str = "injected failure"

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or fnmatch.fnmatchcase(path, self.path)
        )


class EmulatorState:
    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self._lock = threading.Lock()
        self._orgs: dict[str, Org] = {}
        self._oats: dict[str, str] = {}  # secret → org name
        self._pats: dict[str, str] = {}  # secret → username
        self._key = secrets.token_bytes(32)
        self._live_tokens: set[str] = set()  # jti of every token not revoked
        self._token_exchanges = 0
        self._faults: deque[Fault] = deque()
        self._limiter: FixedWindowLimiter | None = None
        self._group_ids = itertools.count(1001)
        self.requests: list[RecordedRequest] = []
        self.set_rate_limit(self.config.rate_limit_per_minute, self.config.rate_limit_window_seconds)

    # --- test-side controls ----------------------------------------------------------------------

    @property
    def token_exchanges(self) -> int:
        return self._token_exchanges

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def fail_next(
        self,
        n: int,
        status: int = 503,
        *,
        method: str | None = None,
        path: str | None = None,
        detail: str = "injected failure",
    ) -> None:
        """The next n requests (or the next n matching `method` and the `path` glob) fail with `status`."""
        with self._lock:
            self._faults.extend(
                Fault("fail", status=status, method=method, path=path, detail=detail) for _ in range(n)
            )

    def rate_limit_next(
        self, n: int, retry_after: int = 1, *, method: str | None = None, path: str | None = None
    ) -> None:
        with self._lock:
            self._faults.extend(
                Fault("rate_limit", retry_after=retry_after, method=method, path=path) for _ in range(n)
            )

    def drop_next(self, n: int, *, method: str | None = None, path: str | None = None) -> None:
        with self._lock:
            self._faults.extend(Fault("drop", method=method, path=path) for _ in range(n))

    def drop_after_next(self, n: int, *, method: str | None = None, path: str | None = None) -> None:
        """The next n matching requests take effect, then lose their connection before the answer."""
        with self._lock:
            self._faults.extend(Fault("drop_after", method=method, path=path) for _ in range(n))

    def delay_next(self, n: int, seconds: float, *, method: str | None = None, path: str | None = None) -> None:
        """The next n matching requests are answered `seconds` late (the others are not slowed)."""
        with self._lock:
            self._faults.extend(Fault("delay", seconds=seconds, method=method, path=path) for _ in range(n))

    def set_latency(self, ms: float) -> None:
        self.config.latency_ms = ms

    def set_rate_limit(self, per_minute: int | None, window_seconds: float = 60.0) -> None:
        with self._lock:
            self.config.rate_limit_per_minute = per_minute
            self.config.rate_limit_window_seconds = window_seconds
            self._limiter = None if per_minute is None else FixedWindowLimiter(per_minute, window_seconds)

    def revoke_tokens(self) -> None:
        with self._lock:
            self._live_tokens.clear()

    def org(self, name: str) -> Org:
        """The live org object; read it in tests, but change it only through the add_* helpers."""
        with self._lock:
            return self._orgs[name]

    # --- building data (seeds and tests) ---------------------------------------------------------

    def add_org(self, name: str, *, insights_enabled: bool = False) -> Org:
        with self._lock:
            org = self._orgs.setdefault(name, Org(name=name, insights_enabled=insights_enabled))
            org.insights_enabled = insights_enabled
            return org

    def add_oat(self, org: str, secret: str) -> None:
        with self._lock:
            self._oats[secret] = org

    def add_pat(self, username: str, secret: str) -> None:
        with self._lock:
            self._pats[secret] = username

    def add_member(
        self,
        org: str,
        username: str,
        *,
        role: Role = "member",
        email: str | None = None,
        full_name: str = "",
        teams: Iterable[str] = (),
        is_guest: bool = False,
        date_joined: datetime | None = None,
        last_logged_in_at: datetime | None = None,
        last_seen_at: datetime | None = None,
        last_desktop_version: str | None = None,
        company: str = "",
        location: str = "",
        member_id: str | None = None,
    ) -> Member:
        member = Member(
            username=username,
            id=member_id or uuid.uuid4().hex,
            full_name=full_name,
            email=email if email is not None else f"{username}@{org}.example",
            role=role,
            date_joined=date_joined or datetime.now(UTC),
            company=company,
            location=location,
            is_guest=is_guest,
            last_logged_in_at=last_logged_in_at,
            last_seen_at=last_seen_at,
            last_desktop_version=last_desktop_version,
        )
        with self._lock:
            target = self._orgs[org]
            org_ops.add_member(target, member)
            for team in teams:
                org_ops.add_group_member(target, team, username)
        return member

    def add_group(
        self,
        org: str,
        name: str,
        description: str = "",
        *,
        members: Iterable[str] = (),
        group_uuid: str | None = None,
        legacy_name: bool = False,
    ) -> Group:
        """`legacy_name`: a team from before the 3-30 character rule, which the API no longer creates."""
        with self._lock:
            target = self._orgs[org]
            group = org_ops.create_group(
                target,
                {"name": name, "description": description},
                next(self._group_ids),
                group_uuid or str(uuid.uuid4()),
                legacy_name=legacy_name,
            )
            for username in members:
                org_ops.add_group_member(target, name, username)
            return group

    def add_invite(
        self,
        org: str,
        invitee: str,
        *,
        inviter: str,
        team: str = "",
        role: Role = "member",
        created_at: datetime | None = None,
        invite_id: str | None = None,
    ) -> Invite:
        invite = Invite(
            id=invite_id or str(uuid.uuid4()),
            inviter_username=inviter,
            invitee=invitee,
            org=org,
            team=team,
            role=role,
            created_at=created_at or datetime.now(UTC),
        )
        with self._lock:
            self._orgs[org].invites[invite.id] = invite
        return invite

    def add_repository(
        self,
        org: str,
        name: str,
        *,
        is_private: bool = True,
        description: str = "",
        date_registered: datetime | None = None,
        last_updated: datetime | None = None,
        star_count: int = 0,
        pull_count: int = 0,
        storage_size: int = 0,
    ) -> Repository:
        now = datetime.now(UTC)
        repo = Repository(
            name=name,
            namespace=org,
            is_private=is_private,
            description=description,
            date_registered=date_registered or now,
            last_updated=last_updated or now,
            star_count=star_count,
            pull_count=pull_count,
            storage_size=storage_size,
        )
        with self._lock:
            self._orgs[org].repositories[name] = repo
        return repo

    def add_grant(self, org: str, repository: str, team: str, permission: Permission) -> None:
        with self._lock:
            target = self._orgs[org]
            target.repositories[repository].grants[target.groups[team].id] = permission

    # --- the audit log -----------------------------------------------------------------------------

    def add_audit_event(
        self,
        org: str,
        action: str,
        actor: str,
        description: str,
        *,
        name: str | None = None,
        data: dict[str, str] | None = None,
        when: datetime | None = None,
    ) -> None:
        """Write history into the audit log as it is (seeds and tests); changes nothing else."""
        with self._lock:
            audit.record(self._orgs[org], action, actor, description, name=name, data=data, when=when)

    def audit_events(self, org: str) -> list[dict[str, object]]:
        """The org's audit log as Docker Hub serves it, oldest first, for assertions."""
        with self._lock:
            target = self._orgs[org]
            return [audit.view(target, event) for event in target.audit]

    def web_ui_change(self, org: str, actor: str, action: str, **arguments: str) -> None:
        """Make a change as a person in Docker Hub's web UI would: it is applied and logged under `actor`.

        Actions (without the `org.` group): `member.role.change` (username, role), `member.remove`
        (username), `member.add` (username, role: an invite accepted), `member.invite.send` (invitee,
        team, role), `team.create` (team), `team.update` (team, and name and/or description: a rename
        or a new description), `team.delete` (team), `team.member.add` and
        `team.member.remove` (team, username), `member.invite.accept` (invitee: the invite's id, email or
        Docker ID; username: the Docker ID they join as). Raises the emulator's HubError as the API would.
        """
        action = action.removeprefix("org.")

        def arg(key: str) -> str:
            value = arguments.get(key)
            if not value:
                raise bad_request(f"{action} needs {key}")
            return value

        with self._lock:
            target = self._orgs.get(org)
            if target is None:
                raise not_found(f"organization {org} not found")
            if action == "member.role.change":
                org_ops.set_role(target, arg("username"), org_ops.parse_role(arg("role")), actor=actor)
            elif action == "member.remove":
                org_ops.remove_member(target, arg("username"), actor=actor)
            elif action == "member.add":
                username = arg("username")
                member = Member(
                    username=username,
                    id=uuid.uuid4().hex,
                    full_name="",
                    email=arguments.get("email") or f"{username}@{org}.example",
                    role=org_ops.parse_role(arguments.get("role") or "member"),
                    date_joined=datetime.now(UTC),
                )
                org_ops.add_member(target, member, actor=actor)
            elif action == "member.invite.send":
                body = {"invitees": [arg("invitee")], "team": arguments.get("team", ""), "role": arguments.get("role")}
                org_ops.bulk_invite(target, body, actor)
            elif action == "member.invite.accept":
                org_ops.accept_invite(target, arg("invitee"), arg("username"))
            elif action == "team.create":
                group_id, group_uuid = next(self._group_ids), str(uuid.uuid4())
                org_ops.create_group(target, {"name": arg("team")}, group_id, group_uuid, actor=actor)
            elif action == "team.update":
                body = {key: arguments[key] for key in ("name", "description") if key in arguments}
                if not body:
                    raise bad_request("team.update needs name or description")
                org_ops.update_group(target, arg("team"), body, replace=False, actor=actor)
            elif action == "team.delete":
                org_ops.delete_group(target, arg("team"), actor=actor)
            elif action == "team.member.add":
                org_ops.add_group_member(target, arg("team"), arg("username"), actor=actor)
            elif action == "team.member.remove":
                org_ops.remove_group_member(target, arg("team"), arg("username"), actor=actor)
            else:
                raise bad_request(f"the web UI stand-in cannot do {action!r}")

    def accept_invite(self, org: str, invitee: str, *, username: str, email: str | None = None) -> Member:
        """The invitee accepts their invite (id, email or Docker ID) and joins as `username`."""
        with self._lock:
            return org_ops.accept_invite(self._orgs[org], invitee, username, email=email)

    # --- server side: tokens ---------------------------------------------------------------------

    def exchange_token(self, identifier: str, secret: str) -> str:
        with self._lock:
            kind: TokenKind
            if self._oats.get(secret) == identifier:
                kind = "oat"
            elif self._pats.get(secret) == identifier:
                kind = "pat"
            else:
                raise unauthorized("invalid identifier or secret")
            now = time.time()
            jti = uuid.uuid4().hex
            claims = {
                "iss": "hub-emulator",
                "sub": identifier,
                "iat": int(now),
                # Whole seconds like Docker Hub, rounded up so a token never dies before its TTL.
                "exp": math.ceil(now + self.config.token_ttl_seconds),
                "jti": jti,
                "token_kind": kind,
                ("org" if kind == "oat" else "username"): identifier,
            }
            self._live_tokens.add(jti)
            self._token_exchanges += 1
            return sign(claims, self._key)

    def authenticate(self, authorization: str | None) -> Principal:
        if not authorization:
            raise unauthorized("authentication credentials were not provided")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("authorization header must be 'Bearer <token>'")
        try:
            claims = verify(token.strip(), self._key, time.time())
        except TokenError as exc:
            raise unauthorized(str(exc)) from None
        with self._lock:
            live = claims.get("jti") in self._live_tokens
        kind = claims.get("token_kind")
        subject = claims.get("sub")
        if not live:
            raise unauthorized("token revoked")
        if kind not in ("oat", "pat") or not isinstance(subject, str):
            raise unauthorized("malformed token")
        return Principal("oat" if kind == "oat" else "pat", subject)

    # --- server side: access-checked data access -------------------------------------------------

    def with_org(self, principal: Principal, org_name: str, scope: Scope, action: Callable[[Org], R]) -> R:
        """Run `action` on the org under the lock once the principal may use it."""
        if scope == "org" and principal.kind == "pat":
            raise pat_not_allowed()
        with self._lock:
            org = self._orgs.get(org_name)
            if org is None:
                raise not_found(f"organization {org_name} not found")
            self._check_access(principal, org, owners_only=scope == "audit")
            return action(org)

    def with_invite(self, principal: Principal, invite_id: str, action: Callable[[Org, Invite], R]) -> R:
        if principal.kind == "pat":
            raise pat_not_allowed()
        with self._lock:
            for org in self._orgs.values():
                invite = org.invites.get(invite_id)
                if invite is not None:
                    self._check_access(principal, org)
                    return action(org, invite)
        raise not_found(f"invite {invite_id} not found")

    def new_group_identity(self) -> tuple[int, str]:
        return next(self._group_ids), str(uuid.uuid4())

    def _check_access(self, principal: Principal, org: Org, *, owners_only: bool = False) -> None:
        if principal.kind == "oat":
            if principal.subject != org.name:
                raise permission_denied(f"token does not grant access to organization {org.name}")
            return
        # PAT on repository routes: Docker requires the PAT's user to be an org owner or editor; the audit
        # log is for owners only.
        member = org.members.get(principal.subject)
        allowed = ("owner",) if owners_only else ("owner", "editor")
        if member is None or member.role not in allowed:
            raise permission_denied(f"user {principal.subject} may not manage repositories of {org.name}")

    # --- server side: faults, rate limit, recording ----------------------------------------------

    def next_fault(self, method: str = "GET", path: str = "/") -> Fault | None:
        """The first queued fault that applies to this request, taken off the queue."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.matches(method, path):
                    del self._faults[index]
                    return fault
            return None

    def count_request(self, key: str) -> RateDecision | None:
        with self._lock:
            return None if self._limiter is None else self._limiter.hit(key, time.time())

    def record(self, method: str, path: str, query: str, status: int | None, token_kind: TokenKind | None) -> None:
        entry = RecordedRequest(method, path, query, status, token_kind, time.monotonic())
        with self._lock:
            self.requests.append(entry)

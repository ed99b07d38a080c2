"""The Docker Hub client: one typed method per endpoint hubkeeper uses.

Auth (`hub.auth`), retries and pacing (`hub.retries`), paging (`hub.paging`) and paths
(`hub.paths`) each live in their own module; this one maps endpoints to models and Docker Hub's
answers to `hub.errors`. Org endpoints go over the OAT connection; repository endpoints over the
PAT connection when one is configured, else the OAT (docs/docker-hub.md, "Tokens").
"""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError

from hub import paths
from hub.auth import ExchangeCheck, TokenExchangeAuth
from hub.errors import (
    HubError,
    HubUnavailable,
    InvalidInput,
    NotAnOrgMember,
    NotFound,
    UnexpectedResponse,
    echo,
    error_from_response,
    is_json,
)
from hub.models import (
    AuditLog,
    BulkInviteResult,
    GetAuditActionsResponse,
    GetAuditLogsResponse,
    GroupMember,
    Invite,
    OrgGroup,
    OrgMember,
    Page,
    Permission,
    RepositoryGroup,
    RepositoryInfo,
    RepositoryListEntry,
    Role,
)
from hub.observe import HubObserver, ObservedTransport
from hub.paging import DEFAULT_CONCURRENCY, PAGE_SIZE, PageResult, iter_items
from hub.paths import DEFAULT_BASE_URL
from hub.retries import MAYBE_APPLIED, RetryingTransport, RetryPolicy

DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=5.0)
DEFAULT_RETRY_POLICY = RetryPolicy()
USER_AGENT = "hubkeeper/0.1 (+https://github.com/hubkeeper)"

MemberType = Literal["all", "invitee", "member"]
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class HubConnection:
    """What one Docker Hub instance needs: the org and its OAT, optionally a PAT for repositories."""

    org: str
    oat: SecretStr
    base_url: str = DEFAULT_BASE_URL
    pat_username: str | None = None
    pat: SecretStr | None = None

    def __post_init__(self) -> None:
        paths.org_name(self.org)
        if self.pat is not None and not self.pat_username:
            raise InvalidInput("PAT username", "", "a PAT needs the username it belongs to")
        if self.pat_username is not None:
            paths.username(self.pat_username)


def _role(value: Role | str) -> Role:
    try:
        return Role(str(value).lower())
    except ValueError:
        raise InvalidInput("role", value, "expected owner, editor or member") from None


def _permission(value: Permission | str) -> Permission:
    try:
        return Permission(str(value).lower())
    except ValueError:
        raise InvalidInput("permission", value, "expected read, write or admin") from None


def _member_ref(value: str) -> tuple[str, str]:
    """('email', address) or ('username', name), checked."""
    if isinstance(value, str) and "@" in value:
        return "email", paths.email(value)
    return "username", paths.username(value)


@cache
def _verifying_tls() -> ssl.SSLContext:
    # httpx's own default (its CA bundle, or SSL_CERT_FILE / SSL_CERT_DIR), built once per process and
    # shared by every client of every instance: loading the CA bundle costs tens of milliseconds.
    return httpx.create_ssl_context()


def tls_for(base_url: str) -> ssl.SSLContext:
    """The TLS context for a transport to `base_url`.

    https: the shared verifying context. Plain http (the emulator, a local proxy): this transport
    never does TLS (it follows no redirects and its connections all go to `base_url`), so no CA
    bundle is loaded; httpx still wants a context, and gets one that requires a verified certificate
    but trusts no CA, so TLS it were ever asked to do would be refused, never left unverified.
    """
    if httpx.URL(base_url).scheme == "https":
        return _verifying_tls()
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


@cache
def _list_adapter(item: type[ModelT]) -> TypeAdapter[list[ModelT]]:
    # Building an adapter costs about a millisecond: once per model, not once per page.
    return TypeAdapter(list[item])  # type: ignore[valid-type]


@cache
def _page_adapter(item: type[ModelT]) -> TypeAdapter[Page[ModelT]]:
    return TypeAdapter(Page[item])  # type: ignore[valid-type]


class HubClient:
    """Async Docker Hub client for one organization. Use as `async with HubClient(...) as hub:`."""

    def __init__(
        self,
        connection: HubConnection,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        page_concurrency: int = DEFAULT_CONCURRENCY,
        observer: HubObserver | None = None,
    ) -> None:
        self.connection = connection
        self._observer = observer
        self.org = connection.org
        self.page_concurrency = page_concurrency
        self._transports: list[RetryingTransport] = []
        self.oat_auth = TokenExchangeAuth(connection.org, connection.oat, kind="oat")
        self._oat_http = self._http(self.oat_auth, transport, retry_policy, timeout)
        self.pat_auth: TokenExchangeAuth | None = None
        self._pat_http: httpx.AsyncClient | None = None
        if connection.pat is not None and connection.pat_username:
            self.pat_auth = TokenExchangeAuth(connection.pat_username, connection.pat, kind="pat")
            self._pat_http = self._http(self.pat_auth, transport, retry_policy, timeout)

    def _http(
        self,
        auth: TokenExchangeAuth,
        transport: httpx.AsyncBaseTransport | None,
        policy: RetryPolicy,
        timeout: httpx.Timeout,
    ) -> httpx.AsyncClient:
        retrying = RetryingTransport(
            transport or httpx.AsyncHTTPTransport(verify=tls_for(self.connection.base_url)), policy=policy
        )
        self._transports.append(retrying)
        outer = ObservedTransport(retrying, self._observer) if self._observer is not None else retrying
        return httpx.AsyncClient(
            base_url=self.connection.base_url,
            auth=auth,
            transport=outer,
            timeout=timeout,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"HubClient(org={self.org!r}, base_url={self.connection.base_url!r})"

    async def __aenter__(self) -> HubClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._oat_http.aclose()
        if self._pat_http is not None:
            await self._pat_http.aclose()

    @property
    def requests_sent(self) -> int:
        """Requests that reached the wire on every connection, retries and exchanges included."""
        return sum(transport.sent for transport in self._transports)

    @property
    def token_exchanges(self) -> int:
        return self.oat_auth.exchanges + (self.pat_auth.exchanges if self.pat_auth else 0)

    @property
    def _repository_http(self) -> httpx.AsyncClient:
        return self._pat_http or self._oat_http

    # -- plumbing --------------------------------------------------------------------------------

    def _secrets(self) -> tuple[str, ...]:
        auths = (self.oat_auth, self.pat_auth)
        return tuple(secret for auth in auths if auth is not None for secret in auth.secrets)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        http: httpx.AsyncClient | None = None,
        params: dict[str, Any] | None = None,
        json: Any = None,
        not_found: str | None = None,
    ) -> httpx.Response:
        client = http or self._oat_http
        query = {key: value for key, value in (params or {}).items() if value is not None}
        async with self._reaching(f"{method} {path}"):
            response = await client.request(method, path, params=query, json=json)
        if response.is_success:
            return response
        error = error_from_response(response, not_found=not_found, now=time.time(), secrets=self._secrets())
        if isinstance(error, NotFound):
            error.maybe_applied = bool(response.extensions.get(MAYBE_APPLIED))
        raise error

    async def _delete(
        self,
        path: str,
        *,
        gone: Callable[[], Awaitable[bool]],
        not_found: str | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> bool:
        """DELETE `path`; True when it removed something.

        When the answer to an attempt was lost (connection dropped, timeout, 5xx) the retry may find
        the thing already gone and answer 404. That is success if a read (`gone`) confirms the desired
        state; otherwise the 404 stands.
        """
        try:
            await self._send("DELETE", path, http=http, not_found=not_found)
        except NotFound as missing:
            if missing.maybe_applied and await gone():
                return True
            raise
        return True

    @asynccontextmanager
    async def _reaching(self, what: str) -> AsyncIterator[None]:
        """Turn httpx's transport failures (already retried below) into HubUnavailable."""
        try:
            yield
        except httpx.TimeoutException as exc:
            raise HubUnavailable(f"Docker Hub did not answer {what} in time (after retries)") from exc
        except httpx.TransportError as exc:
            raise HubUnavailable(
                f"could not reach Docker Hub at {self.connection.base_url} ({type(exc).__name__}, after retries)"
            ) from exc

    def _json(self, response: httpx.Response) -> Any:
        self._json_content_type(response)
        try:
            return response.json()
        except ValueError:
            raise UnexpectedResponse(f"Docker Hub sent malformed JSON for {response.request.url.path}") from None

    @staticmethod
    def _json_content_type(response: httpx.Response) -> None:
        if not is_json(response):
            raise UnexpectedResponse(
                f"Docker Hub answered {response.request.url.path} with "
                f"{response.headers.get('content-type', 'no content type')}, not JSON; wrong path or base URL?",
                status=response.status_code,
            )

    def _model(self, model: type[ModelT], response: httpx.Response) -> ModelT:
        try:
            return model.model_validate(self._json(response))
        except ValidationError as exc:
            raise UnexpectedResponse(
                f"Docker Hub's answer to {response.request.url.path} does not match {model.__name__}: "
                f"{exc.error_count()} problem(s), first: {exc.errors()[0]['msg']}"
            ) from None

    def _page(self, item: type[ModelT], response: httpx.Response) -> PageResult[ModelT]:
        """One page; a bare array (seen from some group routes) is the whole listing.

        Parsed straight from bytes by pydantic: a third cheaper than json() then validation, which
        matters when a wave of pages lands at once.
        """
        self._json_content_type(response)
        try:
            if response.content.lstrip()[:1] == b"[":
                return PageResult(items=_list_adapter(item).validate_json(response.content), paginated=False)
            page = _page_adapter(item).validate_json(response.content)
        except ValidationError as exc:
            raise UnexpectedResponse(
                f"Docker Hub's page from {response.request.url.path} does not match {item.__name__}: "
                f"{exc.errors()[0]['msg']}"
            ) from None
        return PageResult(items=page.results, count=page.count, has_next=bool(page.next))

    def _pages(
        self,
        item: type[ModelT],
        path: str,
        params: dict[str, Any],
        *,
        http: httpx.AsyncClient | None = None,
        not_found: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> AsyncGenerator[ModelT, None]:
        async def fetch(page: int, size: int) -> PageResult[ModelT]:
            response = await self._send(
                "GET",
                path,
                http=http,
                params={**params, "page": page, "page_size": size},
                # Past page 1 a 404 means the listing shrank under us; paging treats it as the end.
                not_found=not_found if page == 1 else None,
            )
            return self._page(item, response)

        return iter_items(fetch, page_size=page_size, concurrency=self.page_concurrency)

    def _team_not_found(self, team: str) -> str:
        return f"team {echo(team)} not found in {echo(self.org)}"

    # -- auth ------------------------------------------------------------------------------------

    async def check_token(self) -> ExchangeCheck:
        """Exchange the OAT now (at most once a minute, see hub.auth): raises AuthenticationFailed when refused."""
        async with self._reaching("the token exchange"):
            return await self.oat_auth.exchange(self._oat_http)

    async def ensure_token(self) -> None:
        """Make sure the OAT connection holds a valid JWT: the cached one, else one fresh exchange.

        Unlike `check_token` this never forces an exchange (Docker Hub rate-limits them), so it is
        cheap enough to call every few seconds: it runs the connection's own auth flow up to the
        point where a request would carry the token, and sends nothing but a needed exchange.
        """
        probe = self._oat_http.build_request("GET", paths.org_members(self.org))
        flow = self.oat_auth.async_auth_flow(probe)
        async with self._reaching("the token exchange"):
            try:
                request = await anext(flow)
                while request is not probe:
                    response = await self._oat_http.send(request, auth=None)
                    request = await flow.asend(response)
            finally:
                await flow.aclose()

    async def check_pat_token(self) -> ExchangeCheck:
        if self.pat_auth is None or self._pat_http is None:
            raise InvalidInput("PAT", "", "no PAT is configured for this instance")
        async with self._reaching("the token exchange"):
            return await self.pat_auth.exchange(self._pat_http)

    # -- members ---------------------------------------------------------------------------------

    def iter_members(
        self,
        *,
        search: str | None = None,
        role: Role | str | None = None,
        type: MemberType | None = None,
        invites: bool | None = None,
    ) -> AsyncGenerator[OrgMember, None]:
        """Every org member matching the filters, page by page (memory: a few pages)."""
        if type is not None and type not in ("all", "invitee", "member"):
            raise InvalidInput("member type", type, "expected all, invitee or member")
        params = {
            "search": search,
            "role": _role(role).value if role is not None else None,
            "type": type,
            "invites": None if invites is None else str(invites).lower(),
        }
        path = paths.org_members(self.org)
        return self._pages(OrgMember, path, params, not_found=f"organization {echo(self.org)} not found")

    async def list_members(
        self,
        *,
        search: str | None = None,
        role: Role | str | None = None,
        type: MemberType | None = None,
        invites: bool | None = None,
    ) -> list[OrgMember]:
        return [m async for m in self.iter_members(search=search, role=role, type=type, invites=invites)]

    async def members_page(
        self,
        page: int = 1,
        page_size: int = 20,
        *,
        search: str | None = None,
        role: Role | str | None = None,
    ) -> PageResult[OrgMember]:
        """One page of members with the total `count`: for showing a page at a time.

        A page past the end is empty rather than an error (the org may have shrunk since the
        previous page was shown).
        """
        if page < 1 or not 1 <= page_size <= PAGE_SIZE:
            raise InvalidInput("page", f"{page}/{page_size}", f"page from 1, page size from 1 to {PAGE_SIZE}")
        params = {
            "search": search,
            "role": _role(role).value if role is not None else None,
            "page": page,
            "page_size": page_size,
        }
        try:
            response = await self._send("GET", paths.org_members(self.org), params=params)
        except NotFound:
            if page == 1:
                raise
            return PageResult(items=[], count=None, has_next=False)
        return self._page(OrgMember, response)

    async def list_members_page(self, *, page_size: int = 1) -> list[OrgMember]:
        """One small page, for health checks."""
        return (await self.members_page(1, page_size)).items

    async def find_member(self, username_or_email: str) -> OrgMember | None:
        """The member with exactly this username or email (case-insensitive), or None."""
        kind, value = _member_ref(username_or_email)
        wanted = value.lower()
        # Closed on the way out: pages still being fetched when the member turns up are cancelled now.
        async with aclosing(self.iter_members(search=value)) as members:
            async for member in members:
                found = member.email if kind == "email" else member.username
                if found is not None and found.lower() == wanted:
                    return member
        return None

    async def get_member(self, username_or_email: str) -> OrgMember:
        member = await self.find_member(username_or_email)
        if member is None:
            raise NotAnOrgMember(username_or_email, self.org)
        return member

    async def update_member_role(self, username: str, role: Role | str) -> OrgMember:
        """Requests spell roles in lowercase; the answer comes back Capitalized."""
        response = await self._send(
            "PUT",
            paths.org_member(self.org, username),
            json={"role": _role(role).value},
            not_found=f"{echo(username)} is not a member of {echo(self.org)}",
        )
        return self._model(OrgMember, response)

    async def remove_member(self, username: str) -> None:
        """Removes the user from the org and so from every team (Docker Hub refuses the last owner)."""

        async def gone() -> bool:
            return await self.find_member(username) is None

        await self._delete(
            paths.org_member(self.org, username),
            gone=gone,
            not_found=f"{echo(username)} is not a member of {echo(self.org)}",
        )

    # -- groups (teams) --------------------------------------------------------------------------

    def iter_groups(self, *, search: str | None = None, username: str | None = None) -> AsyncGenerator[OrgGroup, None]:
        params = {"search": search, "username": paths.username(username) if username else None}
        return self._pages(OrgGroup, paths.org_groups(self.org), params)

    async def list_groups(self, *, search: str | None = None, username: str | None = None) -> list[OrgGroup]:
        return [group async for group in self.iter_groups(search=search, username=username)]

    async def list_groups_page(self, *, page_size: int = 1) -> list[OrgGroup]:
        response = await self._send("GET", paths.org_groups(self.org), params={"page": 1, "page_size": page_size})
        return self._page(OrgGroup, response).items

    async def get_group(self, name: str) -> OrgGroup:
        response = await self._send("GET", paths.org_group(self.org, name), not_found=self._team_not_found(name))
        return self._model(OrgGroup, response)

    async def create_group(self, name: str, description: str = "") -> OrgGroup:
        response = await self._send(
            "POST", paths.org_groups(self.org), json={"name": paths.new_team_name(name), "description": description}
        )
        return self._model(OrgGroup, response)

    async def update_group(self, name: str, *, new_name: str | None = None, description: str | None = None) -> OrgGroup:
        """PATCH: only the fields given change."""
        body: dict[str, str] = {}
        if new_name is not None:
            body["name"] = paths.new_team_name(new_name)
        if description is not None:
            body["description"] = description
        if not body:
            raise InvalidInput("team update", name, "give a new name or a new description")
        response = await self._send(
            "PATCH", paths.org_group(self.org, name), json=body, not_found=self._team_not_found(name)
        )
        return self._model(OrgGroup, response)

    async def delete_group(self, name: str) -> None:
        async def gone() -> bool:
            try:
                await self.get_group(name)
            except NotFound:
                return True
            return False

        await self._delete(paths.org_group(self.org, name), gone=gone, not_found=self._team_not_found(name))

    def iter_group_members(self, team: str, *, search: str | None = None) -> AsyncGenerator[GroupMember, None]:
        path = paths.org_group_members(self.org, team)
        return self._pages(GroupMember, path, {"search": search}, not_found=self._team_not_found(team))

    async def list_group_members(self, team: str, *, search: str | None = None) -> list[GroupMember]:
        return [member async for member in self.iter_group_members(team, search=search)]

    async def add_group_member(self, team: str, username: str, *, check_membership: bool = True) -> None:
        """Adding to a team does not invite: the user must already be an org member.

        Membership is checked first so the person gets "not a member, invite them" rather than
        whatever Docker Hub says about it.
        """
        path = paths.org_group_members(self.org, team)
        paths.username(username)
        if check_membership and await self.find_member(username) is None:
            raise NotAnOrgMember(username, self.org)
        try:
            await self._send("POST", path, json={"member": username}, not_found=self._team_not_found(team))
        except NotFound:
            raise await self._explain_add_404(team, username) from None

    async def _explain_add_404(self, team: str, username: str) -> HubError:
        """A 404 on a team add is either the team or the member; find out which."""
        try:
            await self.get_group(team)
        except NotFound as missing_team:
            return missing_team
        return NotAnOrgMember(username, self.org)

    async def remove_group_member(self, team: str, username: str) -> None:
        async def gone() -> bool:
            # A missing team raises NotFound here: that 404 was about the team, and it stands.
            members = await self.list_group_members(team, search=username)
            return all(member.username.lower() != username.lower() for member in members)

        await self._delete(
            paths.org_group_member(self.org, team, username),
            gone=gone,
            not_found=f"{echo(username)} is not in team {echo(team)} (or the team does not exist)",
        )

    # -- invites ---------------------------------------------------------------------------------

    async def list_invites(self) -> list[Invite]:
        """Every pending invite; Docker Hub does not page this one (`{"data": [...]}`)."""
        response = await self._send("GET", paths.org_invites(self.org))
        body = self._json(response)
        data = body.get("data") if isinstance(body, dict) else body
        try:
            return _list_adapter(Invite).validate_python(data or [])
        except ValidationError:
            raise UnexpectedResponse("Docker Hub's invite list does not match the invite schema") from None

    async def bulk_invite(
        self,
        invitees: Sequence[str],
        *,
        team: str | None = None,
        role: Role | str | None = None,
        dry_run: bool = False,
    ) -> list[BulkInviteResult]:
        """Invite by email or Docker ID; `dry_run` reports each invitee's outcome and changes nothing."""
        if not invitees:
            raise InvalidInput("invitees", "", "name at least one email or Docker ID")
        checked = [_member_ref(invitee)[1] for invitee in invitees]
        body: dict[str, Any] = {"org": self.org, "invitees": checked, "dry_run": dry_run}
        if team is not None:
            body["team"] = paths.team(team)
        if role is not None:
            body["role"] = _role(role).value
        response = await self._send("POST", paths.INVITES_BULK, json=body)
        data = self._json(response)
        results = data.get("invitees") if isinstance(data, dict) else None
        # The spec wraps the list twice ({"invitees": {"invitees": [...]}}); Docker Hub does not.
        if isinstance(results, dict):
            results = results.get("invitees")
        try:
            return _list_adapter(BulkInviteResult).validate_python(results or [])
        except ValidationError:
            raise UnexpectedResponse("Docker Hub's bulk invite answer does not match the spec") from None

    async def cancel_invite(self, invite_id: str) -> None:
        async def gone() -> bool:
            return all(invite.id != invite_id for invite in await self.list_invites())

        await self._delete(paths.invite(invite_id), gone=gone, not_found=f"invite {echo(invite_id)} not found")

    async def resend_invite(self, invite_id: str) -> None:
        await self._send("PATCH", paths.invite_resend(invite_id), not_found=f"invite {echo(invite_id)} not found")

    # -- repositories ----------------------------------------------------------------------------

    def iter_repositories(
        self, namespace: str | None = None, *, name: str | None = None, ordering: str | None = None
    ) -> AsyncGenerator[RepositoryListEntry, None]:
        ns = namespace or self.org
        return self._pages(
            RepositoryListEntry,
            paths.namespace_repositories(ns),
            {"name": name, "ordering": ordering},
            http=self._repository_http,
            not_found=f"namespace {echo(ns)} not found",
        )

    async def list_repositories(
        self, namespace: str | None = None, *, name: str | None = None, ordering: str | None = None
    ) -> list[RepositoryListEntry]:
        return [repo async for repo in self.iter_repositories(namespace, name=name, ordering=ordering)]

    async def repositories_page(
        self, page: int = 1, page_size: int = 20, *, name: str | None = None, namespace: str | None = None
    ) -> PageResult[RepositoryListEntry]:
        """One page of the namespace's repositories (by name) with the total `count`; past the end: empty."""
        if page < 1 or not 1 <= page_size <= PAGE_SIZE:
            raise InvalidInput("page", f"{page}/{page_size}", f"page from 1, page size from 1 to {PAGE_SIZE}")
        ns = namespace or self.org
        params = {"name": name, "ordering": "name", "page": page, "page_size": page_size}
        try:
            response = await self._send(
                "GET",
                paths.namespace_repositories(ns),
                http=self._repository_http,
                params=params,
                not_found=f"namespace {echo(ns)} not found",
            )
        except NotFound:
            if page == 1:
                raise
            return PageResult(items=[], count=None, has_next=False)  # Docker Hub: 404 past the last page
        return self._page(RepositoryListEntry, response)

    async def get_repository(self, repository: str, namespace: str | None = None) -> RepositoryInfo:
        ns = namespace or self.org
        response = await self._send(
            "GET",
            paths.namespace_repository(ns, repository),
            http=self._repository_http,
            not_found=f"repository {echo(f'{ns}/{repository}')} not found",
        )
        return self._model(RepositoryInfo, response)

    async def _group_id(self, team: str | OrgGroup) -> OrgGroup:
        return team if isinstance(team, OrgGroup) else await self.get_group(team)

    async def grant_team_access(
        self,
        team: str | OrgGroup,
        repository: str,
        permission: Permission | str,
        namespace: str | None = None,
    ) -> RepositoryGroup:
        """Give a team `permission` on a repository (a second grant changes the permission)."""
        ns = namespace or self.org
        level = _permission(permission)
        path = paths.repository_groups(ns, repository)
        group = await self._group_id(team)
        response = await self._send(
            "POST",
            path,
            http=self._repository_http,
            json={"group_id": group.id, "permission": level.value},
            not_found=f"repository {echo(f'{ns}/{repository}')} or team {echo(group.name)} not found",
        )
        return self._model(RepositoryGroup, response)

    async def get_team_access(
        self, team: str | OrgGroup, repository: str, namespace: str | None = None
    ) -> RepositoryGroup | None:
        """The team's permission on the repository, or None when it has no grant (404)."""
        ns = namespace or self.org
        paths.repository(repository)
        group = await self._group_id(team)
        try:
            response = await self._send(
                "GET", paths.repository_group(ns, repository, group.id), http=self._repository_http
            )
        except NotFound:
            return None
        return self._model(RepositoryGroup, response)

    async def revoke_team_access(self, team: str | OrgGroup, repository: str, namespace: str | None = None) -> bool:
        """Remove the team's grant; False when it had none."""
        ns = namespace or self.org
        paths.repository(repository)
        group = await self._group_id(team)

        async def gone() -> bool:
            return await self.get_team_access(group, repository, ns) is None

        try:
            return await self._delete(
                paths.repository_group(ns, repository, group.id), gone=gone, http=self._repository_http
            )
        except NotFound:
            return False

    # -- audit logs ------------------------------------------------------------------------------

    def iter_audit_logs(
        self,
        *,
        action: str | None = None,
        name: str | None = None,
        actor: str | None = None,
        from_: datetime | None = None,
        to: datetime | None = None,
        page_size: int = PAGE_SIZE,
    ) -> AsyncIterator[AuditLog]:
        """Every audit-log event of the org matching the filters, in Docker Hub's order.

        The envelope is `{logs: [...]}` with no count and no `next`: a page shorter than
        `page_size` is the last one.
        """
        if not 1 <= page_size <= PAGE_SIZE:
            raise InvalidInput("page size", page_size, f"from 1 to {PAGE_SIZE}")
        path = paths.audit_logs(self.org)
        params = {
            "action": action or None,
            "name": name or None,
            "actor": actor or None,
            "from": _wire_time(from_),
            "to": _wire_time(to),
        }

        async def fetch(page: int, size: int) -> PageResult[AuditLog]:
            response = await self._send(
                "GET",
                path,
                params={**params, "page": page, "page_size": size},
                not_found=f"audit log of {echo(self.org)} not found" if page == 1 else None,
            )
            logs = self._model(GetAuditLogsResponse, response).logs
            return PageResult(items=logs, count=None, has_next=len(logs) >= size)

        return iter_items(fetch, page_size=page_size, concurrency=1)

    async def list_audit_logs(
        self,
        *,
        action: str | None = None,
        name: str | None = None,
        actor: str | None = None,
        from_: datetime | None = None,
        to: datetime | None = None,
    ) -> list[AuditLog]:
        return [
            event
            async for event in self.iter_audit_logs(action=action, name=name, actor=actor, from_=from_, to=to)
        ]

    async def list_audit_log_actions(self) -> GetAuditActionsResponse:
        """The actions the audit log knows, by group (`org`, `repo`, …); the full id is `<group>.<name>`."""
        response = await self._send(
            "GET", paths.audit_log_actions(self.org), not_found=f"audit log of {echo(self.org)} not found"
        )
        return self._model(GetAuditActionsResponse, response)

    @property
    def rate_limit_per_minute(self) -> int | None:
        """The rate limit Docker Hub announced in its last X-RateLimit-Limit header, if any yet."""
        limits = [transport.throttle.limit for transport in self._transports if transport.throttle.limit]
        return min(limits) if limits else None


def _wire_time(when: datetime | None) -> str | None:
    """RFC 3339 in UTC, as the spec's `date-time` wants; a naive time is read as UTC."""
    if when is None:
        return None
    aware = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = ["DEFAULT_BASE_URL", "HubClient", "HubConnection"]

"""aiohttp routes mapping Docker Hub's /v2 paths onto EmulatorState, plus the per-request middleware."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from importlib import resources
from typing import Any

from aiohttp import web

from . import audit, org_ops, repo_ops, views
from .errors import HubError, bad_request, unauthorized
from .models import Invite, Org
from .paging import PageRequest, parse_page
from .state import EmulatorState, Principal

STATE = web.AppKey("state", EmulatorState)
# The bearer token, checked once by the middleware: who is calling, or why the token was refused.
AUTH: web.RequestKey[Principal | HubError] = web.RequestKey("auth", object)  # type: ignore[arg-type]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Docker Hub answers unknown paths (a trailing slash included) with its web app, not JSON.
NOT_FOUND_HTML = resources.files(__package__).joinpath("not_found.html").read_text(encoding="utf-8")
RATE_LIMITED_BODY = {"detail": "Rate limit exceeded", "error": False}
FULL_REPO_PERMISSIONS = {"read": True, "write": True, "admin": True}


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


def _error(err: HubError) -> web.Response:
    return _json(err.to_body(), err.status)


def _html_not_found() -> web.Response:
    return web.Response(status=404, text=NOT_FOUND_HTML, content_type="text/html")


def _state(request: web.Request) -> EmulatorState:
    return request.app[STATE]


def _principal(request: web.Request) -> Principal:
    auth = request.get(AUTH)
    if isinstance(auth, Principal):
        return auth
    if isinstance(auth, HubError):
        raise auth
    raise unauthorized("authentication credentials were not provided")


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise bad_request("request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise bad_request("request body must be a JSON object")
    return data


def _page(request: web.Request, default_size: int = 25) -> PageRequest:
    return parse_page(request.query, request.host, request.path, default_size)


# --- middleware ----------------------------------------------------------------------------------


@web.middleware
async def emulate(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = _state(request)
    path = request.rel_url.raw_path
    query = request.rel_url.raw_query_string
    if request.headers.get("Authorization"):
        try:
            request[AUTH] = state.authenticate(request.headers["Authorization"])
        except HubError as err:
            request[AUTH] = err
    auth = request.get(AUTH)
    token_kind = auth.kind if isinstance(auth, Principal) else None
    is_api = path.startswith("/v2/")

    fault = state.next_fault(request.method, path) if is_api else None
    if fault is not None and fault.kind == "drop":
        state.record(request.method, path, query, None, token_kind)
        if request.transport is not None:
            request.transport.abort()
        # Nothing can be written any more; aiohttp drops a response to an aborted transport.
        return web.Response(status=HTTPStatus.SERVICE_UNAVAILABLE)

    latency = state.config.latency_ms
    if latency > 0:
        await asyncio.sleep(latency / 1000)
    if fault is not None and fault.kind == "delay":
        await asyncio.sleep(fault.seconds)

    decision = None
    if is_api:
        key = auth.rate_key if isinstance(auth, Principal) else f"client:{request.remote}"
        decision = state.count_request(key)

    response: web.StreamResponse
    if fault is not None and fault.kind == "fail":
        try:
            phrase = HTTPStatus(fault.status).phrase
        except ValueError:
            phrase = "error"
        response = _json({"errinfo": {}, "detail": fault.detail, "message": phrase.lower()}, fault.status)
    elif fault is not None and fault.kind == "rate_limit":
        response = _json(RATE_LIMITED_BODY, 429)
        response.headers["Retry-After"] = str(fault.retry_after)
    elif decision is not None and decision.retry_after is not None:
        response = _json(RATE_LIMITED_BODY, 429)
    else:
        response = await _dispatch(request, handler)

    if fault is not None and fault.kind == "drop_after":
        # Docker Hub applied it; the answer is lost on the way back.
        state.record(request.method, path, query, None, token_kind)
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=HTTPStatus.SERVICE_UNAVAILABLE)
    if decision is not None:
        response.headers.update(decision.headers())
    state.record(request.method, path, query, response.status, token_kind)
    return response


async def _dispatch(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except HubError as err:
        return _error(err)
    except web.HTTPNotFound:
        return _html_not_found()
    except web.HTTPMethodNotAllowed:
        detail = f"method {request.method} not allowed"
        return _json({"errinfo": {}, "detail": detail, "message": "method not allowed"}, 405)


# --- auth ----------------------------------------------------------------------------------------


async def create_token(request: web.Request) -> web.Response:
    body = await _body(request)
    identifier, secret = body.get("identifier"), body.get("secret")
    if not isinstance(identifier, str) or not identifier or not isinstance(secret, str) or not secret:
        raise bad_request("identifier and secret are required")
    return _json({"access_token": _state(request).exchange_token(identifier, secret)})


# --- members -------------------------------------------------------------------------------------


async def list_members(request: web.Request) -> web.Response:
    page = _page(request)
    return _json(
        _state(request).with_org(
            _principal(request),
            request.match_info["org_name"],
            "org",
            lambda org: org_ops.list_members(org, request.query, page),
        )
    )


async def update_member(request: web.Request) -> web.Response:
    principal = _principal(request)
    role = org_ops.parse_role((await _body(request)).get("role"))
    username = request.match_info["username"]
    return _json(
        _state(request).with_org(
            principal,
            request.match_info["org_name"],
            "org",
            lambda org: org_ops.set_role(org, username, role, actor=principal.subject),
        )
    )


async def delete_member(request: web.Request) -> web.Response:
    username = request.match_info["username"]
    principal = _principal(request)
    _state(request).with_org(
        principal,
        request.match_info["org_name"],
        "org",
        lambda org: org_ops.remove_member(org, username, actor=principal.subject),
    )
    return web.Response(status=204)


# --- groups --------------------------------------------------------------------------------------


async def list_groups(request: web.Request) -> web.Response:
    page = _page(request)
    return _json(
        _state(request).with_org(
            _principal(request),
            request.match_info["org_name"],
            "org",
            lambda org: org_ops.list_groups(org, request.query, page),
        )
    )


async def create_group(request: web.Request) -> web.Response:
    principal = _principal(request)
    body = await _body(request)
    state = _state(request)

    def create(org: Org) -> dict[str, Any]:
        group_id, group_uuid = state.new_group_identity()
        return views.org_group(org_ops.create_group(org, body, group_id, group_uuid, actor=principal.subject))

    return _json(state.with_org(principal, request.match_info["org_name"], "org", create), 201)


async def get_group(request: web.Request) -> web.Response:
    group_name = request.match_info["group_name"]
    return _json(
        _state(request).with_org(
            _principal(request),
            request.match_info["org_name"],
            "org",
            lambda org: views.org_group(org_ops.get_group(org, group_name)),
        )
    )


async def _update_group(request: web.Request, *, replace: bool) -> web.Response:
    principal = _principal(request)
    body = await _body(request)
    group_name = request.match_info["group_name"]
    return _json(
        _state(request).with_org(
            principal,
            request.match_info["org_name"],
            "org",
            lambda org: org_ops.update_group(org, group_name, body, replace=replace, actor=principal.subject),
        )
    )


async def put_group(request: web.Request) -> web.Response:
    return await _update_group(request, replace=True)


async def patch_group(request: web.Request) -> web.Response:
    return await _update_group(request, replace=False)


async def delete_group(request: web.Request) -> web.Response:
    group_name = request.match_info["group_name"]
    principal = _principal(request)
    _state(request).with_org(
        principal,
        request.match_info["org_name"],
        "org",
        lambda org: org_ops.delete_group(org, group_name, actor=principal.subject),
    )
    return web.Response(status=204)


async def list_group_members(request: web.Request) -> web.Response:
    page = _page(request)
    group_name = request.match_info["group_name"]
    return _json(
        _state(request).with_org(
            _principal(request),
            request.match_info["org_name"],
            "org",
            lambda org: org_ops.list_group_members(org, group_name, request.query, page),
        )
    )


async def add_group_member(request: web.Request) -> web.Response:
    principal = _principal(request)
    member = (await _body(request)).get("member")
    group_name = request.match_info["group_name"]
    _state(request).with_org(
        principal,
        request.match_info["org_name"],
        "org",
        lambda org: org_ops.add_group_member(org, group_name, member, actor=principal.subject),
    )
    # The spec documents a bare 200 with no body.
    return web.Response(status=200)


async def remove_group_member(request: web.Request) -> web.Response:
    group_name, username = request.match_info["group_name"], request.match_info["username"]
    principal = _principal(request)
    _state(request).with_org(
        principal,
        request.match_info["org_name"],
        "org",
        lambda org: org_ops.remove_group_member(org, group_name, username, actor=principal.subject),
    )
    return web.Response(status=204)


# --- invites -------------------------------------------------------------------------------------


async def list_invites(request: web.Request) -> web.Response:
    return _json(
        _state(request).with_org(_principal(request), request.match_info["org_name"], "org", org_ops.list_invites)
    )


async def bulk_invite(request: web.Request) -> web.Response:
    principal = _principal(request)
    body = await _body(request)
    org_name = body.get("org")
    if not isinstance(org_name, str) or not org_name:
        raise bad_request("org is required")
    # An OAT has no user behind it; its invites name the org as inviter.
    return _json(
        _state(request).with_org(
            principal, org_name, "org", lambda org: org_ops.bulk_invite(org, body, principal.subject)
        ),
        202,
    )


async def delete_invite(request: web.Request) -> web.Response:
    def cancel(org: Org, invite: Invite) -> None:
        del org.invites[invite.id]

    _state(request).with_invite(_principal(request), request.match_info["id"], cancel)
    return web.Response(status=204)


async def resend_invite(request: web.Request) -> web.Response:
    def resend(org: Org, invite: Invite) -> None:
        """Nothing to send from an emulator; the recorded request is the evidence."""

    _state(request).with_invite(_principal(request), request.match_info["id"], resend)
    return web.Response(status=204)


# --- repositories --------------------------------------------------------------------------------


async def list_repositories(request: web.Request) -> web.Response:
    page = _page(request, default_size=10)
    return _json(
        _state(request).with_org(
            _principal(request),
            request.match_info["namespace"],
            "repo",
            lambda org: repo_ops.list_repositories(org, request.query, page),
        )
    )


async def get_repository(request: web.Request) -> web.Response:
    name = request.match_info["repository"]
    # Only owners, editors and the org's own OAT get past the access check, and all may administer.
    return _json(
        _state(request).with_org(
            _principal(request),
            request.match_info["namespace"],
            "repo",
            lambda org: repo_ops.repository_info(org, name, dict(FULL_REPO_PERMISSIONS)),
        )
    )


async def create_grant(request: web.Request) -> web.Response:
    principal = _principal(request)
    body = await _body(request)
    name = request.match_info["repository"]
    return _json(
        _state(request).with_org(
            principal, request.match_info["namespace"], "repo", lambda org: repo_ops.grant(org, name, body)
        )
    )


async def get_grant(request: web.Request) -> web.Response:
    name, group_id = request.match_info["repository"], int(request.match_info["group_id"])
    return _json(
        _state(request).with_org(
            _principal(request),
            request.match_info["namespace"],
            "repo",
            lambda org: repo_ops.get_grant(org, name, group_id),
        )
    )


async def patch_grant(request: web.Request) -> web.Response:
    principal = _principal(request)
    body = await _body(request)
    name, group_id = request.match_info["repository"], int(request.match_info["group_id"])
    return _json(
        _state(request).with_org(
            principal,
            request.match_info["namespace"],
            "repo",
            lambda org: repo_ops.update_grant(org, name, group_id, body),
        )
    )


async def delete_grant(request: web.Request) -> web.Response:
    name, group_id = request.match_info["repository"], int(request.match_info["group_id"])
    _state(request).with_org(
        _principal(request),
        request.match_info["namespace"],
        "repo",
        lambda org: repo_ops.revoke_grant(org, name, group_id),
    )
    return web.Response(status=204)


# --- audit logs ----------------------------------------------------------------------------------


async def list_audit_logs(request: web.Request) -> web.Response:
    page = _page(request)
    return _json(
        _state(request).with_org(
            _principal(request),
            request.match_info["account"],
            "audit",
            lambda org: audit.list_events(org, request.query, page),
        )
    )


async def list_audit_actions(request: web.Request) -> web.Response:
    return _json(
        _state(request).with_org(
            _principal(request), request.match_info["account"], "audit", lambda org: audit.list_actions()
        )
    )


# --- emulator-only: a change made by a person in Docker Hub's web UI -----------------------------


async def web_ui_change(request: web.Request) -> web.Response:
    """`POST /emulator/web-ui/{org}` `{"actor", "action", ...}`: see EmulatorState.web_ui_change."""
    body = await _body(request)
    actor, action = body.pop("actor", None), body.pop("action", None)
    if not isinstance(actor, str) or not actor or not isinstance(action, str) or not action:
        raise bad_request("actor and action are required")
    arguments = {key: str(value) for key, value in body.items()}
    _state(request).web_ui_change(request.match_info["org_name"], actor, action, **arguments)
    return _json({"done": action, "actor": actor})


def create_app(state: EmulatorState) -> web.Application:
    app = web.Application(middlewares=[emulate])
    app[STATE] = state
    org = "/v2/orgs/{org_name}"
    group = org + "/groups/{group_name}"
    grant = "/v2/repositories/{namespace}/{repository}/groups"
    app.router.add_routes(
        [
            web.post("/v2/auth/token", create_token),
            web.get(org + "/members", list_members),
            web.put(org + "/members/{username}", update_member),
            web.delete(org + "/members/{username}", delete_member),
            web.get(org + "/groups", list_groups),
            web.post(org + "/groups", create_group),
            web.get(group, get_group),
            web.put(group, put_group),
            web.patch(group, patch_group),
            web.delete(group, delete_group),
            web.get(group + "/members", list_group_members),
            web.post(group + "/members", add_group_member),
            web.delete(group + "/members/{username}", remove_group_member),
            web.get(org + "/invites", list_invites),
            web.post("/v2/invites/bulk", bulk_invite),
            web.delete("/v2/invites/{id}", delete_invite),
            web.patch("/v2/invites/{id}/resend", resend_invite),
            web.get("/v2/namespaces/{namespace}/repositories", list_repositories),
            web.get("/v2/namespaces/{namespace}/repositories/{repository}", get_repository),
            web.post(grant, create_grant),
            web.get(grant + r"/{group_id:\d+}", get_grant),
            web.patch(grant + r"/{group_id:\d+}", patch_grant),
            web.delete(grant + r"/{group_id:\d+}", delete_grant),
            web.get("/v2/auditlogs/{account}", list_audit_logs),
            web.get("/v2/auditlogs/{account}/actions", list_audit_actions),
            web.post("/emulator/web-ui/{org_name}", web_ui_change),
        ]
    )
    return app

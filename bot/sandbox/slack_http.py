"""The stand-in's HTTP surface: Web API methods, response_url posts, and the file-upload URL."""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from .responses import apply_response
from .slack_methods import FORM_ONLY, METHODS, file_object
from .slack_state import RecordedCall, SlackApiFault, SlackState
from .socket_mode import SocketModeServer

# Form bodies carry structured arguments as JSON strings; Slack decodes these before using them.
_JSON_FIELDS = ("blocks", "attachments", "files", "view", "metadata", "users")


def _decode_json_fields(args: dict[str, Any]) -> None:
    for name in _JSON_FIELDS:
        value = args.get(name)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            try:
                args[name] = json.loads(value)
            except ValueError:
                continue  # left as a string; the method answers invalid_* for it


async def _read_args(request: web.Request, method: str) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError as exc:
            raise SlackApiFault("invalid_json") from exc
        if not isinstance(body, dict):
            raise SlackApiFault("invalid_json")
        if method not in FORM_ONLY:
            args.update(body)
    elif request.method == "POST":
        form = await request.post()
        args.update({k: v for k, v in form.items() if isinstance(v, str)})
    _decode_json_fields(args)
    return args


def _token(request: web.Request, args: dict[str, Any]) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip()
    token = args.get("token")
    return token if isinstance(token, str) and token else None


def build_standin_app(
    state: SlackState, bot_token: str, socket_mode: SocketModeServer | None = None
) -> web.Application:
    """The stand-in as an aiohttp application, for callers that run it on their own loop."""

    def origin(request: web.Request) -> str:
        return str(request.url.origin())

    def answer(method: str, args: dict[str, Any], body: dict[str, Any], status: int = 200) -> web.Response:
        state.record(RecordedCall(method, args, time.time(), status, bool(body.get("ok")), body.get("error")))
        return web.json_response(body, status=status)

    async def api(request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            args = await _read_args(request, method)
        except SlackApiFault as fault:
            return answer(method, {}, {"ok": False, "error": fault.error})
        token = _token(request, args)
        args.pop("token", None)  # never keep credentials in the call log
        if method == "apps.connections.open" and socket_mode is not None:
            # Called with the app-level token, not the bot's.
            state.record(RecordedCall(method, args, time.time(), 200, True))
            return socket_mode.open_connection(request, token)
        retry_after = state.take_rate_limit(method)
        if retry_after is not None:
            state.record(RecordedCall(method, args, time.time(), 429, False, "ratelimited"))
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(retry_after)}
            )
        if token is None:
            return answer(method, args, {"ok": False, "error": "not_authed"})
        if token != bot_token:
            return answer(method, args, {"ok": False, "error": "invalid_auth"})
        handler = METHODS.get(method)
        if handler is None:
            return answer(method, args, {"ok": False, "error": "unknown_method"})
        try:
            result = handler(state, args, origin(request))
        except SlackApiFault as fault:
            return answer(method, args, {"ok": False, "error": fault.error})
        return answer(method, args, {"ok": True, **result})

    async def response_url(request: web.Request) -> web.Response:
        entry = state.response_urls.get(request.match_info["id"])
        if entry is None:
            return web.Response(status=404, text="no_service")
        try:
            payload = await request.json()
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        if not isinstance(payload, dict):
            return web.Response(status=400, text="invalid_payload")
        # `rate_limit_next(method="response_url")` rate-limits replies the way Slack's webhooks can.
        retry_after = state.take_rate_limit("response_url")
        if retry_after is not None:
            state.record(RecordedCall("response_url", payload, time.time(), 429, False, "rate_limited"))
            return web.Response(status=429, text="rate_limited", headers={"Retry-After": str(retry_after)})
        try:
            apply_response(state, entry, payload)
        except SlackApiFault as fault:
            state.record(RecordedCall("response_url", payload, time.time(), 400, False, fault.error))
            return web.Response(status=400, text=fault.error)
        state.record(RecordedCall("response_url", payload, time.time(), 200, True))
        return web.Response(text="ok")

    async def upload(request: web.Request) -> web.Response:
        stored = state.files.get(request.match_info["file_id"])
        if stored is None:
            return web.Response(status=404, text="not_found")
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            part = next((v for v in form.values() if isinstance(v, web.FileField)), None)
            data = part.file.read() if part is not None else b""
        else:
            data = await request.read()
        with state.changing():
            stored.content = data
        return web.Response(text=f"OK - {len(data)}")

    async def download(request: web.Request) -> web.Response:
        # url_private needs the bot token, as in Slack; the console reads files through its own route.
        if request.headers.get("Authorization") != f"Bearer {bot_token}":
            return web.Response(status=403, text="forbidden")
        stored = state.files.get(request.match_info["file_id"])
        if stored is None or stored.content is None:
            return web.Response(status=404, text="not_found")
        return web.Response(body=stored.content, content_type=file_object(stored, "")["mimetype"])

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/api/{method}", api)
    if socket_mode is not None:
        app.router.add_get("/socket-mode", socket_mode.websocket)
    app.router.add_post("/response/{id}", response_url)
    app.router.add_post("/upload/{file_id}", upload)
    app.router.add_get("/files/{file_id}/{name}", download)
    return app

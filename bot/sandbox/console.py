"""The sandbox console: a web page that plays Slack for a person, in front of the bot and the stand-in.

The browser never talks to the bot. It asks this backend to run a command or click a button; the backend
builds the request Slack would send (same fields, same encoding, signed with the signing secret), posts it
to the bot's events URL, and treats the ack the way Slack does. Everything the bot then does arrives at the
stand-in, which is where the page reads what to show.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from .blocks import find_element
from .demo_users import DEMO_CHANNELS, DEMO_SLACK_USERS
from .directory import SlackChannel, SlackUser, dm_channel_id
from .examples import DEMO_EXAMPLES
from .payloads import (
    block_actions_payload,
    escaped_command_text,
    interaction_body,
    signed_headers,
    slash_command_body,
    view_submission_payload,
)
from .slack_api import SlackStandIn
from .views import apply_submission_ack, close_modal

STATIC = Path(__file__).parent / "static"
COMMAND = "/hub"
# Slack gives up on a request after 3 seconds and tells the user the command timed out.
SLACK_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class OutsideChange:
    """A change someone makes in Docker Hub's web UI, not through hubkeeper: the activity feed posts it."""

    label: str
    action: str
    arguments: dict[str, str]


OUTSIDE_ACTOR = "carolsmith"
"""The demo org's third owner, who uses the web UI."""
OUTSIDE_CHANGES: dict[str, OutsideChange] = {
    "ivan-owner": OutsideChange(
        "Carol makes Ivan an owner", "member.role.change", {"username": "ivanpetrov", "role": "owner"}
    ),
    "ivan-member": OutsideChange(
        "Carol makes Ivan a member again", "member.role.change", {"username": "ivanpetrov", "role": "member"}
    ),
    "kenji-backend": OutsideChange(
        "Carol adds Kenji to the backend team", "team.member.add", {"team": "backend", "username": "kenjisato"}
    ),
    "umar-removed": OutsideChange("Carol removes Umar from the org", "member.remove", {"username": "umarkhan"}),
}


@dataclass(frozen=True)
class Delivery:
    status: int
    body: str
    content_type: str
    error: str | None  # Slack's word for a failed delivery: dispatch_failed or operation_timeout


class BadRequest(web.HTTPBadRequest):
    def __init__(self, reason: str) -> None:
        super().__init__(text=json.dumps({"ok": False, "error": reason}), content_type="application/json")


class Console:
    def __init__(
        self,
        standin: SlackStandIn,
        bot_events_url: str,
        signing_secret: str,
        users: Sequence[SlackUser],
        channels: Sequence[SlackChannel],
        web_ui_url: str | None = None,
    ) -> None:
        self.standin = standin
        self.web_ui_url = web_ui_url
        """The emulator's `/emulator/web-ui/{org}` endpoint: where outside changes are made (None: no button)."""
        self.events_url = bot_events_url
        self.secret = signing_secret
        self.users = {u.id: u for u in users}
        self.channels = {c.id: c for c in channels}
        self.session: aiohttp.ClientSession | None = None

    # -- plumbing --------------------------------------------------------------------------------

    async def session_ctx(self, app: web.Application) -> AsyncIterator[None]:
        timeout = aiohttp.ClientTimeout(total=SLACK_TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            self.session = session
            yield
            self.session = None

    async def deliver(self, body: str) -> Delivery:
        assert self.session is not None, "the console app is not running"
        try:
            async with self.session.post(self.events_url, data=body, headers=signed_headers(self.secret, body)) as r:
                text = await r.text()
                error = None if r.status == 200 else "dispatch_failed"
                return Delivery(r.status, text, r.content_type, error)
        except TimeoutError:
            return Delivery(0, "", "", "operation_timeout")
        except aiohttp.ClientError:
            return Delivery(0, "", "", "dispatch_failed")

    def user(self, user_id: Any) -> SlackUser:
        if not isinstance(user_id, str) or user_id not in self.users:
            raise BadRequest("unknown user")
        return self.users[user_id]

    def channel(self, user: SlackUser, channel_id: Any) -> tuple[str, str]:
        """(id, name) of a channel the user can act in: a public channel or their DM with the bot."""
        if channel_id == dm_channel_id(user.id):
            return channel_id, "directmessage"
        if isinstance(channel_id, str) and channel_id in self.channels:
            return channel_id, self.channels[channel_id].name
        raise BadRequest("unknown channel")

    @staticmethod
    async def json_body(request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError as exc:
            raise BadRequest("expected a JSON body") from exc
        if not isinstance(body, dict):
            raise BadRequest("expected a JSON object")
        return body

    @staticmethod
    def report(delivery: Delivery, **extra: Any) -> web.Response:
        """Tell the page what happened: the bot's HTTP status, its ack body and Slack's error word, if any."""
        outcome = {"ok": delivery.error is None, "status": delivery.status, "ack": delivery.body}
        return web.json_response({**outcome, "error": delivery.error, **extra})

    # -- routes ----------------------------------------------------------------------------------

    async def page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "console.html")

    async def state(self, request: web.Request) -> web.Response:
        # Without ?user= the page has not picked anyone yet: it starts as the first person in the directory.
        me = self.user(request.query.get("user") or next(iter(self.users)))
        return web.json_response(console_state(self, me))

    async def command(self, request: web.Request) -> web.Response:
        body = await self.json_body(request)
        user = self.user(body.get("user"))
        channel = self.channel(user, body.get("channel"))
        command, _, text = str(body.get("text", "")).strip().partition(" ")
        if command != COMMAND:
            raise BadRequest(f"{command or 'that'} is not a valid command; try {COMMAND}")
        form = slash_command_body(
            self.standin.state.identity,
            user,
            channel,
            COMMAND,
            escaped_command_text(text.strip(), self.users.values()),
            self.standin.new_response_url(user.id, channel[0]),
            self.standin.new_trigger_id(user.id),
        )
        delivery = await self.deliver(form)
        self.show_command_ack(user, channel[0], delivery, f"{COMMAND} {text}".strip())
        return self.report(delivery)

    def show_command_ack(self, user: SlackUser, channel_id: str, delivery: Delivery, typed: str) -> None:
        """Slack shows a non-empty ack to the user (or the channel, for in_channel), and failures as errors."""
        if delivery.error is not None:
            failure = {"text": f'{COMMAND} failed with the error "{delivery.error}"'}
            self.standin.post_ephemeral(user.id, channel_id, failure, source="slack")
            return
        if not delivery.body.strip():
            return
        content: dict[str, Any] = {"text": delivery.body}
        if delivery.content_type == "application/json":
            try:
                parsed = json.loads(delivery.body)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                return
            content = {k: parsed[k] for k in ("text", "blocks", "attachments") if k in parsed}
            if not content:
                return
            if parsed.get("response_type") == "in_channel":
                self.standin.post_in_channel(channel_id, content)
                return
        self.standin.post_ephemeral(user.id, channel_id, content, source="ack")

    async def action(self, request: web.Request) -> web.Response:
        body = await self.json_body(request)
        user = self.user(body.get("user"))
        channel = self.channel(user, body.get("channel"))
        ts, ephemeral = str(body.get("message_ts", "")), bool(body.get("ephemeral"))
        pool = self.standin.ephemerals(user.id) if ephemeral else self.standin.messages(channel[0])
        message = next((m for m in pool if m["ts"] == ts), None)
        if message is None:
            raise BadRequest("no such message")
        block_id, action_id = str(body.get("block_id", "")), str(body.get("action_id", ""))
        element = find_element(message.get("blocks", []), block_id, action_id)
        if element is None:
            raise BadRequest("no such button in that message")
        payload = block_actions_payload(
            self.standin.state.identity,
            user,
            channel,
            message,
            ephemeral,
            element,
            block_id,
            self.standin.new_response_url(user.id, channel[0], original_ts=ts),
            self.standin.new_trigger_id(user.id),
        )
        delivery = await self.deliver(interaction_body(payload))
        if delivery.error is not None:
            label = element.get("text", {}).get("text", action_id)
            notice = {"text": f'hubkeeper did not respond to "{label}" ({delivery.error})'}
            self.standin.post_ephemeral(user.id, channel[0], notice, source="slack")
        return self.report(delivery)

    async def view_submission(self, request: web.Request) -> web.Response:
        body = await self.json_body(request)
        user = self.user(body.get("user"))
        stack = self.standin.modal_stack(user.id)
        if not stack or stack[-1]["id"] != body.get("view_id"):
            raise BadRequest("that modal is not open")
        raw = body.get("values")
        values: dict[str, dict[str, str]] = raw if isinstance(raw, dict) else {}
        ident = self.standin.state.identity
        payload = view_submission_payload(ident, user, stack[-1], values, self.standin.new_trigger_id(user.id))
        delivery = await self.deliver(interaction_body(payload))
        errors: dict[str, str] | None = None
        if delivery.error is None:
            try:
                ack = json.loads(delivery.body) if delivery.body.strip() else {}
            except ValueError:
                ack = {}
            errors = apply_submission_ack(self.standin.state, user.id, ack if isinstance(ack, dict) else {})
        return self.report(delivery, errors=errors)

    async def view_close(self, request: web.Request) -> web.Response:
        body = await self.json_body(request)
        close_modal(self.standin.state, self.user(body.get("user")).id)
        return web.json_response({"ok": True})

    async def outside_change(self, request: web.Request) -> web.Response:
        """Make one of OUTSIDE_CHANGES in the emulator, as a person in Docker Hub's web UI would."""
        body = await self.json_body(request)
        change = OUTSIDE_CHANGES.get(str(body.get("change", "")))
        if change is None or self.web_ui_url is None:
            raise BadRequest("unknown outside change")
        assert self.session is not None, "the console app is not running"
        sent = {"actor": OUTSIDE_ACTOR, "action": change.action, **change.arguments}
        try:
            async with self.session.post(self.web_ui_url, json=sent) as r:
                answer = await r.json(content_type=None)
                if r.status != 200:
                    detail = answer.get("detail") if isinstance(answer, dict) else None
                    return web.json_response({"ok": False, "error": str(detail or f"HTTP {r.status}")})
        except (TimeoutError, aiohttp.ClientError, ValueError) as error:
            return web.json_response({"ok": False, "error": f"the emulator did not answer ({type(error).__name__})"})
        return web.json_response({"ok": True, "done": change.label})

    async def accept_invite(self, request: web.Request) -> web.Response:
        """Plays the newcomer in Docker Hub's web UI: they accept their invite and sign up as `username`.

        What the bot then sees is only what Docker Hub shows it (the member appears, the invite is gone).
        """
        body = await self.json_body(request)
        invitee, username = body.get("invitee"), body.get("username")
        if not isinstance(invitee, str) or not invitee.strip() or not isinstance(username, str) or not username.strip():
            raise BadRequest("invitee and username are required")
        if self.web_ui_url is None:
            raise BadRequest("no Docker Hub emulator is connected to this console")
        assert self.session is not None, "the console app is not running"
        who = username.strip()
        change = {"actor": who, "action": "member.invite.accept", "invitee": invitee.strip(), "username": who}
        try:
            async with self.session.post(self.web_ui_url, json=change) as answer:
                result = await answer.json(content_type=None)
                status = answer.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            return web.json_response({"ok": False, "error": f"the emulator did not answer ({type(error).__name__})"})
        if status != 200:
            detail = result.get("detail") if isinstance(result, dict) else None
            return web.json_response({"ok": False, "status": status, "error": str(detail or f"HTTP {status}")})
        return web.json_response({"ok": True, "status": status, "error": None})

    async def file(self, request: web.Request) -> web.Response:
        stored = next((f for f in self.standin.files if f.id == request.match_info["file_id"]), None)
        if stored is None or stored.content is None:
            raise web.HTTPNotFound()
        return web.Response(
            body=stored.content,
            content_type="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{stored.name}"'},
        )


def _user_json(user: SlackUser) -> dict[str, Any]:
    what = f"Docker Hub {user.hub_role}" if user.hub_role else "no Docker Hub account"
    return {"id": user.id, "name": user.name, "real_name": user.real_name, "email": user.email, "what": what}


def console_state(console: Console, me: SlackUser) -> dict[str, Any]:
    standin = console.standin
    version = standin.version  # read first: a change during the snapshot shows up on the next poll
    channels = [
        {"id": c.id, "name": c.name, "kind": "channel", "messages": standin.messages(c.id)}
        for c in console.channels.values()
    ]
    dm = dm_channel_id(me.id)
    channels.append({"id": dm, "name": "hubkeeper", "kind": "dm", "messages": standin.messages(dm)})
    visible = {c["id"] for c in channels}
    ident = standin.state.identity
    modal = standin.modal_stack(me.id)
    return {
        "version": version,
        "me": _user_json(me),
        "users": [_user_json(u) for u in console.users.values()],
        "bot": {"id": ident.bot_user_id, "name": ident.bot_name},
        "channels": channels,
        "ephemerals": [e for e in standin.ephemerals(me.id) if e["channel"] in visible],
        "files": [
            {"id": f.id, "name": f.name, "title": f.title, "size": len(f.content or b""), "channels": f.channels}
            for f in standin.files
            if f.content is not None and visible.intersection(f.channels)
        ],
        "modal": modal[-1] if modal else None,
        "home": standin.home(me.id),
        "examples": [
            {"label": e.label, "user": e.user, "command": e.command} for e in DEMO_EXAMPLES if e.user in console.users
        ],
        "outside_changes": [{"id": key, "label": change.label} for key, change in OUTSIDE_CHANGES.items()]
        if console.web_ui_url
        else [],
    }


def build_console_app(
    standin: SlackStandIn,
    bot_events_url: str,
    signing_secret: str,
    users: Sequence[SlackUser] = DEMO_SLACK_USERS,
    channels: Sequence[SlackChannel] = DEMO_CHANNELS,
    web_ui_url: str | None = None,
) -> web.Application:
    """`web_ui_url`: the emulator's web-UI endpoint for the org, for the outside-change button."""
    console = Console(standin, bot_events_url, signing_secret, users, channels, web_ui_url)
    app = web.Application()
    app.cleanup_ctx.append(console.session_ctx)
    app.router.add_get("/", console.page)
    app.router.add_static("/static/", STATIC)
    app.router.add_get("/api/state", console.state)
    app.router.add_post("/api/command", console.command)
    app.router.add_post("/api/action", console.action)
    app.router.add_post("/api/view_submission", console.view_submission)
    app.router.add_post("/api/view_close", console.view_close)
    app.router.add_get("/api/file/{file_id}", console.file)
    app.router.add_post("/api/outside_change", console.outside_change)
    app.router.add_post("/api/accept_invite", console.accept_invite)
    return app

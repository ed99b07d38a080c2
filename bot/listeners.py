"""Bolt listeners: ack at once, hand off to the router, deliver its reply. Nothing else lives here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack_io import respond
from bot.wait_notices import wait_notices
from handlers import blocks
from handlers.context import Reply
from handlers.digest import service as digest_service
from handlers.requests import render
from handlers.router import Router

logger = logging.getLogger("hubkeeper.listeners")

SLASH_COMMAND = "/hub"


def register(app: AsyncApp, router: Router, track: Callable[[], AbstractAsyncContextManager[None]]) -> None:
    """`track()` wraps each listener's work after its ack, so shutdown can wait for it."""

    @app.command(SLASH_COMMAND)
    async def hub_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        # Ack before Docker Hub is asked anything: Slack gives up after 3 s.
        await ack()
        async with track():
            text, actor, channel = str(command.get("text") or ""), str(command["user_id"]), command.get("channel_id")
            response_url = str(command["response_url"])

            async def progress(note: str) -> None:
                await respond(response_url, blocks.message(note))

            # If Docker Hub makes the lookup wait, the asker hears why before the answer comes.
            async with wait_notices(response_url):
                reply = await router.command(text, actor, channel, progress)
            await respond(response_url, reply)

    @app.action("policy_apply")
    @app.action("members_page")
    @app.action("repos_page")
    async def members_page(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        async with track():
            reply = await router.action(str(action["action_id"]), str(action.get("value") or ""), body["user"]["id"])
            await respond(str(body["response_url"]), reply)

    @app.action(render.APPROVE)
    @app.action(render.RETRY)
    @app.action(render.UNDO)
    @app.action(digest_service.RESEND)
    @app.action(digest_service.CANCEL)
    @app.action(digest_service.KEEP)
    @app.action(digest_service.REMOVE)
    async def decide(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        async with track():
            reply = await router.decision(str(action["action_id"]), str(action.get("value") or ""), body["user"]["id"])
            await respond(str(body["response_url"]), reply)

    @app.action(render.CANCEL)
    async def cancel_clicked(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        # From App Home, which has no response_url: the refreshed tab shows where the request stands
        # (cancelled, or whatever beat the click to it).
        await ack()
        actor = body["user"]["id"]
        async with track():
            await router.decision(render.CANCEL, str(action.get("value") or ""), actor)
            await client.views_publish(user_id=actor, view=await router.home(actor))

    @app.action(render.DENY)
    async def deny_clicked(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        # The trigger expires 3 s after the click: the modal opens before anything slow happens.
        await client.views_open(trigger_id=body["trigger_id"], view=render.deny_modal(str(action.get("value") or "")))

    @app.view(render.DENY_MODAL)
    async def deny_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        await ack()
        values = view.get("state", {}).get("values", {})
        note = values.get("reason", {}).get("reason", {}).get("value")
        actor = body["user"]["id"]
        async with track():
            reply = await router.decision(render.DENY, str(view.get("private_metadata") or ""), actor, note)
            await router.approvals.messenger.dm(actor, reply)

    @app.event("app_home_opened")
    async def app_home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") == "home":
            async with track():
                await client.views_publish(user_id=event["user"], view=await router.home(event["user"]))

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        # A bug must still answer the person, without leaking internals into Slack.
        logger.exception("unhandled error in a listener", exc_info=error)
        response_url = body.get("response_url") if isinstance(body, dict) else None
        if isinstance(response_url, str):
            await respond(response_url, Reply("Something went wrong inside hubkeeper; it has been logged."))

"""Slack's side of the handlers' Messenger and Directory, and delivery of replies.

Every Slack call goes through clients that honour a 429's Retry-After (slack_sdk's rate-limit
retry handler), so a Slack rate limit delays a reply or an approval message instead of losing it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.settings import SlackConfig
from handlers.context import Reply
from handlers.review import Upload, UploadFailed

logger = logging.getLogger("hubkeeper.slack")

RATE_LIMIT_RETRIES = 5
DIRECTORY_TTL = 300.0
"""User groups and emails change rarely; a few minutes of cache keeps us far from Slack's limits."""


def retry_handlers() -> list[AsyncRetryHandler]:
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
    ]


def web_client(config: SlackConfig) -> AsyncWebClient:
    return AsyncWebClient(
        token=config.bot_token.get_secret_value(),
        base_url=config.api_url,
        retry_handlers=retry_handlers(),
    )


def message_payload(reply: Reply) -> dict[str, Any]:
    return {"text": reply.text, "blocks": reply.blocks}


async def respond(response_url: str, reply: Reply) -> bool:
    """Answer through a command's or a click's response_url; False (logged) if Slack refused."""
    payload: dict[str, Any] = {
        **message_payload(reply),
        "response_type": "ephemeral" if reply.ephemeral else "in_channel",
    }
    if reply.replace_original:
        payload["replace_original"] = True
    client = AsyncWebhookClient(response_url, retry_handlers=retry_handlers())
    response = await client.send_dict(payload)
    if response.status_code != 200:
        # The URL itself is a capability to post as the bot: it is not logged.
        logger.warning("Slack refused a reply: HTTP %s %s", response.status_code, response.body[:200])
        return False
    return True


class SlackMessenger:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def post(self, channel: str, reply: Reply, thread_ts: str | None = None) -> str:
        response = await self._client.chat_postMessage(
            channel=channel, text=reply.text, blocks=reply.blocks, thread_ts=thread_ts
        )
        return str(response["ts"])

    async def upload_in_thread(self, channel: str, thread_ts: str, filename: str, content: bytes, title: str) -> None:
        """A file in a message's thread (the digest's full sections as CSV), over files_upload_v2."""
        await self._client.files_upload_v2(
            channel=channel, thread_ts=thread_ts, content=content, filename=filename, title=title
        )

    async def update(self, channel: str, ts: str, reply: Reply) -> None:
        await self._client.chat_update(channel=channel, ts=ts, **message_payload(reply))

    async def permalink(self, channel: str, ts: str) -> str | None:
        response = await self._client.chat_getPermalink(channel=channel, message_ts=ts)
        link = response.get("permalink")
        return link if isinstance(link, str) else None

    async def dm(self, user_id: str, reply: Reply) -> str:
        opened = await self._client.conversations_open(users=user_id)
        return await self.post(str(opened["channel"]["id"]), reply)


def bot_upload(client: AsyncWebClient) -> Upload:
    """The `upload` that handlers.review.review wants, over slack_sdk's files_upload_v2.

    The DM channel comes from conversations.open: files_upload_v2 shares into a channel ID, and a
    user ID is not one.
    """

    async def upload(user_id: str, filename: str, content: bytes | Path, comment: str) -> None:
        try:
            opened = await client.conversations_open(users=user_id)
            channel = str(opened["channel"]["id"])
            await client.files_upload_v2(
                channel=channel,
                # slack_sdk reads a path itself; a str, since it takes bytes as content, not a Path.
                file=str(content) if isinstance(content, Path) else content,
                filename=filename,
                title=filename,
                initial_comment=comment,
            )
        except SlackApiError as error:
            raise UploadFailed(f"Slack refused the upload ({error.response.get('error', 'unknown error')})") from None

    return upload


class SlackDirectory:
    def __init__(self, client: AsyncWebClient, ttl: float = DIRECTORY_TTL) -> None:
        self._client = client
        self._ttl = ttl
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._emails: dict[str, tuple[float, str | None]] = {}
        self._users_by_email: dict[str, tuple[float, str | None]] = {}

    async def user_group_members(self, group_id: str) -> frozenset[str]:
        cached = self._groups.get(group_id)
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
        response = await self._client.usergroups_users_list(usergroup=group_id)
        members = frozenset(str(user) for user in response.get("users") or [])
        self._groups[group_id] = (time.monotonic() + self._ttl, members)
        return members

    async def user_email(self, user_id: str) -> str | None:
        cached = self._emails.get(user_id)
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
        try:
            response = await self._client.users_info(user=user_id)
        except SlackApiError as error:
            # Someone who is not (or no longer) in the workspace has no email; anything else is a failure.
            if error.response.get("error") != "user_not_found":
                raise
            return None
        profile = (response.get("user") or {}).get("profile") or {}
        email = profile.get("email")
        self._emails[user_id] = (time.monotonic() + self._ttl, email if isinstance(email, str) else None)
        return self._emails[user_id][1]

    async def user_by_email(self, email: str) -> str | None:
        key = email.strip().lower()
        cached = self._users_by_email.get(key)
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
        try:
            response = await self._client.users_lookupByEmail(email=key)
        except SlackApiError as error:
            # Nobody (or only a deactivated account) has it: remembered like a hit, so that a person
            # without Slack does not cost a lookup every time a change is about them.
            if error.response.get("error") != "users_not_found":
                raise
            user_id = None
        else:
            user = response.get("user") or {}
            found = user.get("id")
            user_id = found if isinstance(found, str) and not user.get("deleted") else None
        self._users_by_email[key] = (time.monotonic() + self._ttl, user_id)
        return user_id

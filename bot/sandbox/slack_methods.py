"""The Web API methods the bot uses, as pure functions of the stand-in's state and the call's arguments."""

from __future__ import annotations

import copy
import mimetypes
import time
from collections.abc import Callable
from typing import Any

from .blocks import InvalidBlocks, normalize_blocks
from .directory import dm_channel_id
from .slack_state import SlackApiFault, SlackState, StoredFile, random_id
from .views import views_open, views_publish, views_push, views_update

Args = dict[str, Any]
Result = dict[str, Any]
Method = Callable[[SlackState, Args, str], Result]


def _require_str(args: Args, name: str, error: str = "invalid_arguments") -> str:
    value = args.get(name)
    if not isinstance(value, str) or not value:
        raise SlackApiFault(error, f"{name} is required")
    return value


def message_content(args: Args, *, require: bool = True) -> dict[str, Any]:
    """text / blocks / attachments as Slack stores them; `no_text` when a post would be empty."""
    content: dict[str, Any] = {}
    if isinstance(args.get("text"), str):
        if len(args["text"]) > 40_000:
            raise SlackApiFault("msg_too_long")
        content["text"] = args["text"]
    if args.get("blocks") is not None:
        try:
            content["blocks"] = normalize_blocks(args["blocks"])
        except InvalidBlocks as exc:
            raise SlackApiFault("invalid_blocks", str(exc)) from exc
    if args.get("attachments") is not None:
        if not isinstance(args["attachments"], list):
            raise SlackApiFault("invalid_attachments")
        content["attachments"] = args["attachments"]
    if require and not (content.get("text") or content.get("blocks") or content.get("attachments")):
        raise SlackApiFault("no_text")
    if args.get("thread_ts"):
        content["thread_ts"] = str(args["thread_ts"])
    return content


def auth_test(state: SlackState, args: Args, base_url: str) -> Result:
    ident = state.identity
    return {
        "url": f"https://{ident.team_domain}.slack.com/",
        "team": ident.team,
        "user": ident.bot_name,
        "team_id": ident.team_id,
        "user_id": ident.bot_user_id,
        "bot_id": ident.bot_id,
        "is_enterprise_install": False,
    }


def chat_post_message(state: SlackState, args: Args, base_url: str) -> Result:
    channel_id = state.resolve_channel(args.get("channel"))
    content = message_content(args)
    if "thread_ts" in content and state.find_message(channel_id, content["thread_ts"]) is None:
        raise SlackApiFault("thread_not_found")
    message = state.add_message(channel_id, content)
    return {"channel": channel_id, "ts": message["ts"], "message": message}


def chat_get_permalink(state: SlackState, args: Args, base_url: str) -> Result:
    channel, ts = (
        _require_str(args, "channel", "channel_not_found"),
        _require_str(args, "message_ts", "message_not_found"),
    )
    if state.find_message(channel, ts) is None:
        raise SlackApiFault("message_not_found")
    return {
        "channel": channel,
        "permalink": f"https://{state.identity.team_domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}",
    }


def chat_update(state: SlackState, args: Args, base_url: str) -> Result:
    channel_id = state.resolve_channel(args.get("channel"))
    ts = _require_str(args, "ts", "message_not_found")
    if state.find_ephemeral(ts) is not None:
        raise SlackApiFault("cant_update_message")
    message = state.find_message(channel_id, ts)
    if message is None:
        raise SlackApiFault("message_not_found")
    if message.get("bot_id") != state.identity.bot_id:
        raise SlackApiFault("cant_update_message")
    content = message_content(args)
    # Slack keeps blocks/attachments that chat.update was not sent; an empty array clears them.
    state.replace_content(message, content, keep_missing=True)
    with state.changing():
        message["edited"] = {"user": state.identity.bot_user_id, "ts": state.next_ts()}
        snapshot = copy.deepcopy(message)
    return {"channel": channel_id, "ts": ts, "text": snapshot.get("text", ""), "message": snapshot}


def chat_post_ephemeral(state: SlackState, args: Args, base_url: str) -> Result:
    channel_id = state.resolve_channel(args.get("channel"))
    user = state.user(args.get("user"))
    message = state.add_ephemeral(user.id, channel_id, message_content(args), source="chat.postEphemeral")
    return {"message_ts": message["ts"]}


def users_info(state: SlackState, args: Args, base_url: str) -> Result:
    return {"user": state.user(args.get("user")).to_slack(state.identity.team_id)}


def users_lookup_by_email(state: SlackState, args: Args, base_url: str) -> Result:
    email = args.get("email")
    if isinstance(email, str):
        for user in state.users.values():
            # Deactivated people are not found by email (Slack answers users_not_found for them too).
            if user.email and user.email.lower() == email.lower() and not user.deleted:
                return {"user": user.to_slack(state.identity.team_id)}
    raise SlackApiFault("users_not_found")


def usergroups_users_list(state: SlackState, args: Args, base_url: str) -> Result:
    group = args.get("usergroup")
    if not isinstance(group, str) or group not in state.usergroups:
        raise SlackApiFault("no_such_subteam")
    return {"users": list(state.usergroups[group])}


def conversations_open(state: SlackState, args: Args, base_url: str) -> Result:
    raw = args.get("users")
    users = raw if isinstance(raw, list) else str(raw or "").split(",")
    users = [u.strip() for u in users if u and u.strip()]
    if not users:
        raise SlackApiFault("users_list_not_supplied")
    if len(users) > 1:
        raise SlackApiFault("not_supported", "the sandbox only opens 1:1 IMs")
    user = state.user(users[0])
    channel: dict[str, Any] = {"id": dm_channel_id(user.id)}
    if args.get("return_im") in (True, "true", "1"):
        channel.update(is_im=True, user=user.id, created=int(time.time()))
    return {"channel": channel}


def files_get_upload_url_external(state: SlackState, args: Args, base_url: str) -> Result:
    filename = _require_str(args, "filename")
    try:
        length = int(args.get("length", ""))
    except ValueError as exc:
        raise SlackApiFault("invalid_arguments", "length must be an integer") from exc
    stored = StoredFile(random_id("F", 11), filename, length, state.identity.bot_user_id, int(time.time()))
    with state.changing():
        state.files[stored.id] = stored
    return {"upload_url": f"{base_url}/upload/{stored.id}", "file_id": stored.id}


def file_object(stored: StoredFile, base_url: str) -> dict[str, Any]:
    mimetype = mimetypes.guess_type(stored.name)[0] or "application/octet-stream"
    url = f"{base_url}/files/{stored.id}/{stored.name}"
    return {
        "id": stored.id,
        "created": stored.created,
        "timestamp": stored.created,
        "name": stored.name,
        "title": stored.title or stored.name,
        "mimetype": mimetype,
        "filetype": stored.name.rsplit(".", 1)[-1] if "." in stored.name else "binary",
        "user": stored.user,
        "size": len(stored.content or b""),
        "url_private": url,
        "url_private_download": url,
        "channels": [c for c in stored.channels if not c.startswith("D")],
        "ims": [c for c in stored.channels if c.startswith("D")],
    }


def files_complete_upload_external(state: SlackState, args: Args, base_url: str) -> Result:
    entries = args.get("files")
    if not isinstance(entries, list) or not entries:
        raise SlackApiFault("invalid_arguments", "files must be a non-empty JSON array")
    targets = [state.resolve_channel(args["channel_id"])] if args.get("channel_id") else []
    targets += [state.resolve_channel(c) for c in str(args.get("channels") or "").split(",") if c]
    stored_files: list[StoredFile] = []
    with state.changing():
        for entry in entries:
            stored = state.files.get(entry.get("id", "")) if isinstance(entry, dict) else None
            if stored is None or stored.content is None:
                raise SlackApiFault("file_not_found")
            stored.title = str(entry.get("title") or stored.name)
            stored.channels.extend(t for t in targets if t not in stored.channels)
            stored_files.append(stored)
    objects = [file_object(f, base_url) for f in stored_files]
    for channel_id in targets:
        content: dict[str, Any] = {"text": str(args.get("initial_comment") or ""), "files": objects, "upload": True}
        if args.get("thread_ts"):
            content["thread_ts"] = str(args["thread_ts"])
        state.add_message(channel_id, content)
    return {"files": objects}


METHODS: dict[str, Method] = {
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.getPermalink": chat_get_permalink,
    "chat.postEphemeral": chat_post_ephemeral,
    "users.info": users_info,
    "users.lookupByEmail": users_lookup_by_email,
    "usergroups.users.list": usergroups_users_list,
    "conversations.open": conversations_open,
    "views.open": views_open,
    "views.update": views_update,
    "views.push": views_push,
    "views.publish": views_publish,
    "files.getUploadURLExternal": files_get_upload_url_external,
    "files.completeUploadExternal": files_complete_upload_external,
}

# Slack's read methods take form or query arguments only; a JSON body reaches them as no arguments at all.
FORM_ONLY = frozenset({"users.info", "users.lookupByEmail", "usergroups.users.list"})

"""views.open / push / update / publish: modal stacks per user and one Home tab per user.

trigger_ids are checked the way Slack does (issued by an interaction, usable once, within 3 seconds),
because a bot that opens a modal too late or twice fails in Slack and should fail here too.
"""

from __future__ import annotations

import copy
import secrets
import time
from typing import Any

from .blocks import MAX_VIEW_BLOCKS, InvalidBlocks, normalize_blocks
from .slack_state import SlackApiFault, SlackState, random_id

TRIGGER_LIFETIME_SECONDS = 3.0
MAX_MODAL_STACK = 3


def _take_trigger(state: SlackState, trigger_id: Any) -> str:
    """Use up a trigger_id and return the user it belongs to."""
    with state.lock:
        trigger = state.triggers.get(trigger_id) if isinstance(trigger_id, str) else None
        if trigger is None:
            raise SlackApiFault("invalid_trigger_id")
        if trigger.used:
            raise SlackApiFault("exchanged_trigger_id")
        if time.monotonic() - trigger.created > TRIGGER_LIFETIME_SECONDS:
            raise SlackApiFault("expired_trigger_id")
        trigger.used = True
        return trigger.user_id


def _build_view(state: SlackState, raw: Any, *, kind: str, view_id: str | None = None) -> dict[str, Any]:
    if not isinstance(raw, dict) or raw.get("type") != kind:
        raise SlackApiFault("invalid_arguments", f"view must be an object of type {kind}")
    if kind == "modal" and not isinstance(raw.get("title"), dict):
        raise SlackApiFault("invalid_arguments", "a modal needs a title")
    try:
        blocks = normalize_blocks(raw.get("blocks", []), limit=MAX_VIEW_BLOCKS)
    except InvalidBlocks as exc:
        raise SlackApiFault("invalid_arguments", str(exc)) from exc
    ident = state.identity
    view: dict[str, Any] = {
        "private_metadata": "",
        "callback_id": "",
        "external_id": "",
        "clear_on_close": False,
        "notify_on_close": False,
        **copy.deepcopy(raw),
        "id": view_id or random_id("V", 11),
        "team_id": ident.team_id,
        "blocks": blocks,
        "state": {"values": {}},
        "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
        "app_id": ident.app_id,
        "bot_id": ident.bot_id,
        "app_installed_team_id": ident.team_id,
        "previous_view_id": None,
        "root_view_id": None,
    }
    return view


def _store(state: SlackState, view: dict[str, Any]) -> dict[str, Any]:
    with state.changing():
        state.views[view["id"]] = view
        return {"view": copy.deepcopy(view)}


def views_open(state: SlackState, args: dict[str, Any], base_url: str) -> dict[str, Any]:
    user_id = _take_trigger(state, args.get("trigger_id"))
    view = _build_view(state, args.get("view"), kind="modal")
    view["root_view_id"] = view["id"]
    with state.changing():
        state.modal_stacks[user_id] = [view["id"]]
    return _store(state, view)


def views_push(state: SlackState, args: dict[str, Any], base_url: str) -> dict[str, Any]:
    user_id = _take_trigger(state, args.get("trigger_id"))
    view = _build_view(state, args.get("view"), kind="modal")
    with state.changing():
        stack = state.modal_stacks.get(user_id) or []
        if not stack:
            raise SlackApiFault("not_found", "no modal is open to push onto")
        if len(stack) >= MAX_MODAL_STACK:
            raise SlackApiFault("push_limit_reached")
        view["root_view_id"], view["previous_view_id"] = stack[0], stack[-1]
        stack.append(view["id"])
    return _store(state, view)


def views_update(state: SlackState, args: dict[str, Any], base_url: str) -> dict[str, Any]:
    with state.lock:
        current = state.views.get(args.get("view_id") or "")
        if current is None and args.get("external_id"):
            current = next((v for v in state.views.values() if v.get("external_id") == args["external_id"]), None)
        if current is None:
            raise SlackApiFault("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            raise SlackApiFault("hash_conflict")
        view = _build_view(state, args.get("view"), kind=current["type"], view_id=current["id"])
        view["root_view_id"], view["previous_view_id"] = current["root_view_id"], current["previous_view_id"]
        return _store(state, view)


def views_publish(state: SlackState, args: dict[str, Any], base_url: str) -> dict[str, Any]:
    user = state.user(args.get("user_id"))
    with state.lock:
        existing = state.homes.get(user.id)
        if existing and args.get("hash") and args["hash"] != state.views[existing]["hash"]:
            raise SlackApiFault("hash_conflict")
        view = _build_view(state, args.get("view"), kind="home", view_id=existing)
        state.homes[user.id] = view["id"]
        return _store(state, view)


def apply_submission_ack(state: SlackState, user_id: str, ack: dict[str, Any]) -> dict[str, str] | None:
    """What Slack's client does with a view_submission ack; returns field errors to show, if any."""
    action = ack.get("response_action")
    if action == "errors":
        errors = ack.get("errors")
        return {str(k): str(v) for k, v in errors.items()} if isinstance(errors, dict) else {}
    with state.changing():
        stack = state.modal_stacks.setdefault(user_id, [])
        if action == "clear":
            stack.clear()
        elif action in ("update", "push"):
            view = _build_view(state, ack.get("view"), kind="modal", view_id=stack[-1] if action == "update" else None)
            view["root_view_id"] = stack[0] if stack else view["id"]
            if action == "push" and stack:
                view["previous_view_id"] = stack[-1]
            if action == "push" or not stack:
                stack.append(view["id"])
            state.views[view["id"]] = view
        elif stack:
            stack.pop()  # a plain ack closes the submitted view and shows the one below it
    return None


def close_modal(state: SlackState, user_id: str) -> None:
    with state.changing():
        stack = state.modal_stacks.get(user_id)
        if stack:
            stack.pop()

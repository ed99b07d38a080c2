"""The approval message and what people are told about a request, rendered from the stored request only.

Any replica renders the same message for the same stored state, so a restart or another replica
shows the same thing. The action ids here are the buttons' interface with the Slack listeners.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from handlers.blocks import actions, button, context, escape, header, reply, section
from handlers.context import Block, Reply
from handlers.grammar import DRY_RUN_OPTION
from handlers.requests.lifecycle import SYSTEM, ChangeRequest, NewRequest, Status, UndoRef
from handlers.requests.undo import reverse_of

APPROVE, DENY, RETRY = "approval_approve", "approval_deny", "approval_retry"
CANCEL = "request_cancel"
UNDO = "approval_undo"
CANNOT_UNDO = ":no_entry_sign: This change cannot be undone."
DRY_RUN_NOTE = (
    f":test_tube: *Dry run* ({DRY_RUN_OPTION}): this is the plan the approvers would see. Nothing was requested, "
    f"posted or changed; send the command again without {DRY_RUN_OPTION} to ask for it."
)

_STATUS_WORDS = {
    Status.PENDING: ":hourglass_flowing_sand: Waiting for approval",
    Status.APPROVED: ":white_check_mark: Approved",
    Status.EXECUTING: ":gear: Applying the change…",
    Status.DONE: ":white_check_mark: Done",
    Status.FAILED: ":x: Failed",
    Status.DENIED: ":no_entry: Denied",
    Status.EXPIRED: ":zzz: Expired",
    Status.CANCELLED: ":leftwards_arrow_with_hook: Cancelled",
    Status.INTERRUPTED: ":warning: Interrupted: check and Retry",
}
MAX_DONE_LISTED = 20
"""Steps listed under an interrupted request (the rest are counted)."""


def already_decided(request: ChangeRequest) -> str:
    """What the loser of a race is told: who got there first, and where the request stands now."""
    if request.status in (Status.APPROVED, Status.EXECUTING, Status.DONE, Status.FAILED, Status.INTERRUPTED):
        approvers = ", ".join(f"<@{a}>" for a in request.approvers) or "someone"
        return (
            f"This request was already approved by {approvers} (now {request.status.value}). Nothing more was changed."
        )
    who = f" by <@{request.decided_by}>" if request.decided_by and request.decided_by != SYSTEM else ""
    return f"This request was already {request.status.value}{who}. Nothing more was changed."


def undo_taken(undo: UndoRef) -> str:
    """What an Undo click is told when an undo of that change holds the claim already."""
    request = f"request `{undo.id}`"
    match undo.status:
        case Status.PENDING:
            said = f"An undo of this change is already waiting: {request}."
        case Status.DONE:
            said = f"This change was already undone by {request}."
        case Status.FAILED:
            said = f"An undo of this change failed: {request}; an approver can Retry it there."
        case _:
            said = f"An undo of this change is already being applied: {request}."
    return f"{said} Nothing more was requested."


def undo_line(undo: UndoRef) -> str:
    """The original request's message, once an undo holds it: where the undo stands, instead of the button."""
    where = f" in <#{undo.channel}>" if undo.channel else ""
    if undo.status is Status.DONE:
        return f":leftwards_arrow_with_hook: Undone by request `{undo.id}`{where}"
    return f":leftwards_arrow_with_hook: Undo requested: request `{undo.id}`{where} · {_STATUS_WORDS[undo.status]}"


def render_status_line(request: ChangeRequest) -> str:
    line = _STATUS_WORDS[request.status]
    if request.status in (Status.DONE, Status.APPROVED, Status.EXECUTING) and request.approvers:
        line += " by " + ", ".join(f"<@{approver}>" for approver in request.approvers)
    elif request.status in (Status.DENIED, Status.CANCELLED) and request.decided_by:
        line += f" by <@{request.decided_by}>"
    if request.status is Status.DONE and request.result and request.result.get("summary"):
        line += f": {request.result['summary']}"
    if request.status is Status.FAILED and request.error:
        line += f": {escape(request.error)}"
    if request.status is Status.FAILED and request.result and request.result.get("summary"):
        # A partly applied change says what it did, subject by subject.
        line += f"\n{request.result['summary']}"
    if request.status is Status.INTERRUPTED and request.error:
        line += f"\n{escape(request.error)}"
    if request.status is Status.DENIED and request.decision_note:
        line += f" — “{escape(request.decision_note)}”"
    return line


def steps_done_line(done: list[str]) -> str:
    """What was recorded as done before an interrupted execution stopped (mrkdwn steps, in words)."""
    if not done:
        return "Nothing was recorded as done before it stopped; check Docker Hub, then Retry."
    listed = done[:MAX_DONE_LISTED]
    more = f"; …and {len(done) - len(listed)} more" if len(done) > len(listed) else ""
    return f"Done before it stopped: {'; '.join(listed)}{more}. Retry re-checks and does what is left."


def retry_note(request: ChangeRequest, now: datetime) -> str | None:
    """The Retry window of a failed or interrupted request, in words (None when there is none)."""
    if request.retry_until is None or request.status not in (Status.FAILED, Status.INTERRUPTED):
        return None
    if request.retryable(now):
        return f"Retry possible until {request.retry_until:%Y-%m-%d %H:%M} UTC"
    return (
        f"The Retry window closed at {request.retry_until:%Y-%m-%d %H:%M} UTC: "
        "to make this change, file the request again."
    )


DENY_MODAL = "deny_reason"


def deny_modal(request_id: str) -> dict[str, Any]:
    """Asks an approver why (optional) before denying; the request id rides in private_metadata."""
    return {
        "type": "modal",
        "callback_id": DENY_MODAL,
        "private_metadata": request_id,
        "title": {"type": "plain_text", "text": "Deny request"},
        "submit": {"type": "plain_text", "text": "Deny"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "reason",
                "optional": True,
                "label": {"type": "plain_text", "text": "Why? (the requester sees this)"},
                "element": {"type": "plain_text_input", "action_id": "reason", "multiline": True, "max_length": 500},
            }
        ],
    }


def render_plan(request: ChangeRequest) -> list[Block]:
    """The plan as approvers see it: the top of the approval message, and all of a dry run's reply."""
    blocks = [
        header(f"Change request for {request.instance}"),
        section(f"<@{request.requester}> asks to:\n{request.summary}"),
        section(
            "*Details*",
            fields=[
                f"*Why*\n{escape(request.reason) or '_no reason given_'}",
                f"*Approvals*\n{len(request.approvals)} of {request.approvals_required}"
                + ("".join(f" <@{a}>" for a in request.approvers) if request.approvers else ""),
                f"*Requested*\n{request.created_at:%Y-%m-%d %H:%M} UTC",
                f"*Expires*\n{request.expires_at:%Y-%m-%d %H:%M} UTC",
            ],
        ),
    ]
    if request.destructive:
        blocks.append(
            context(f":warning: *Destructive change* · needs {request.approvals_required} distinct approver(s)")
        )
    return blocks


def render_dry_run(draft: NewRequest, now: datetime) -> Reply:
    """`--dry-run`'s reply: the request as it would be stored, rendered as its approval message's plan."""
    unsaved = ChangeRequest(
        id="dry-run",
        instance=draft.instance,
        kind=draft.kind,
        params=draft.params,
        requester=draft.requester,
        reason=draft.reason,
        summary=draft.summary,
        destructive=draft.destructive,
        approvals_required=draft.approvals_required,
        status=Status.PENDING,
        created_at=now,
        updated_at=now,
        expires_at=draft.expires_at,
    )
    return reply([*render_plan(unsaved), context(DRY_RUN_NOTE)])


def render_approval(request: ChangeRequest, now: datetime | None = None) -> Reply:
    """The approval message, entirely from the stored request (so any replica renders the same).

    `now` decides only whether a failed or interrupted request's Retry window is still open.
    """
    now = now or datetime.now(UTC)
    blocks = render_plan(request)
    blocks.append(section(render_status_line(request)))
    if request.status is Status.PENDING:
        blocks.append(
            actions(
                [
                    button("Approve", APPROVE, request.id, style="primary"),
                    button("Deny", DENY, request.id, style="danger"),
                ],
                block_id=f"decide-{request.id}",
            )
        )
    elif request.retryable(now):
        blocks.append(actions([button("Retry", RETRY, request.id, style="primary")], block_id=f"retry-{request.id}"))
    elif request.status is Status.DONE:
        # Approvers and the requester may click Undo; it files the reverse as a new request. While an
        # undo waits, runs, failed (its Retry finishes it) or is done, the message says so instead.
        if request.undone_by is not None:
            blocks.append(context(undo_line(request.undone_by)))
        elif reverse_of(request) is not None:
            blocks.append(actions([button("Undo", UNDO, request.id)], block_id=f"undo-{request.id}"))
        else:
            blocks.append(context(CANNOT_UNDO))
    note = retry_note(request, now)
    if note is not None:
        blocks.append(context(note))
    blocks.append(context(f"request `{request.id}` · {request.kind}"))
    rendered = reply(blocks)
    rendered.ephemeral = False
    return rendered

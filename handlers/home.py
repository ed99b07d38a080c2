"""The App Home tab: how to use hubkeeper, your requests and time-bound access, and for approvers the
queue waiting for them. Rendered from the store each time the tab opens."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handlers.blocks import button, context, divider, escape, header, section
from handlers.commands import syntaxes
from handlers.onboarding import Onboarding, waiting_line
from handlers.requests.lifecycle import ChangeRequest, Status, TimedGrant
from handlers.requests.render import CANCEL, render_status_line

MAX_LISTED = 10


def _request_line(request: ChangeRequest, *, show_requester: bool = False) -> str:
    who = f"<@{request.requester}> · " if show_requester else ""
    first = request.summary.splitlines()[0] if request.summary else request.kind
    return f"• `{request.id}` {who}{first} ({escape(request.instance)})\n    {render_status_line(request)}"


def _mine(request: ChangeRequest) -> dict[str, Any]:
    block = section(_request_line(request))
    if request.status is Status.PENDING:
        block["accessory"] = button("Cancel", CANCEL, request.id, style="danger")
    return block


def home_view(
    instances: Sequence[str],
    *,
    my_requests: Sequence[ChangeRequest] = (),
    my_grants: Sequence[TimedGrant] = (),
    queue: Sequence[ChangeRequest] | None = None,
    onboardings: Sequence[Onboarding] = (),
) -> dict[str, Any]:
    """`queue` is None for people who are not approvers (they do not see it at all); `onboardings` are
    the ones waiting for their invite to be accepted (an approver's view: all of them; else their own)."""
    usage = "\n".join(f"• `/hub {escape(spec.usage)}`: {spec.description}" for spec in syntaxes())
    connected = ", ".join(f"`{escape(label)}`" for label in instances) or "none configured"
    blocks = [
        header("hubkeeper"),
        section(f"Runs the Docker Hub organization. Instances: {connected}."),
    ]
    if queue is not None:
        blocks += [divider(), section(f"*Waiting for your approval* ({len(queue)})")]
        blocks += [section(_request_line(r, show_requester=True)) for r in queue[:MAX_LISTED]] or [
            context("Nothing is waiting.")
        ]
    blocks += [divider(), section("*Your requests*")]
    blocks += [_mine(r) for r in my_requests[:MAX_LISTED]] or [context("You have asked for nothing yet.")]
    if my_grants:
        lines = [
            f"• *{escape(g.username)}* in team *{escape(g.team)}* ({escape(g.instance)}) until "
            f"{g.expires_at:%Y-%m-%d %H:%M} UTC"
            for g in my_grants[:MAX_LISTED]
        ]
        blocks += [divider(), section("*Your time-bound access*\n" + "\n".join(lines))]
    if onboardings:
        lines = [waiting_line(o) for o in onboardings[:MAX_LISTED]]
        more = f"\n…and {len(onboardings) - MAX_LISTED} more" if len(onboardings) > MAX_LISTED else ""
        title = f"*Onboardings waiting for the invite to be accepted* ({len(onboardings)})"
        blocks += [divider(), section((f"{title}\n" + "\n".join(lines) + more)[:3000])]
    blocks += [divider(), section(usage[:3000])]
    return {"type": "home", "blocks": blocks[:100]}

"""Who may do what: Slack user IDs and user-group IDs named in the settings."""

from __future__ import annotations

from collections.abc import Iterable

from handlers.context import Directory


async def is_allowed(actor: str, allowed: Iterable[str], directory: Directory) -> bool:
    """True when `allowed` is empty (no restriction), names the actor, or names a group they are in."""
    allowed = frozenset(allowed)
    if not allowed or actor in allowed:
        return True
    for group in sorted(slack_id for slack_id in allowed if slack_id.startswith("S")):
        if actor in await directory.user_group_members(group):
            return True
    return False

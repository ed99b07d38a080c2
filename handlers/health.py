"""`/hub health`: the health checks (`handlers.health_checks`) as a Slack reply."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from handlers import blocks
from handlers.context import HandlerContext, Reply
from handlers.grammar import Syntax
from handlers.health_checks import CheckResult, run_health_checks
from handlers.lookup import without_arguments


def render_health(instance: str, results: Sequence[CheckResult]) -> Reply:
    """Each check with pass or fail and why, every one shown: a person should see all problems at once."""
    failed = sum(1 for result in results if not result.ok)
    if failed:
        title = f"{failed} of {len(results)} health checks failed for {instance}"
    else:
        title = f"All {len(results)} health checks passed for {instance}"
    lines = [
        f"{':white_check_mark: *pass*' if r.ok else ':x: *FAIL*'} {blocks.escape(r.name)} — "
        f"{blocks.escape(blocks.clip(r.detail, 500))}"
        for r in results
    ]
    out = blocks.list_blocks([blocks.header(title)], lines, not_shown="{n} more checks not shown")
    return blocks.reply(out)


async def health(ctx: HandlerContext) -> Reply:
    return render_health(ctx.instance, await run_health_checks(ctx.hub))


@dataclass(frozen=True)
class Health:
    pass


HEALTH = without_arguments(
    Syntax("health", "health", "Check the token, reading one member and reading one team", ("/hub health",)),
    Health,
    health,
)

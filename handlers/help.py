"""`/hub help` and the reply to a command that does not parse, both from the command registries."""

from __future__ import annotations

from collections.abc import Sequence

from handlers import blocks as bk
from handlers import commands
from handlers.context import Block, Reply
from handlers.grammar import DRY_RUN_OPTION, ORG_OPTION, REASON_OPTION, Syntax, UsageError
from handlers.requests import kinds

CHANGE_OPTIONS = (
    f"Every change command takes `{REASON_OPTION} <text…>` (the rest of the line) and `{DRY_RUN_OPTION}`: "
    "see the plan the approvers would see, without asking for it. A done change that can be undone gets an "
    "*Undo* button on its approval message."
)

MAX_ERROR_MESSAGE = 200
"""Usage errors repeat what was typed (an unknown option, say); that much is plenty."""


def _command_line(spec: Syntax) -> str:
    return f"`/hub {bk.escape(spec.usage)}`\n{bk.escape(spec.description)} · e.g. `{bk.escape(spec.example)}`"


def _org_note(instances: Sequence[str]) -> str | None:
    """Only worth saying when there is a choice to make."""
    if len(instances) <= 1:
        return None
    labels = bk.join_limited([bk.code(label, 40) for label in instances], 1500)
    return f"Add `{bk.escape(ORG_OPTION)}` to any command to pick the Docker Hub org: {labels}"


def _spec_blocks(spec: Syntax) -> list[Block]:
    out = [
        bk.header(f"/hub {spec.name}"),
        bk.section(
            f"*Usage:* `/hub {bk.escape(spec.usage)}`\n{bk.escape(spec.description)}\n"
            f"*Example:* `{bk.escape(spec.example)}`"
        ),
    ]
    if kinds.by_command(spec.name) is not None:
        out.append(bk.context(bk.escape(CHANGE_OPTIONS)))
    return out


def help_reply(topic: str | None, instances: Sequence[str]) -> Reply:
    """Every command (no topic), or one command's usage; an unknown topic gets a suggestion."""
    note = _org_note(instances)
    spec = commands.spec(topic.lower()) if topic else None
    out: list[Block]
    if spec is not None:
        out = _spec_blocks(spec)
    else:
        out = [bk.header("hubkeeper: the /hub commands")]
        if topic:
            suggestion = commands.suggest(topic)
            hint = f" Did you mean `{suggestion}`?" if suggestion else ""
            out.append(bk.section(f"There is no command {bk.code(topic, 40)}.{hint} These are the commands:"))
        # One section holds 3,000 characters: the list is packed into as many as it needs, never cut.
        tail = [bk.context("`/hub help &lt;command&gt;` explains one command."), bk.context(bk.escape(CHANGE_OPTIONS))]
        if note:
            tail.append(bk.context(note))
        lines = [_command_line(s) + "\n" for s in commands.syntaxes()]
        return bk.reply(bk.list_blocks(out, lines, tail, not_shown="{n} more commands: `/hub help <command>`"))
    if note:
        out.append(bk.context(note))
    return bk.reply(out)


def usage_reply(error: UsageError) -> Reply:
    """What did not fit, what to type instead, and always where to find the rest."""
    message = bk.escape(bk.clip(error.message, MAX_ERROR_MESSAGE))
    out: list[Block] = [bk.section(f":thinking_face: That did not work: {message}.")]
    if error.spec is not None:
        spec = error.spec
        out.append(bk.section(f"*Usage:* `/hub {bk.escape(spec.usage)}`\n*Example:* `{bk.escape(spec.example)}`"))
    elif error.suggestion:
        out.append(bk.section(f"Did you mean `/hub {bk.escape(error.suggestion)}`?"))
    pointer = f"`/hub help {error.spec.name}`" if error.spec is not None else "`/hub help`"
    out.append(bk.context(f"{pointer} shows what each command takes."))
    return bk.reply(out)


def usage_hint() -> str:
    """The slash command's usage hint in the Slack app manifest (manifest.yml): every command's words."""
    return " | ".join(spec.name for spec in commands.syntaxes())


def command_table() -> list[str]:
    """README.md's table of the `/hub` commands, one Markdown row each."""
    rows = ["| command | what it does |", "| --- | --- |"]
    # A `|` inside a table cell ends the cell unless escaped, code span or not.
    rows += [f"| `/hub {_cell(spec.usage)}` | {_cell(spec.description)} |" for spec in commands.syntaxes()]
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|")

"""A click group whose commands are imported only when one of them runs.

Click's documented lazy-loading pattern (a Group that imports a subcommand in `get_command`), plus a
short help declared with each command, so that `hubkeeper --help` lists the commands without
importing any of them (click's own listing would call `get_command` for every one).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import click


@dataclass(frozen=True)
class LazyCommand:
    import_path: str
    """`package.module:attribute` of the click command."""
    short_help: str
    """What `--help` lists; a test keeps it equal to the command's own short help."""


class LazyGroup(click.Group):
    def __init__(self, *args: Any, lazy_commands: Mapping[str, LazyCommand], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            self.add_command(self._load(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def _load(self, cmd_name: str) -> click.Command:
        module_name, _, attribute = self.lazy_commands[cmd_name].import_path.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy_commands[cmd_name].import_path} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click lists commands, but from the declared short help: nothing is imported."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, self._listed(ctx, name).get_short_help_str(limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def _listed(self, ctx: click.Context, name: str) -> click.Command:
        if name in self.commands or name not in self.lazy_commands:
            command = super().get_command(ctx, name)
            assert command is not None
            return command
        # A stand-in that only carries the help text, so that click shortens it as it would the command's.
        return click.Command(name, help=self.lazy_commands[name].short_help)

"""What the commands print: one-line errors, and text from Docker Hub made safe for a terminal."""

from __future__ import annotations

import io
import re
import sys
from typing import NoReturn, TextIO

import click

EXIT_CONFIG = 2

# Control characters (C0, DEL, C1): Docker Hub returns names and descriptions as their owners typed
# them, and a terminal obeys an escape sequence, a backspace or a lone carriage return in them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)")
_CONTROL_OR_LINE_END = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str, *, multiline: bool = True) -> str:
    """`text` without control characters. Tabs stay, and line ends stay when `multiline` (a line break
    inside one line of output would let a name pass for a line of its own)."""
    return (_CONTROL if multiline else _CONTROL_OR_LINE_END).sub("", text)


def echo(text: str, *, err: bool = False) -> None:
    """click.echo of text that holds anything Docker Hub sent."""
    click.echo(printable(text), err=err)


class PrintableText(io.TextIOBase):
    """A text stream that writes through `printable`, for output built row by row (a CSV)."""

    def __init__(self, out: TextIO) -> None:
        super().__init__()
        self._out = out

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._out.write(printable(text))
        return len(text)

    def flush(self) -> None:
        self._out.flush()


def fail_config(error: Exception) -> NoReturn:
    """A configuration problem: one line on stderr, exit 2."""
    click.echo(f"hubkeeper: {error}", err=True)
    sys.exit(EXIT_CONFIG)

"""A lookup command (`/hub whois`, `/hub teams`…): its syntax, its parser and its handler, declared together.

Each lookup is one `Lookup` in the module of its handler and one line in `handlers/lookups.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from handlers.context import HandlerContext, Reply
from handlers.grammar import Syntax, no_arguments

Q = TypeVar("Q")


@dataclass(frozen=True)
class Lookup(Generic[Q]):
    syntax: Syntax
    query: type[Q]
    """What `parse` returns: a frozen dataclass of the lookup's checked arguments."""
    parse: Callable[[Syntax, list[str]], Q]
    """The words after the command's own (`--org` taken out) → the query; UsageError or InvalidInput."""
    run: Callable[[HandlerContext, Q], Awaitable[Reply]] | None
    """The handler; None for `help`, which the router answers for anyone, with no instance and no Docker Hub."""
    scan: Callable[[Q], bool] | None = None
    """Whether a query pages through the whole org (`handlers.scans`: one at a time per instance, with a
    cooldown per person); None: never."""
    scan_cooldown: bool = True
    """Whether a scan of this lookup starts the asker's cooldown (whois by email takes its turn with
    the scans but has none: it usually ends on the first page, and people look several people up in a row)."""

    def scans(self, query: Q) -> bool:
        return self.scan is not None and self.scan(query)

    def answers(self, query: object) -> bool:
        return isinstance(query, self.query)


AnyLookup = Lookup[Any]


def always(_: object) -> bool:
    return True


def without_arguments(
    syntax: Syntax, query: type[Q], answer: Callable[[HandlerContext], Awaitable[Reply]], *, scan: bool = False
) -> Lookup[Q]:
    """A lookup typed as its words alone (`/hub teams`): anything more is a usage error."""

    def parse(spec: Syntax, args: list[str]) -> Q:
        no_arguments(spec, args)
        return query()

    async def run(ctx: HandlerContext, _: Q) -> Reply:
        return await answer(ctx)

    return Lookup(syntax, query, parse, run, always if scan else None)

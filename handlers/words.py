"""How counts are said in messages ("1 member", "2,000 members").

Its own module, importing nothing, so that a module such as `handlers.durations` (which settings
read at start-up) can say "2 hours" without loading the Block Kit builders.
"""

from __future__ import annotations


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"

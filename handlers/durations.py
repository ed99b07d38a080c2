"""Durations as people type them (`30m`, `8h`, `7d`) and as messages say them ("2 hours").

One parser for every place that reads one: `/hub request … for 2h`, a stored request's duration and
settings such as HUBKEEPER_REQUEST_TTL. Each caller keeps its own range and its own error message.
"""

from __future__ import annotations

import re

from handlers.words import plural

_UNITS = (("d", 86400, "day"), ("h", 3600, "hour"), ("m", 60, "minute"), ("s", 1, "second"))
_SECONDS = {unit: size for unit, size, _ in _UNITS}
_DURATION = re.compile(r"(\d{1,9})\s*([smhd]?)")


class NotADuration(ValueError):
    """The text is not a number of minutes, hours or days (or seconds where allowed)."""


def parse_seconds(text: str, *, units: str = "mhd", bare: bool = False) -> int:
    """`30m`, `2h`, `7d` → seconds. `units` says which units count; `bare` allows a plain number of seconds.

    The range (zero included) is the caller's to check.
    """
    found = _DURATION.fullmatch(text.strip().lower())
    if found is None:
        raise NotADuration(text)
    number, unit = int(found.group(1)), found.group(2)
    if (unit and unit not in units) or (not unit and not bare):
        raise NotADuration(text)
    return number * (_SECONDS[unit] if unit else 1)


def human(seconds: int) -> str:
    """The largest unit that divides evenly: 5400 → "90 minutes", 7200 → "2 hours"."""
    for _, size, noun in _UNITS:
        if seconds % size == 0:
            return plural(seconds // size, noun)
    return plural(seconds, "second")

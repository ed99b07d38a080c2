"""Undo: the change that takes a done one back, computed from what the done one recorded.

Each kind declares its own reverse (`ChangeKind.reverse`); this module only reads the registry, so the
approval message (rendered from the stored request alone) and the Undo click agree on what the
reverse is, on any replica.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handlers.requests import kinds
from handlers.requests.kind import ChangeKind, ChangeRefused, Params
from handlers.requests.lifecycle import ChangeRequest, Status


@dataclass(frozen=True)
class Reverse:
    kind: ChangeKind[Any]
    params: Params


def undoes_line(request_id: str) -> str:
    """The line an undo request's summary starts its details with: it names the request it undoes."""
    return f":leftwards_arrow_with_hook: Undoes request `{request_id}`"


def reverse_of(request: ChangeRequest) -> Reverse | None:
    """The reverse of a done request, checked by its kind's `load`; None when there is none."""
    if request.status is not Status.DONE:
        return None
    kind = kinds.by_name(request.kind)
    if kind is None:
        return None
    try:
        reversed_ = kind.reverse(kind.load(request.params), request.result or {})
    except (ChangeRefused, KeyError, TypeError, ValueError):
        # An outcome recorded before its kind recorded what the reverse needs: not undoable.
        return None
    if reversed_ is None:
        return None
    name, raw = reversed_
    target = kinds.by_name(name)
    if target is None:
        return None
    try:
        return Reverse(target, target.load(raw))
    except ChangeRefused:
        return None

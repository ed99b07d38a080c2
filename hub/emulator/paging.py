"""Page parameters and the `{count, next, previous, results}` envelope, with Docker Hub's link quirks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from .errors import HubError, bad_request, not_found

T = TypeVar("T")

MAX_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class PageRequest:
    page: int
    page_size: int
    # "http://host/path": Docker Hub has handed out http:// `next` links, even behind https.
    link_base: str


def _int_param(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise bad_request(f"{name} must be an integer") from None


def parse_page(query: Mapping[str, str], host: str, path: str, default_size: int = 25) -> PageRequest:
    page = _int_param(query, "page", 1)
    size = _int_param(query, "page_size", default_size)
    if page < 1:
        raise bad_request("page must be 1 or greater")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise bad_request(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    return PageRequest(page, size, f"http://{host}{path}")


def paginate(
    items: Sequence[T],
    req: PageRequest,
    render: Callable[[T], dict[str, Any]],
    past_end: HubError | None = None,
) -> dict[str, Any]:
    count = len(items)
    start = (req.page - 1) * req.page_size
    chunk = items[start : start + req.page_size]
    if req.page > 1 and not chunk:
        raise past_end or not_found("Invalid page.")
    # Only `page=N` survives into the links: page_size and filters are dropped, as on Docker Hub.
    return {
        "count": count,
        "next": f"{req.link_base}?page={req.page + 1}" if start + req.page_size < count else None,
        "previous": f"{req.link_base}?page={req.page - 1}" if req.page > 1 else None,
        "results": [render(item) for item in chunk],
    }

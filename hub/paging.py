"""Reading every page of a Docker Hub listing, fast and in order.

`next` is not trusted (it has come back as `http://` and without `page_size`), so page URLs are
built here: same path and parameters, `page` counted up. The first page's `count` tells how many
pages there are; the rest are fetched concurrently, a bounded number at a time, and yielded in
order, so memory holds at most that many pages whatever the size of the org.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Generic, TypeVar

from hub.errors import NotFound

T = TypeVar("T")

PAGE_SIZE = 100
"""The largest page Docker Hub serves."""

DEFAULT_CONCURRENCY = 8


@dataclass
class PageResult(Generic[T]):
    items: list[T]
    count: int | None = None
    has_next: bool = False
    paginated: bool = True
    """False when Docker Hub answered with a bare array: that is the whole listing."""


FetchPage = Callable[[int, int], Awaitable[PageResult[T]]]
"""fetch(page, page_size) → one page."""


def pages_needed(count: int, page_size: int) -> int:
    return max(1, math.ceil(count / page_size))


async def iter_pages(
    fetch: FetchPage[T],
    *,
    page_size: int = PAGE_SIZE,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> AsyncGenerator[list[T], None]:
    """Yield each page's items in order."""
    first = await fetch(1, page_size)
    yield first.items
    if not first.paginated or _is_last(first, page_size):
        return
    # Each inner generator is closed as soon as this one stops, early or not, so the page requests
    # still in flight are cancelled then, not whenever the garbage collector finds them.
    if first.count is None:
        async with aclosing(_sequential(fetch, 2, page_size)) as rest:
            async for items in rest:
                yield items
        return
    last_page = pages_needed(first.count, page_size)
    last: PageResult[T] | None = None
    async with aclosing(_concurrent(fetch, range(2, last_page + 1), page_size, concurrency)) as pages:
        async for page in pages:
            if page is None:
                return  # The listing shrank while we read it; what was there has been yielded.
            last = page
            yield page.items
    # It grew while we read it: carry on one page at a time until Docker Hub says it is done.
    if last is not None and not _is_last(last, page_size):
        async with aclosing(_sequential(fetch, last_page + 1, page_size)) as more:
            async for items in more:
                yield items


async def iter_items(
    fetch: FetchPage[T],
    *,
    page_size: int = PAGE_SIZE,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> AsyncGenerator[T, None]:
    """Every item, page after page. A caller that may stop early should close it (`contextlib.aclosing`)."""
    async with aclosing(iter_pages(fetch, page_size=page_size, concurrency=concurrency)) as pages:
        async for items in pages:
            for item in items:
                yield item


async def fetch_all(
    fetch: FetchPage[T],
    *,
    page_size: int = PAGE_SIZE,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> list[T]:
    return [item async for item in iter_items(fetch, page_size=page_size, concurrency=concurrency)]


def _is_last(page: PageResult[T], page_size: int) -> bool:
    return not page.has_next or len(page.items) < page_size


async def _sequential(fetch: FetchPage[T], start: int, page_size: int) -> AsyncGenerator[list[T], None]:
    number = start
    while True:
        page = await _fetch_or_end(fetch, number, page_size)
        if page is None:
            return
        yield page.items
        if _is_last(page, page_size):
            return
        number += 1


async def _fetch_or_end(fetch: FetchPage[T], number: int, page_size: int) -> PageResult[T] | None:
    """A page, or None when Docker Hub says there is no such page (404 past the end)."""
    try:
        return await fetch(number, page_size)
    except NotFound:
        return None


async def _concurrent(
    fetch: FetchPage[T], numbers: range, page_size: int, concurrency: int
) -> AsyncGenerator[PageResult[T] | None, None]:
    """A sliding window of `concurrency` requests, results handed back in page order."""
    pending: list[asyncio.Task[PageResult[T] | None]] = []
    upcoming = iter(numbers)
    try:
        for number in upcoming:
            pending.append(asyncio.ensure_future(_fetch_or_end(fetch, number, page_size)))
            if len(pending) >= concurrency:
                break
        while pending:
            page = await pending.pop(0)
            next_number = next(upcoming, None)
            if next_number is not None:
                pending.append(asyncio.ensure_future(_fetch_or_end(fetch, next_number, page_size)))
            yield page
            if page is None:
                return
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

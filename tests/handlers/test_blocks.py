"""The builders' own rules: escaping, cutting, budgets, and errors told to a person."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from handlers import blocks as bk
from handlers.context import HandlerContext
from handlers.teams import teams
from hub.emulator import EmulatorState
from hub.errors import (
    AuthenticationFailed,
    HubError,
    HubUnavailable,
    InvalidInput,
    NotAnOrgMember,
    NotFound,
    PermissionDenied,
    RateLimited,
    UnexpectedResponse,
)
from tests.handlers.slack_limits import assert_valid_message


def test_escape_and_unescape() -> None:
    hostile = "<!channel> <http://x|y> & co &amp;"
    assert bk.escape(hostile) == "&lt;!channel&gt; &lt;http://x|y&gt; &amp; co &amp;amp;"
    assert bk.unescape(bk.escape(hostile)) == hostile


def test_clip_never_leaves_half_an_entity() -> None:
    assert bk.clip("abcdef", 6) == "abcdef"
    assert bk.clip("abcdefg", 6) == "abcde…"
    assert bk.clip("abc &amp; def", 8) == "abc …"
    assert bk.clip("abc &amp; def", 10) == "abc &amp;…"


def test_echo_cuts_then_escapes() -> None:
    echoed = bk.echo("<" * 300)
    assert echoed == "&lt;" * 99 + "…"
    assert bk.code("a`b") == "`a'b`"


def test_join_limited_says_how_many_more() -> None:
    items = [f"item{index}" for index in range(100)]
    joined = bk.join_limited(items, 60)
    assert len(joined) <= 60 and joined.endswith("more")
    shown = joined.split(", ")[:-1]
    assert len(shown) + int(joined.rsplit("and ", 1)[1].split()[0]) == 100
    assert bk.join_limited(["a", "b"], 60) == "a, b"


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(seconds=5), "just now"),
        (timedelta(minutes=5), "5 minutes"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(days=3, hours=2), "3 days"),
        (timedelta(days=40), "1 month"),
        (timedelta(days=800), "2 years"),
    ],
)
def test_age(delta: timedelta, expected: str) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert bk.age(now - delta, now) == expected
    assert bk.age(None, now) == "unknown"


def test_list_blocks_packs_and_counts_what_does_not_fit() -> None:
    lines = [f"• line {index} " + "x" * 80 for index in range(1000)]
    out = bk.list_blocks([bk.header("Big")], lines, not_shown="{n} more lines not shown")
    text = "\n".join(bk._texts(out))
    shown = sum(1 for line in text.splitlines() if line.startswith("• "))
    missing = int(out[-1]["elements"][0]["text"].split()[1].replace(",", ""))
    assert shown + missing == 1000 and len(out) <= bk.MAX_BLOCKS
    assert bk.text_length(out) <= bk.MAX_TOTAL_TEXT


def test_finish_drops_from_the_end_and_says_so() -> None:
    many = [bk.section("x" * 2900) for _ in range(60)]
    out = bk.finish(many)
    assert len(out) <= bk.MAX_BLOCKS and bk.text_length(out) <= bk.MAX_TOTAL_TEXT
    assert "parts not shown" in out[-1]["elements"][0]["text"]
    assert bk.finish(many[:2]) == many[:2]


def test_button_refuses_a_value_it_would_have_to_cut() -> None:
    with pytest.raises(ValueError, match="2000"):
        bk.button("Next", "members_page", "v" * 2001)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (NotFound("team 'ghosts' not found in 'acme'"), ["Not found", "team 'ghosts' not found in 'acme'"]),
        (NotAnOrgMember("ghost", "acme"), ["Not a member", "invite them first"]),
        (RateLimited(30), ["rate limiting", "retry in 30 s", "Try again in about 30 s"]),
        (RateLimited(None), ["rate limiting", "Try again in a minute"]),
        (HubUnavailable("Docker Hub is unavailable (HTTP 503); try again later"), ["unavailable", "HTTP 503"]),
        (AuthenticationFailed("Docker Hub refused the token: unauthorized"), ["refused", "/hub health"]),
        (PermissionDenied("permission denied by Docker Hub: forbidden"), ["Permission denied", "scope"]),
        (InvalidInput("username", "<!channel>", "letters and digits"), ["not valid", "&lt;!channel&gt;"]),
        (UnexpectedResponse("Docker Hub answered with an HTML page"), ["unexpected answer", "HTML page"]),
        (HubError("something odd"), ["failed", "something odd"]),
    ],
)
def test_error_reply_says_what_happened(error: HubError, expected: list[str]) -> None:
    reply = bk.error_reply(error)
    assert_valid_message(reply)
    for part in expected:
        assert part in reply.text or part in str(reply.blocks), part
    assert "Traceback" not in reply.text


def test_error_reply_cuts_a_long_message() -> None:
    reply = bk.error_reply(NotFound("<x>" * 5000))
    assert_valid_message(reply)
    assert len(bk.unescape(reply.text)) < 600


async def test_handlers_let_hub_errors_through_for_error_reply(
    ctx: HandlerContext, emulator_state: EmulatorState
) -> None:
    emulator_state.fail_next(20, 503)
    with pytest.raises(HubUnavailable) as caught:
        await teams(ctx)
    reply = bk.error_reply(caught.value)
    assert_valid_message(reply)
    assert "Docker Hub is unavailable" in reply.text


def test_terminal_text_unescapes() -> None:
    reply = bk.message(bk.escape("a <b> & c"))
    assert bk.terminal_text(reply) == "a <b> & c"

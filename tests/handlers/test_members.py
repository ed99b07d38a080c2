"""`/hub whois` and `/hub members` against the emulator's demo orgs."""

from __future__ import annotations

import asyncio
import json

import pytest

from handlers.context import HandlerContext
from handlers.members import PAGE_ACTION, members, members_page_clicked, parse_page_value, render_whois, whois
from hub.client import HubClient
from hub.emulator import EmulatorState
from hub.errors import HubError, HubUnavailable, InvalidInput
from tests.handlers.slack_limits import all_text, assert_valid_message, buttons


def member_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("• ")]


# -- whois ----------------------------------------------------------------------------------------


async def test_whois_member_with_insights(ctx: HandlerContext) -> None:
    reply = await whois(ctx, "carolsmith")
    assert_valid_message(reply)
    text = all_text(reply)
    assert "*carolsmith* — Carol Smith is a member of *acme*" in text
    assert "*Role*\nOwner" in text
    assert "`security`" in text
    assert "*Guest*\nno" in text
    assert "carolsmith@acme.example" in text
    assert "*Last seen*\n" in text and "15 days ago" in text  # seeded 15 days (and some minutes) ago
    assert "Insights" not in text and "never" not in text


async def test_whois_by_email_and_guest(ctx: HandlerContext) -> None:
    reply = await whois(ctx, "KAI@andersen-consulting.example")
    assert_valid_message(reply)
    assert "*contractorkai* — Kai Andersen" in reply.text
    assert "*Guest*\nyes" in reply.text


async def test_whois_member_who_never_logged_in(ctx: HandlerContext) -> None:
    reply = await whois(ctx, "samuelosei")
    assert_valid_message(reply)
    assert "*Last login*\nnever" in reply.text and "*Last seen*\nnever" in reply.text


async def test_whois_without_insights_says_unknown_not_never(globex_ctx: HandlerContext) -> None:
    reply = await whois(globex_ctx, "gretaberg")
    assert_valid_message(reply)
    assert "*Last login*\nunknown (Insights not enabled)" in reply.text
    assert "*Last seen*\nunknown (Insights not enabled)" in reply.text
    assert "never" not in reply.text


async def test_whois_invitee_by_email(ctx: HandlerContext) -> None:
    reply = await whois(ctx, "NewHire@acme.example")
    assert_valid_message(reply)
    text = all_text(reply)
    assert "`NewHire@acme.example` is not a member of *acme* yet, but has a pending invite" in text
    assert "invited by `alicechen`" in text and "1 day ago" in text and "team `backend`" in text


async def test_whois_invitee_by_username(ctx: HandlerContext) -> None:
    reply = await whois(ctx, "ravisharma")
    assert_valid_message(reply)
    assert (
        "invited by `bobokafor`" in reply.text and ", no team, as member" in reply.text and "10 days ago" in reply.text
    )


async def test_whois_member_with_a_pending_invite(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    emulator_state.add_invite("acme", "IvanPetrov@ACME.example", inviter="carolsmith", team="data")
    reply = await whois(ctx, "ivanpetrov")
    assert_valid_message(reply)
    assert "is a member of *acme*" in reply.text
    assert "Also a pending invite for `IvanPetrov@ACME.example`" in reply.text
    assert "invited by `carolsmith`" in reply.text and "team `data`" in reply.text


async def test_whois_nobody(ctx: HandlerContext) -> None:
    reply = await whois(ctx, "nobody@acme.example")
    assert_valid_message(reply)
    assert "No member of *acme* and no pending invite matches `nobody@acme.example`" in reply.text


async def test_whois_refuses_what_is_not_a_username(ctx: HandlerContext) -> None:
    with pytest.raises(InvalidInput):  # the router turns this into error_reply
        await whois(ctx, "<!channel>")


async def test_whois_still_shows_the_member_when_invites_cannot_be_read(hub: HubClient) -> None:
    # The emulator's faults hit whichever request comes next, so this one feeds the renderer directly.
    member = await hub.get_member("kenjisato")
    error = HubUnavailable("Docker Hub is unavailable (HTTP 503); try again later")
    reply = render_whois("kenjisato", "acme", member, error)
    assert_valid_message(reply)
    assert "*kenjisato* — Kenji Sato is a member" in reply.text
    assert "Pending invites could not be read: Docker Hub is unavailable (HTTP 503)" in reply.text


async def test_whois_leaves_no_read_running_when_the_member_cannot_be_read(
    ctx: HandlerContext, emulator_state: EmulatorState
) -> None:
    # The invites read outlived a failed whois: still in flight after the error reply, on a client
    # the caller may be closing (its socket then reported as unclosed in some later test).
    emulator_state.delay_next(1, 5.0, method="GET", path="/v2/orgs/acme/invites")
    emulator_state.fail_next(1, 403, method="GET", path="/v2/orgs/acme/members")
    with pytest.raises(HubError):
        await whois(ctx, "kenjisato")
    running = [task for task in asyncio.all_tasks() if task is not asyncio.current_task() and not task.done()]
    assert running == []


# -- members --------------------------------------------------------------------------------------


async def test_members_first_page(ctx: HandlerContext) -> None:
    reply = await members(ctx)
    assert_valid_message(reply)
    assert "Showing 1–20 of 40" in reply.text
    lines = member_lines(all_text(reply))
    assert len(lines) == 20
    assert "• *aaronwright* — Aaron Wright · Member · aaronwright@acme.example" in lines
    assert set(buttons(reply)) == {"Next page"}
    assert not reply.replace_original


async def test_members_pages_round_trip_through_the_buttons(ctx: HandlerContext) -> None:
    first = await members(ctx)
    next_value = buttons(first)["Next page"]["value"]
    assert buttons(first)["Next page"]["action_id"] == PAGE_ACTION
    assert json.loads(next_value) == {"i": "acme", "s": None, "r": None, "p": 2}
    second = await members_page_clicked(ctx, next_value)
    assert_valid_message(second)
    assert second.replace_original
    assert "Showing 21–40 of 40" in second.text
    assert len(member_lines(all_text(second))) == 20
    assert set(buttons(second)) == {"Previous"}  # the last page has no Next
    usernames_1 = {line.split("*")[1] for line in member_lines(all_text(first))}
    usernames_2 = {line.split("*")[1] for line in member_lines(all_text(second))}
    assert not usernames_1 & usernames_2 and len(usernames_1 | usernames_2) == 40
    back = await members_page_clicked(ctx, buttons(second)["Previous"]["value"])
    assert back.blocks[1:] == first.blocks[1:] and back.replace_original


async def test_members_three_pages(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    for index in range(5):
        emulator_state.add_member("acme", f"zzextra{index}", full_name=f"Extra {index}")
    second = await members_page_clicked(ctx, json.dumps({"i": "acme", "s": None, "r": None, "p": 2}))
    assert "Showing 21–40 of 45" in second.text and set(buttons(second)) == {"Previous", "Next page"}
    third = await members_page_clicked(ctx, buttons(second)["Next page"]["value"])
    assert "Showing 41–45 of 45" in third.text and set(buttons(third)) == {"Previous"}
    assert len(member_lines(all_text(third))) == 5


async def test_members_filters(ctx: HandlerContext) -> None:
    owners = await members(ctx, role="owner")
    assert_valid_message(owners)
    assert "Showing 1–3 of 3 with role owner" in owners.text and not buttons(owners)
    guests = await members(ctx, search="contractor")
    assert "Showing 1–2 of 2 matching `contractor`" in guests.text
    assert all("_guest_" in line for line in member_lines(all_text(guests)))
    nobody = await members(ctx, search="nobody-at-all")
    assert_valid_message(nobody)
    assert "No members matching `nobody-at-all`" in nobody.text


async def test_members_filters_survive_paging(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    for index in range(25):
        emulator_state.add_member("acme", f"bulkowner{index:02d}", role="owner")
    first = await members(ctx, role="OWNER", search="bulk")
    value = json.loads(buttons(first)["Next page"]["value"])
    assert value == {"i": "acme", "s": "bulk", "r": "owner", "p": 2}
    second = await members_page_clicked(ctx, buttons(first)["Next page"]["value"])
    assert "Showing 21–25 of 25 matching `bulk` and with role owner" in second.text


async def test_members_hostile_search_and_names_are_escaped(ctx: HandlerContext, emulator_state: EmulatorState) -> None:
    emulator_state.add_member("acme", "mallory", full_name="<!here> <http://evil|click> & co")
    reply = await members(ctx, search="<!here>")
    assert_valid_message(reply)
    assert "matching `&lt;!here&gt;`" in reply.text
    assert "— &lt;!here&gt; &lt;http://evil|click&gt; &amp; co" in reply.text
    hostile = await members(ctx, search="<!channel> & <http://x|y>")
    assert_valid_message(hostile)
    assert "matching `&lt;!channel&gt; &amp; &lt;http://x|y&gt;`" in hostile.text


async def test_members_echo_is_cut(ctx: HandlerContext) -> None:
    reply = await members(ctx, search="q" * 100)
    assert_valid_message(reply)
    assert f"`{'q' * 100}`" in reply.text  # the longest search the grammar takes is echoed whole
    too_long = await members(ctx, search="q" * 101)
    assert "longer than 100 characters" in too_long.text


async def test_members_page_past_the_end(ctx: HandlerContext) -> None:
    reply = await members_page_clicked(ctx, json.dumps({"i": "acme", "s": None, "r": None, "p": 9}))
    assert_valid_message(reply)
    assert "Page 9 is past the end" in reply.text
    assert set(buttons(reply)) == {"Previous"}


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "expected fields"),
        ('{"i": "acme", "s": null, "r": null}', "expected fields"),
        ('{"i": "acme", "s": null, "r": null, "p": 2, "x": 1}', "expected fields"),
        ('{"i": "acme", "s": null, "r": null, "p": "2"}', "page number"),
        ('{"i": "acme", "s": null, "r": null, "p": true}', "page number"),
        ('{"i": "acme", "s": null, "r": null, "p": 0}', "page number"),
        ('{"i": "acme", "s": null, "r": null, "p": 1e9}', "page number"),
        ('{"i": "acme", "s": 5, "r": null, "p": 1}', "search"),
        ('{"i": "acme", "s": null, "r": "admin", "p": 1}', "role"),
        ('{"i": 3, "s": null, "r": null, "p": 1}', "instance"),
        ("x" * 2001, "too long"),
    ],
)
async def test_members_page_clicked_refuses_bad_values(ctx: HandlerContext, value: str, why: str) -> None:
    reply = await members_page_clicked(ctx, value)
    assert_valid_message(reply)
    assert "That page button is not valid" in reply.text and why in reply.text
    assert "/hub members" in reply.text
    assert not reply.replace_original  # the page they were on stays


async def test_members_page_clicked_for_another_instance(ctx: HandlerContext) -> None:
    reply = await members_page_clicked(ctx, '{"i":"globex","s":null,"r":null,"p":2}')
    assert "is for `globex`, not `acme`" in reply.text


def test_page_value_parses_what_members_writes() -> None:
    state = parse_page_value('{"i":"acme","s":"<b> & é","r":"editor","p":3}')
    assert (state.instance, state.search, state.role, state.page) == ("acme", "<b> & é", "editor", 3)
    assert parse_page_value(state.encode()) == state

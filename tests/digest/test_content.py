"""The digest's content against the emulator's seeded demo orgs: `acme` (Insights on) and `globex` (off)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from handlers.context import HandlerContext
from handlers.digest.model import AGE_UNKNOWN, OVER_7_DAYS, OVER_30_DAYS, UNDER_7_DAYS
from handlers.digest.post import gather_digest
from handlers.digest.render import (
    INVITE_CANCEL,
    INVITE_RESEND,
    KEEP,
    REMOVE,
    parse_invite_value,
    parse_member_value,
    render_digest,
)
from hub.emulator import EmulatorState
from tests.digest.conftest import MemoryDigestStore

# Last seen more than 90 days ago in the seeds.
IDLE = {
    "georgelee",
    "marcusbrown",
    "omarfarouk",
    "quentinroy",
    "weizhang",
    "aaronwright",
    "diegomartin",
    "contractorlin",
    "auditorsam",
}
# Insights on, fields null: never logged in, and in the org for well over 90 days.
NEVER_SEEN = {"samuelosei", "ximenalopez", "chloedubois", "isaacnewton", "designermia"}


def now() -> datetime:
    return datetime.now(UTC)


async def test_acme_digest_from_the_seeded_org(
    ctx: HandlerContext, memory_store: MemoryDigestStore, emulator_state: EmulatorState
) -> None:
    emulator_state.add_group("acme", "ghost-team", "nobody here")
    digest = await gather_digest(ctx, memory_store, now=now(), stale_after_days=90, period="2030-05-17")

    assert digest.org == "acme" and digest.instance == "acme"
    totals = digest.totals
    assert (totals.members, totals.owners, totals.editors, totals.plain_members) == (40, 3, 5, 32)
    assert (totals.guests, totals.invites, totals.teams) == (4, 4, 7)

    assert {member.username for member in digest.stale} == IDLE | NEVER_SEEN
    # Never seen first, then the longest idle.
    assert {member.username for member in digest.stale[:5]} == NEVER_SEEN
    assert [member.username for member in digest.stale[5:7]] == ["weizhang", "auditorsam"]
    assert "gracehopper" not in {member.username for member in digest.stale}  # 60 days: not yet
    assert digest.activity_unknown == ()
    assert digest.snoozed == ()

    assert set(digest.guests) == {"contractorkai", "contractorlin", "auditorsam", "designermia"}
    assert digest.owners == ("alicechen", "bobokafor", "carolsmith")
    assert set(digest.no_team) == {"umarkhan", "ximenalopez", "aaronwright", "elenarossi", "isaacnewton", "auditorsam"}
    assert digest.empty_teams == ("ghost-team",)

    groups = {name: [invite.invitee for invite in invites] for name, invites in digest.invite_groups()}
    assert groups == {
        OVER_30_DAYS: ["stale.contractor@outsource.example", "olga.petrova@acme.example"],
        OVER_7_DAYS: ["ravisharma"],
        UNDER_7_DAYS: ["newhire@acme.example"],
    }
    assert AGE_UNKNOWN not in groups
    assert digest.changes.since is None


async def test_globex_without_insights_has_no_stale_members(
    globex_ctx: HandlerContext, memory_store: MemoryDigestStore
) -> None:
    digest = await gather_digest(globex_ctx, memory_store, now=now(), stale_after_days=90, period="2030-05-17")
    assert digest.stale == ()
    assert set(digest.activity_unknown) == {"hankscorpio", "franklloyd", "gretaberg", "homerjay", "lindaolsen"}
    main, thread = render_digest(digest)
    text = "\n".join(block.get("text", {}).get("text", "") for block in main.blocks)
    assert "*Activity unknown* (5" in text and "never counted as stale" in text
    assert "*Stale members* (no activity in 90 days): 0" in text
    assert not any(block["type"] == "actions" for reply in thread for block in reply.blocks if REMOVE in str(block))


async def test_rendered_acme_digest_has_a_button_pair_per_invite_and_stale_member(
    ctx: HandlerContext, memory_store: MemoryDigestStore
) -> None:
    digest = await gather_digest(ctx, memory_store, now=now(), stale_after_days=90, period="2030-05-17")
    main, thread = render_digest(digest)
    assert not main.ephemeral and all(not reply.ephemeral for reply in thread)
    assert "first one" in main.text or any("first one" in str(block) for block in main.blocks)

    elements = [
        element
        for reply in thread
        for block in reply.blocks
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    by_action: dict[str, list[str]] = {}
    for element in elements:
        by_action.setdefault(element["action_id"], []).append(element["value"])
    assert len(by_action[INVITE_RESEND]) == len(by_action[INVITE_CANCEL]) == 4
    assert len(by_action[KEEP]) == len(by_action[REMOVE]) == len(IDLE | NEVER_SEEN)

    invite_ids = {invite.id for invite in digest.invites}
    for value in by_action[INVITE_CANCEL]:
        button = parse_invite_value(value)
        assert button.instance == "acme" and button.invite_id in invite_ids
    assert {parse_member_value(value).username for value in by_action[REMOVE]} == IDLE | NEVER_SEEN
    assert {parse_member_value(value).instance for value in by_action[KEEP]} == {"acme"}


async def test_stale_threshold_is_a_setting(ctx: HandlerContext, memory_store: MemoryDigestStore) -> None:
    digest = await gather_digest(ctx, memory_store, now=now(), stale_after_days=365, period="p")
    # Never-seen members count once they have been in the org longer than the threshold (seeded join dates:
    # samuelosei 594 days, ximenalopez 509, chloedubois 424, isaacnewton 322, designermia 237).
    assert {member.username for member in digest.stale} == {
        "quentinroy",
        "weizhang",
        "aaronwright",
        "auditorsam",
        "samuelosei",
        "ximenalopez",
        "chloedubois",
    }
    later = await gather_digest(ctx, memory_store, now=now() + timedelta(days=400), stale_after_days=365, period="q")
    assert "gracehopper" in {member.username for member in later.stale}

"""The digest as Slack messages: a main message of summaries, and thread replies with the long lists
and their buttons. Every message stays within Slack's Block Kit limits (handlers/blocks.py) however
big the org is; what does not fit is counted, never dropped silently.

Button `action_id`s are fixed (`digest_keep`, …); the state is in the `value` (compact JSON), and each
item's buttons have an actions block of their own, because an action_id must be unique within a block.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from handlers import blocks as bk
from handlers.activity.events import canonical, is_highlighted
from handlers.context import Block, Reply
from handlers.digest.model import Digest, RosterChanges, StaleMember, invite_age_group
from handlers.review import safe_cell
from hub.models import AuditLog, Invite

INVITE_RESEND = "digest_invite_resend"
INVITE_CANCEL = "digest_invite_cancel"
KEEP = "digest_keep"
REMOVE = "digest_remove"
ACTIONS = (INVITE_RESEND, INVITE_CANCEL, KEEP, REMOVE)

KEEP_DAYS = 90
"""How long a Keep hides a member from the stale list."""

MAX_INVITE_REPLIES = 3
MAX_STALE_REPLIES = 6
MAX_LIST_REPLIES = 1
"""Thread replies per part. chat.postMessage allows about one message a second per channel, and nobody
reads forty replies: past these, the rest is counted and comes up again in the next digest."""

NAMES_IN_MAIN = 700
"""Characters of names a summary line of the main message shows before "and N more"."""
ONBOARDINGS_IN_MAIN = 10
"""Waiting onboardings the main message lists before "and N more" (App Home lists them all)."""
CHANGES_BUDGET = 600
"""Characters each line of "Since the last digest" shows before "and N more"."""
OUTSIDE_BUDGET = 1800
"""Characters of "Changed outside hubkeeper" events the main message shows before "and N more"."""

_TEXT_BUDGET = bk.MAX_TOTAL_TEXT - 400
"""A thread reply's text budget, with room for its heading and the "not shown" note."""
_BLOCK_BUDGET = bk.MAX_BLOCKS - 2


# -- button values ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InviteButton:
    instance: str
    invite_id: str
    invitee: str


@dataclass(frozen=True)
class MemberButton:
    instance: str
    username: str
    days: int = KEEP_DAYS


def invite_value(instance: str, invite: Invite) -> str:
    return bk.compact_json({"i": instance, "id": invite.id, "who": invite.invitee})


def member_value(instance: str, username: str, days: int = KEEP_DAYS) -> str:
    return bk.compact_json({"i": instance, "u": username, "d": days})


def parse_invite_value(value: str) -> InviteButton:
    """A Resend or Cancel button's value; ValueError if it is not one (a value is client-supplied)."""
    data = _object(value)
    instance, invite_id, invitee = data.get("i"), data.get("id"), data.get("who")
    if not (isinstance(instance, str) and isinstance(invite_id, str) and isinstance(invitee, str)):
        raise ValueError("not a digest invite button")
    return InviteButton(instance, invite_id, invitee)


def parse_member_value(value: str) -> MemberButton:
    """A Keep or Remove button's value; ValueError if it is not one."""
    data = _object(value)
    instance, username, days = data.get("i"), data.get("u"), data.get("d", KEEP_DAYS)
    if not (isinstance(instance, str) and isinstance(username, str) and isinstance(days, int)):
        raise ValueError("not a digest member button")
    return MemberButton(instance, username, days)


def _object(value: str) -> dict[str, object]:
    try:
        data = json.loads(value)
    except json.JSONDecodeError:
        raise ValueError("not a digest button value") from None
    if not isinstance(data, dict):
        raise ValueError("not a digest button value")
    return data


# -- the main message ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SectionFile:
    """A section the messages shortened, whole, as a CSV for the thread: the digest stays complete
    evidence on its own however big the org is."""

    filename: str
    title: str
    content: bytes
    rows: int


@dataclass
class Rendered:
    main: Reply
    thread: list[Reply]
    files: list[SectionFile] = field(default_factory=list)


def render_digest(digest: Digest) -> tuple[Reply, list[Reply]]:
    """The main message and its thread replies, each within Slack's limits."""
    rendered = render_all(digest)
    return rendered.main, rendered.thread


def render_all(digest: Digest) -> Rendered:
    """The main message, its thread replies, and a CSV of each section they shortened."""
    main = bk.reply(_main_blocks(digest), text=_fallback(digest))
    main.ephemeral = False
    invites, invites_missing = _invite_replies(digest)
    stale, stale_missing = _stale_replies(digest)
    thread = [*invites, *stale, *_list_replies(digest)]
    for reply in thread:
        reply.ephemeral = False
    return Rendered(main, thread, section_files(digest, invites_cut=invites_missing > 0, stale_cut=stale_missing > 0))


def _fallback(digest: Digest) -> str:
    totals = digest.totals
    return (
        f"Digest for {bk.escape(digest.org)} ({digest.period}): {bk.plural(totals.members, 'member')}, "
        f"{bk.plural(totals.invites, 'pending invite')}, {bk.plural(len(digest.stale), 'stale member')}"
    )


def _names(names: Sequence[str], limit: int = NAMES_IN_MAIN) -> str:
    return bk.join_limited([bk.code(name, 60) for name in names], limit) if names else "none"


def _main_blocks(digest: Digest) -> list[Block]:
    totals = digest.totals
    blocks: list[Block] = [
        bk.header(f"Digest: {bk.clip(digest.org, 100)}"),
        bk.context(
            f"Instance *{bk.echo(digest.instance)}* · period {digest.period} · "
            f"built {digest.built_at:%Y-%m-%d %H:%M} UTC"
        ),
        bk.section(
            "*Totals*",
            fields=[
                f"*Members*\n{totals.members:,}",
                f"*Owners · editors · members*\n{totals.owners:,} · {totals.editors:,} · {totals.plain_members:,}",
                f"*Guests*\n{totals.guests:,}",
                f"*Pending invites*\n{totals.invites:,}",
                f"*Teams*\n{totals.teams:,}",
            ],
        ),
        bk.section(_changes_text(digest.changes)),
    ]
    for section in SECTIONS:
        blocks.extend(section(digest))
    blocks.append(bk.divider())
    groups = digest.invite_groups()
    if groups:
        counts = " · ".join(f"{name.lower()}: {len(items):,}" for name, items in groups)
        blocks.append(bk.section(f"*Pending invites* ({totals.invites:,}): {counts}"))
    else:
        blocks.append(bk.section("*Pending invites*: none"))
    if digest.onboardings:
        shown = "\n".join(digest.onboardings[:ONBOARDINGS_IN_MAIN])
        more = len(digest.onboardings) - ONBOARDINGS_IN_MAIN
        rest = f"\n…and {more:,} more (App Home lists them)" if more > 0 else ""
        title = f"*Onboardings waiting for the invite to be accepted* ({len(digest.onboardings):,})"
        blocks.append(bk.section(bk.clip(f"{title}\n{shown}{rest}", 3000)))
    stale = f"*Stale members* (no activity in {digest.stale_after_days} days): {len(digest.stale):,}"
    if digest.snoozed:
        stale += f" · {len(digest.snoozed):,} more hidden by a Keep"
    if digest.stale:
        stale += "\n" + _names([s.username for s in digest.stale])
    blocks.append(bk.section(stale))
    if digest.activity_unknown:
        blocks.append(
            bk.section(
                f"*Activity unknown* ({len(digest.activity_unknown):,}, Docker Hub sends no Insights for them; "
                f"never counted as stale): {_names(digest.activity_unknown)}"
            )
        )
    blocks.append(bk.section(f"*Owners* ({len(digest.owners):,}): {_names(digest.owners)}"))
    blocks.append(bk.section(f"*In no team* ({len(digest.no_team):,}): {_names(digest.no_team)}"))
    blocks.append(bk.section(f"*Guests* ({len(digest.guests):,}): {_names(digest.guests)}"))
    blocks.append(bk.section(f"*Empty teams* ({len(digest.empty_teams):,}): {_names(digest.empty_teams)}"))
    if digest.invites or digest.stale:
        blocks.append(bk.context("Each invite and stale member, with its buttons, is in the thread."))
    return blocks


def _changes_text(changes: RosterChanges) -> str:
    if changes.since is None:
        return "*Since the last digest*: this is the first one; the next digest shows what changed since now."
    lines = [f"*Since the last digest* ({bk.date(changes.since)}):"]
    if not changes.any:
        lines.append("no one joined or left, and no role or team changed.")
        return "\n".join(lines)
    budget = CHANGES_BUDGET
    lines.append(f"Joined ({len(changes.joined):,}): {_names(changes.joined, budget)}")
    lines.append(f"Left ({len(changes.left):,}): {_names(changes.left, budget)}")
    roles = [f"{bk.code(c.username, 60)} {bk.escape(c.before)} → {bk.escape(c.after)}" for c in changes.roles]
    lines.append(f"Role changes ({len(roles):,}): {bk.join_limited(roles, budget) if roles else 'none'}")
    teams = [_team_change(c.username, c.joined, c.left) for c in changes.teams]
    lines.append(f"Team changes ({len(teams):,}): {bk.join_limited(teams, budget) if teams else 'none'}")
    return "\n".join(lines)


def _team_change(username: str, joined: Sequence[str], left: Sequence[str]) -> str:
    parts = [f"+{bk.escape(team)}" for team in joined] + [f"−{bk.escape(team)}" for team in left]
    return f"{bk.code(username, 60)} {' '.join(parts)}"


# -- thread replies --------------------------------------------------------------------------------


def _pack(title: str, items: Sequence[list[Block]], max_replies: int, rest: str) -> tuple[list[Reply], int]:
    """Items (each a few blocks that belong together) packed into as few replies as fit, each starting with
    `title`; items past `max_replies` replies are counted in a note on the last one. Returns the replies
    and how many items they leave out."""
    replies: list[list[Block]] = []
    current: list[Block] = []
    used = 0
    shown = 0
    for item in items:
        cost = bk.text_length(item)
        if current and (len(current) + len(item) > _BLOCK_BUDGET or used + cost > _TEXT_BUDGET):
            replies.append(current)
            current, used = [], 0
        if not current:
            if len(replies) == max_replies:
                break
            current = [bk.section(title)]
            used = bk.text_length(current)
        current.extend(item)
        used += cost
        shown += 1
    if current:
        replies.append(current)
    missing = len(items) - shown
    if missing and replies:
        replies[-1].append(
            bk.context(f"{bk.ELLIPSIS} {missing:,} more {rest} not shown here; the attached CSV lists them all.")
        )
    return [bk.reply(blocks) for blocks in replies], missing


def _invite_replies(digest: Digest) -> tuple[list[Reply], int]:
    items: list[list[Block]] = []
    for group, invites in digest.invite_groups():
        items.append([bk.section(f"*{group}* ({len(invites):,})")])
        items.extend(_invite_item(digest, invite) for invite in invites)
    return _pack(f"*Pending invites in {bk.echo(digest.org)}*", items, MAX_INVITE_REPLIES, "invites")


def _invite_item(digest: Digest, invite: Invite) -> list[Block]:
    inviter = bk.code(invite.inviter_username, 60) if invite.inviter_username else "someone unknown"
    team = f"team {bk.code(invite.team, 60)}" if invite.team else "no team"
    waiting = bk.age(invite.created_at, digest.built_at) if invite.created_at else "age unknown"
    line = f"• {bk.code(invite.invitee, 100)} — {waiting} · invited by {inviter} · {team}"
    value = invite_value(digest.instance, invite)
    return [
        bk.section(line),
        bk.actions(
            [
                bk.button("Resend", INVITE_RESEND, value),
                bk.button("Cancel…", INVITE_CANCEL, value, style="danger"),
            ]
        ),
    ]


def _stale_replies(digest: Digest) -> tuple[list[Reply], int]:
    items = [_stale_item(digest, member) for member in digest.stale]
    title = (
        f"*Stale members of {bk.echo(digest.org)}* (no activity in {digest.stale_after_days} days), longest idle first"
    )
    return _pack(title, items, MAX_STALE_REPLIES, "stale members")


def _stale_item(digest: Digest, member: StaleMember) -> list[Block]:
    seen = (
        "never seen"
        if member.last_active is None
        else f"last active {bk.when_ago(member.last_active, digest.built_at)}"
    )
    who = bk.code(member.username, 60)
    if member.full_name:
        who += f" ({bk.echo(member.full_name, 60)})"
    teams = ", ".join(bk.escape(team) for team in member.teams) or "no team"
    guest = " · guest" if member.is_guest else ""
    value = member_value(digest.instance, member.username)
    return [
        bk.section(f"• {who} — {seen} · {bk.escape(member.role)}{guest} · {bk.clip(teams, 300)}"),
        bk.actions(
            [
                bk.button(f"Keep ({KEEP_DAYS} days)", KEEP, value),
                bk.button("Remove…", REMOVE, value, style="danger"),
            ]
        ),
    ]


def _list_replies(digest: Digest) -> list[Reply]:
    """The full lists whose main-message line was cut short ("and N more")."""
    out: list[Reply] = []
    for title, names in (
        ("Activity unknown", digest.activity_unknown),
        ("In no team", digest.no_team),
        ("Guests", digest.guests),
    ):
        lines = [bk.code(name, 60) for name in names]
        if len(", ".join(lines)) <= NAMES_IN_MAIN - 40:
            continue  # the main message shows them all already
        head = [bk.section(f"*{title}* ({len(names):,})")]
        out.append(bk.reply(bk.list_blocks(head, [", ".join(lines[i : i + 20]) for i in range(0, len(lines), 20)])))
    return out[: 3 * MAX_LIST_REPLIES]


def snooze_note(username: str, until: datetime) -> str:
    return f"Kept {bk.code(username, 60)}: hidden from the stale list until {bk.date(until)}."


# -- changed outside hubkeeper ---------------------------------------------------------------------


def outside_line(event: AuditLog) -> str:
    when = "an unknown time" if event.timestamp is None else f"{event.timestamp.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    what = bk.escape(" ".join((event.action_description or canonical(event.action)).split()))
    mark = ":rotating_light:" if is_highlighted(event) else "•"
    return f"{mark} {when} *{bk.escape(event.actor or 'someone')}* {what}"


def _outside_section(digest: Digest) -> list[Block]:
    if digest.outside_error is not None:
        problem = bk.escape(bk.clip(digest.outside_error, 300))
        return [
            bk.section(
                f"*Changed outside hubkeeper since the last digest*: the audit log could not be read ({problem})."
            )
        ]
    if digest.outside is None:
        return []
    events = digest.outside
    if not events:
        return [bk.section("*Changed outside hubkeeper since the last digest*: nothing.")]
    flagged = sum(1 for event in events if is_highlighted(event))
    head = f"*Changed outside hubkeeper since the last digest* ({len(events):,}"
    head += f", :rotating_light: {flagged:,} made an owner or removed someone)" if flagged else ")"
    # Highlighted first: owner-making and removals are what a reviewer must not miss in a long list.
    ordered = sorted(events, key=lambda event: not is_highlighted(event))
    return [bk.section(head + "\n" + bk.join_limited([outside_line(e) for e in ordered], OUTSIDE_BUDGET, "\n"))]


SECTIONS: tuple[Callable[[Digest], list[Block]], ...] = (_outside_section,)
"""Main-message sections after "Since the last digest", in order: a new section is a function here."""


# -- sections as CSV files -------------------------------------------------------------------------


def _cut(names: Sequence[str], limit: int = NAMES_IN_MAIN) -> bool:
    """Whether `_names` shortens this list ("and N more")."""
    return _cut_items([bk.code(name, 60) for name in names], limit)


def _csv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return out.getvalue().encode("utf-8")


def _time(when: datetime | None) -> str:
    return "" if when is None else when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _file(digest: Digest, slug: str, title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> SectionFile:
    name = f"digest-{digest.org}-{digest.period.replace(':', '').replace('/', '-')}-{slug}.csv"
    return SectionFile(name, f"{title} ({len(rows):,})", _csv(header, rows), len(rows))


def section_files(digest: Digest, *, invites_cut: bool, stale_cut: bool) -> list[SectionFile]:
    """A CSV of every section the messages show only in part."""
    files: list[SectionFile] = []
    changes = digest.changes
    if changes.since is not None and _changes_cut(changes):
        rows = [["joined", name, "", ""] for name in changes.joined]
        rows += [["left", name, "", ""] for name in changes.left]
        rows += [["role", c.username, c.before, c.after] for c in changes.roles]
        rows += [["teams", c.username, "; ".join(c.left), "; ".join(c.joined)] for c in changes.teams]
        files.append(_file(digest, "changes", "Since the last digest", ("change", "username", "before", "after"), rows))
    if digest.outside and _cut_items([outside_line(e) for e in digest.outside], OUTSIDE_BUDGET, "\n"):
        files.append(
            _file(
                digest,
                "outside-hubkeeper",
                "Changed outside hubkeeper since the last digest",
                ("time", "actor", "action", "description", "highlighted"),
                [
                    [
                        _time(e.timestamp),
                        e.actor or "",
                        canonical(e.action),
                        " ".join((e.action_description or "").split()),
                        "yes" if is_highlighted(e) else "no",
                    ]
                    for e in digest.outside
                ],
            )
        )
    if invites_cut:
        files.append(
            _file(
                digest,
                "pending-invites",
                "Pending invites",
                ("invitee", "invited_by", "team", "invited_at", "age"),
                [
                    [
                        i.invitee,
                        i.inviter_username or "",
                        i.team or "",
                        _time(i.created_at),
                        invite_age_group(i, digest.built_at),
                    ]
                    for i in digest.invites
                ],
            )
        )
    if stale_cut:
        files.append(
            _file(
                digest,
                "stale-members",
                f"Stale members (no activity in {digest.stale_after_days} days)",
                ("username", "full_name", "role", "teams", "guest", "last_active"),
                [
                    [
                        s.username,
                        s.full_name or "",
                        s.role,
                        "; ".join(s.teams),
                        "yes" if s.is_guest else "no",
                        _time(s.last_active) or "never",
                    ]
                    for s in digest.stale
                ],
            )
        )
    for slug, title, names in (
        ("activity-unknown", "Activity unknown", digest.activity_unknown),
        ("owners", "Owners", digest.owners),
        ("no-team", "In no team", digest.no_team),
        ("guests", "Guests", digest.guests),
        ("empty-teams", "Empty teams", digest.empty_teams),
    ):
        if _cut(names):
            column = "team" if slug == "empty-teams" else "username"
            files.append(_file(digest, slug, title, (column,), [[name] for name in names]))
    return files


def _changes_cut(changes: RosterChanges) -> bool:
    roles = [f"{bk.code(c.username, 60)} {bk.escape(c.before)} → {bk.escape(c.after)}" for c in changes.roles]
    teams = [_team_change(c.username, c.joined, c.left) for c in changes.teams]
    return any(
        _cut_items(items, CHANGES_BUDGET)
        for items in ([bk.code(n, 60) for n in changes.joined], [bk.code(n, 60) for n in changes.left], roles, teams)
    )


def _cut_items(items: Sequence[str], limit: int, separator: str = ", ") -> bool:
    return bool(items) and len(separator.join(items)) > limit

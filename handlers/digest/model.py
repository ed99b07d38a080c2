"""What the scheduled digest says, as plain data: built from Docker Hub listings, a stored roster
snapshot and the running snoozes, without any I/O, so every rule can be tested with made-up input.

Activity follows `handlers.members.activity`: absent Insights fields mean "activity unknown" (never
stale, since we cannot know), present but null means "never seen".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from handlers.stale import STALE_AFTER_DAYS
from handlers.teams import OWNERS_TEAM
from hub.models import AuditLog, Invite, OrgGroup, OrgMember

# Invite age groups, oldest first: the ones most worth a look come first.
OVER_30_DAYS = "Over 30 days"
OVER_7_DAYS = "Over 7 days"
UNDER_7_DAYS = "Under 7 days"
AGE_UNKNOWN = "Age unknown"
INVITE_GROUPS = (OVER_30_DAYS, OVER_7_DAYS, UNDER_7_DAYS, AGE_UNKNOWN)

Roster = dict[str, dict[str, Any]]
"""username → {"role": "owner" | "editor" | "member", "teams": sorted team names}: JSON as stored."""


@dataclass(frozen=True)
class RosterSnapshot:
    taken_at: datetime
    data: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class RoleChange:
    username: str
    before: str
    after: str


@dataclass(frozen=True)
class TeamChange:
    username: str
    joined: tuple[str, ...]
    left: tuple[str, ...]


@dataclass(frozen=True)
class RosterChanges:
    since: datetime | None
    """When the snapshot compared with was taken; None for an instance's first digest."""
    joined: tuple[str, ...] = ()
    left: tuple[str, ...] = ()
    roles: tuple[RoleChange, ...] = ()
    teams: tuple[TeamChange, ...] = ()

    @property
    def any(self) -> bool:
        return bool(self.joined or self.left or self.roles or self.teams)


@dataclass(frozen=True)
class StaleMember:
    username: str
    full_name: str | None
    role: str
    teams: tuple[str, ...]
    last_active: datetime | None
    """The later of last login and last seen; None: Insights say never seen."""
    is_guest: bool = False


@dataclass(frozen=True)
class Totals:
    members: int
    owners: int
    editors: int
    plain_members: int
    guests: int
    invites: int
    teams: int


@dataclass(frozen=True)
class Digest:
    instance: str
    org: str
    period: str
    built_at: datetime
    stale_after_days: int
    totals: Totals
    changes: RosterChanges
    invites: tuple[Invite, ...]
    """Oldest first; unknown ages last."""
    stale: tuple[StaleMember, ...]
    """Never seen first, then the longest idle."""
    snoozed: tuple[tuple[str, datetime], ...]
    """Stale members hidden by a Keep, with when that ends."""
    activity_unknown: tuple[str, ...]
    no_team: tuple[str, ...]
    guests: tuple[str, ...]
    owners: tuple[str, ...]
    empty_teams: tuple[str, ...]
    roster: Roster
    """The roster as of now: the snapshot the next digest compares with."""
    outside: tuple[AuditLog, ...] | None = None
    """Member, invite and team events since the last digest that hubkeeper did not make, oldest first;
    None when not read (the first digest, or no audit log to read)."""
    outside_error: str | None = None
    """Why the audit log could not be read, when it could not."""
    onboardings: tuple[str, ...] = ()
    """Onboardings waiting for their invite to be accepted, one line each (handlers/onboarding.py)."""

    def invite_groups(self) -> list[tuple[str, list[Invite]]]:
        """The non-empty age groups, oldest group first."""
        grouped: dict[str, list[Invite]] = {name: [] for name in INVITE_GROUPS}
        for invite in self.invites:
            grouped[invite_age_group(invite, self.built_at)].append(invite)
        return [(name, items) for name, items in grouped.items() if items]


def zone(name: str) -> tzinfo:
    """An IANA time zone (`HUBKEEPER_TIMEZONE`); ValueError names the setting's value when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name[:100]!r}; use an IANA name such as UTC or Europe/Berlin") from None


def fire_period_key(fire_time: datetime, schedule_tz: str | tzinfo = "UTC") -> str:
    """The period of a scheduled digest: the time it was scheduled to fire (in the digest's time zone),
    not when the job happened to run, so a late run, a retry and every replica agree on it."""
    if fire_time.tzinfo is None:
        raise ValueError("fire_period_key needs a timezone-aware time")
    tz = zone(schedule_tz) if isinstance(schedule_tz, str) else schedule_tz
    return fire_time.astimezone(tz).strftime("%Y-%m-%dT%H:%M")


def period_key(now: datetime, schedule_tz: str | tzinfo = "UTC") -> str:
    """The digest period a run at `now` belongs to: its date in the digest's time zone.

    The date, not the instant: replicas whose clocks or schedulers fire seconds apart land on the same key,
    and a Monday 01:30 UTC run of a Los Angeles digest belongs to Sunday, as people there see it.
    """
    if now.tzinfo is None:
        raise ValueError("period_key needs a timezone-aware time")
    tz = zone(schedule_tz) if isinstance(schedule_tz, str) else schedule_tz
    return now.astimezone(tz).date().isoformat()


def invite_age_group(invite: Invite, now: datetime) -> str:
    if invite.created_at is None:
        return AGE_UNKNOWN
    age = now - _aware(invite.created_at)
    if age > timedelta(days=30):
        return OVER_30_DAYS
    if age > timedelta(days=7):
        return OVER_7_DAYS
    return UNDER_7_DAYS


def roster_of(members: Iterable[OrgMember]) -> Roster:
    # The owners team follows the role, so it is left out: a promotion shows once, as a role change.
    return {
        member.username: {"role": member.role_key, "teams": sorted(set(member.groups) - {OWNERS_TEAM})}
        for member in members
    }


def roster_changes(previous: RosterSnapshot | None, current: Roster) -> RosterChanges:
    if previous is None:
        return RosterChanges(since=None)
    before = previous.data
    joined = tuple(sorted(set(current) - set(before)))
    left = tuple(sorted(set(before) - set(current)))
    roles: list[RoleChange] = []
    teams: list[TeamChange] = []
    for username in sorted(set(current) & set(before)):
        old, new = before[username], current[username]
        if str(old.get("role", "")) != new["role"]:
            roles.append(RoleChange(username, str(old.get("role", "")), new["role"]))
        old_teams = set(old.get("teams", [])) - {OWNERS_TEAM}
        new_teams = set(new["teams"])
        if old_teams != new_teams:
            teams.append(
                TeamChange(username, tuple(sorted(new_teams - old_teams)), tuple(sorted(old_teams - new_teams)))
            )
    return RosterChanges(since=previous.taken_at, joined=joined, left=left, roles=tuple(roles), teams=tuple(teams))


def last_active(member: OrgMember) -> datetime | None:
    """The later of last login and last seen: a long session counts as activity."""
    times = [_aware(when) for when in (member.last_logged_in_at, member.last_seen_at) if when is not None]
    return max(times) if times else None


def is_stale(member: OrgMember, now: datetime, stale_after_days: int) -> bool:
    """Idle longer than the threshold. Unknown activity is never stale; "never seen" is, once the member
    has been in the org that long (someone invited yesterday has had no chance to log in)."""
    if not member.has_insights:
        return False
    threshold = now - timedelta(days=stale_after_days)
    active = last_active(member)
    if active is not None:
        return active < threshold
    return member.date_joined is None or _aware(member.date_joined) < threshold


def build_digest(
    members: Sequence[OrgMember],
    invites: Sequence[Invite],
    groups: Sequence[OrgGroup],
    previous_snapshot: RosterSnapshot | None,
    snoozes: Mapping[str, datetime],
    now: datetime,
    stale_after_days: int = STALE_AFTER_DAYS,
    *,
    instance: str,
    org: str,
    period: str,
) -> Digest:
    """The digest's content. `members` may include invitees (the members list does): they are left out."""
    if now.tzinfo is None:
        raise ValueError("build_digest needs a timezone-aware time")
    people = sorted((m for m in members if not m.is_invitee), key=lambda m: m.username.lower())
    roster = roster_of(people)
    stale: list[StaleMember] = []
    snoozed: list[tuple[str, datetime]] = []
    for member in people:
        if not is_stale(member, now, stale_after_days):
            continue
        until = snoozes.get(member.username)
        if until is not None and until > now:
            snoozed.append((member.username, until))
            continue
        stale.append(
            StaleMember(
                username=member.username,
                full_name=member.full_name or None,
                role=member.role_key,
                teams=tuple(roster[member.username]["teams"]),
                last_active=last_active(member),
                is_guest=member.is_guest,
            )
        )
    # Never seen first, then the longest idle: the top of the list is where a cleanup starts.
    stale.sort(key=lambda s: (s.last_active is not None, s.last_active or now, s.username))
    never = datetime.max.replace(tzinfo=UTC)
    ordered_invites = sorted(
        invites, key=lambda i: (i.created_at is None, _aware(i.created_at) if i.created_at else never)
    )
    roles = [member.role_key for member in people]
    guests = tuple(m.username for m in people if m.is_guest)
    return Digest(
        instance=instance,
        org=org,
        period=period,
        built_at=now,
        stale_after_days=stale_after_days,
        totals=Totals(
            members=len(people),
            owners=roles.count("owner"),
            editors=roles.count("editor"),
            plain_members=roles.count("member"),
            guests=len(guests),
            invites=len(invites),
            teams=len(groups),
        ),
        changes=roster_changes(previous_snapshot, roster),
        invites=tuple(ordered_invites),
        stale=tuple(stale),
        snoozed=tuple(snoozed),
        activity_unknown=tuple(m.username for m in people if not m.has_insights),
        no_team=tuple(
            username for username, entry in roster.items() if not entry["teams"] and username_role(entry) != "owner"
        ),
        guests=guests,
        owners=tuple(m.username for m in people if m.role_key == "owner"),
        # member_count may be missing from a listing: only a team known to be empty is called empty.
        empty_teams=tuple(sorted(g.name for g in groups if g.member_count == 0)),
        roster=roster,
    )


def username_role(entry: Mapping[str, Any]) -> str:
    return str(entry.get("role", ""))


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)

"""`hubkeeper review --access` and `/hub review access`: one CSV row per (member, repository) a member
reaches through teams — `username`, `repository`, `permission`, `teams` — the evidence an auditor asks for.

From the access index (reading R·T pairs live would take minutes), with the member listing
streamed as in the member review: one pass over the members (their `groups` field names their
teams), each member's rows written as their page arrives. Memory holds the index's grants by team
(a few rows per repository) and the repository names, never the org's members.

- `repository`: `namespace/name`.
- `permission`: the effective one, the highest of the member's teams on it.
- `teams`: the teams it comes through, `; `-separated, strongest first.
- Owners reach every repository as admin through `owners`, so each owner gets a row per repository
  with `admin` and `owners` (plus any other team that also grants it).
- Cells Docker Hub fills are written formula-safe, as in the member review.
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from handlers import blocks as bk
from handlers.access_index import PERMISSION_RANK, AccessIndexStore, index_age_text
from handlers.context import HandlerContext, Reply
from handlers.grammar import Syntax
from handlers.lookup import without_arguments
from handlers.review import TEAM_SEPARATOR, Upload, UploadFailed, safe_cell
from handlers.teams import OWNERS_TEAM
from hub.client import HubClient
from hub.errors import HubError

COLUMNS = ("username", "repository", "permission", "teams")


class NoIndex(Exception):
    """The access index has never been built for this instance."""


@dataclass
class AccessReviewSummary:
    org: str = ""
    members: int = 0
    members_with_access: int = 0
    rows: int = 0
    owners: int = 0
    repositories: int = 0
    index_age: str = ""

    def text(self) -> str:
        return (
            f"Repository access review of {self.org}: {self.rows:,} rows for {self.members_with_access:,} of "
            f"{self.members:,} members ({self.owners:,} owners reach all {self.repositories:,} repositories); "
            f"teams' grants {self.index_age}."
        )


async def write_access_csv(
    hub: HubClient, index: AccessIndexStore, instance: str, out: TextIO, *, now: datetime | None = None
) -> AccessReviewSummary:
    """Write the repository access review to `out` (opened with newline=""), row by row.

    Raises NoIndex when the index was never built, HubError as the client does.
    """
    now = now or datetime.now(UTC)
    status = await index.index_status(instance)
    if status is None or status.finished_at is None:
        raise NoIndex(f"the access index of {instance} has not been built yet; run `hubkeeper index` first")
    repositories = sorted([repo.name async for repo in hub.iter_repositories()])
    teams = [team.name for team in await hub.list_groups()]
    by_team: dict[str, list[tuple[str, str]]] = {}
    for grant in await index.grants_of_teams(instance, teams):
        by_team.setdefault(grant.team, []).append((grant.repository, grant.permission))
    summary = AccessReviewSummary(org=hub.org, repositories=len(repositories), index_age=index_age_text(status, now))
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    prefix = f"{hub.org}/"
    async for member in hub.iter_members():
        reached: dict[str, list[tuple[str, str]]] = {}
        if member.role_key == "owner":
            summary.owners += 1
            for repository in repositories:
                reached[repository] = [(OWNERS_TEAM, "admin")]
        for team in member.groups:
            if team == OWNERS_TEAM:
                continue
            for repository, permission in by_team.get(team, ()):
                reached.setdefault(repository, []).append((team, permission))
        summary.members += 1
        summary.members_with_access += bool(reached)
        for repository in sorted(reached):
            ordered = sorted(reached[repository], key=lambda entry: (-PERMISSION_RANK.get(entry[1], 0), entry[0]))
            writer.writerow(
                [
                    safe_cell(member.username),
                    safe_cell(prefix + repository),
                    ordered[0][1],
                    safe_cell(TEAM_SEPARATOR.join(team for team, _ in ordered)),
                ]
            )
            summary.rows += 1
    return summary


def access_review_filename(org: str, now: datetime) -> str:
    return f"repository-access-{org}-{now.astimezone(UTC):%Y-%m-%d}.csv"


async def access_review(ctx: HandlerContext, *, upload: Upload, index: AccessIndexStore) -> Reply:
    """`/hub review access`: the CSV goes to the requester by DM; the reply is a summary."""
    now = datetime.now(UTC)
    filename = access_review_filename(ctx.hub.org, now)
    with tempfile.TemporaryDirectory(prefix="hubkeeper-access-") as directory:
        path = Path(directory) / filename
        try:
            with path.open("w", encoding="utf-8", newline="") as out:
                summary = await write_access_csv(ctx.hub, index, ctx.instance, out, now=now)
        except NoIndex as missing:
            return bk.message(f":warning: {bk.escape(str(missing))}.")
        except HubError as error:
            return bk.error_reply(error)
        try:
            await upload(ctx.actor, filename, path, summary.text())
        except UploadFailed as error:
            return bk.message(
                f":warning: The access review of {bk.code(ctx.hub.org)} was built but could not be sent to you: "
                f"{bk.echo(str(error))}"
            )
    return bk.message(
        f"*Repository access review of {bk.code(summary.org)}* sent to you by DM as {bk.code(filename)}.",
        bk.escape(summary.text()),
    )


@dataclass(frozen=True)
class ReviewAccess:
    pass


async def _run_access_review(ctx: HandlerContext) -> Reply:
    if ctx.upload is None:
        return Reply("Access reviews need Slack file uploads, which this hubkeeper lacks.")
    return await access_review(ctx, upload=ctx.upload, index=ctx.access_index)


REVIEW_ACCESS = without_arguments(
    Syntax(
        "review access",
        "review access",
        "Who reaches which repository through which team: a CSV sent to you by DM",
        ("/hub review access",),
    ),
    ReviewAccess,
    _run_access_review,
    scan=True,  # one pass over every member, as `/hub review`
)

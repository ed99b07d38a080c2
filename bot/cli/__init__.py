"""The `hubkeeper` command line: wiring only; the behaviour lives in handlers/ and hub/.

One module per command (or command group) in this package, imported only when that command runs:
`hubkeeper --help` loads click and nothing else, `hubkeeper check` loads the Hub client but neither
Slack nor the store. Keep it that way: a command module imports what that command uses.
"""

from __future__ import annotations

import logging

import click

from bot.cli.lazy import LazyCommand, LazyGroup

COMMANDS = {
    "activity": LazyCommand(
        "bot.cli.activity:activity",
        "Print the audit log's member, invite and team changes made outside hubkeeper, one line each.",
    ),
    "check": LazyCommand(
        "bot.cli.check:check", "Run the health checks: exchange the OAT, list one member, list one team."
    ),
    "demo": LazyCommand(
        "bot.cli.demo:demo",
        "Start the emulator with the demo org and run the health checks and a short tour against it.",
    ),
    "digest": LazyCommand(
        "bot.cli.digest:digest",
        "Build the digest now and post it to the digest channel (or print it with --dry-run).",
    ),
    "emulator": LazyCommand(
        "bot.cli.emulator:emulator", "Serve the Docker Hub emulator (for the sandbox, demos and benchmarks)."
    ),
    "emulator-web-ui": LazyCommand(
        "bot.cli.activity:emulator_web_ui",
        "Make a change in the emulator as a person in Docker Hub's web UI would.",
    ),
    "index": LazyCommand(
        "bot.cli.index:index",
        "Refresh the access index now: every (repository, team) pair, paced to HUBKEEPER_INDEX_RATE_SHARE.",
    ),
    "invite": LazyCommand(
        "bot.cli.bulk:invite",
        "Invite the people of a CSV file (header: email[,team,role]), one request per team and role.",
    ),
    "log": LazyCommand(
        "bot.cli.log:log",
        "Decided requests (about SUBJECT: a username, team, email or namespace/repository), newest first.",
    ),
    "policy": LazyCommand(
        "bot.cli.policy:policy", "Access policy as code: which teams exist, who is in them, and what they may do."
    ),
    "review": LazyCommand(
        "bot.cli.review:review",
        "Write the access review CSV (one row per member, then pending invites); summary on stderr.",
    ),
    "sandbox": LazyCommand(
        "bot.cli.sandbox:sandbox",
        "Try the whole bot locally: Docker Hub emulator, Slack stand-in, the bot, and a console page.",
    ),
    "serve": LazyCommand(
        "bot.cli.serve:serve",
        "Run the bot: Socket Mode by default (needs SLACK_APP_TOKEN), or HTTP at POST /slack/events.",
    ),
    "team": LazyCommand(
        "bot.cli.bulk:team",
        "Add people to a team, or take them out, from a file (through approval when configured).",
    ),
}

REQUEST_LOG = "hub"
"""The Docker Hub client's loggers: what -v shows (each request, its status and time; never a credential)."""


@click.group(cls=LazyGroup, lazy_commands=COMMANDS)
@click.option("-v", "--verbose", is_flag=True, help="Log Docker Hub requests (credentials are never logged).")
def main(verbose: bool) -> None:
    """hubkeeper: run a Docker Hub organization from Slack."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if verbose:
        # Only ours: DEBUG on the root logger would let SQLAlchemy log statements (with people's data in
        # them) and slack_sdk log the Socket Mode URL.
        logging.getLogger(REQUEST_LOG).setLevel(logging.DEBUG)


__all__ = ["COMMANDS", "main"]

"""`hubkeeper sandbox`: the whole bot locally, with the Docker Hub emulator and a Slack stand-in."""

from __future__ import annotations

import asyncio
import contextlib

import click

from bot.sandbox.run import run_sandbox


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=3000, show_default=True, type=click.IntRange(0, 65535), help="The console's port.")
def sandbox(host: str, port: int) -> None:
    """Try the whole bot locally: Docker Hub emulator, Slack stand-in, the bot, and a console page."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_sandbox(host, port))

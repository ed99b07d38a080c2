"""`hubkeeper serve`: run the bot, in Socket Mode or behind Slack's HTTP endpoint."""

from __future__ import annotations

import asyncio
import logging

import click

from bot.app import open_bot
from bot.cli.output import fail_config
from bot.serve import serve_http, serve_socket_mode
from bot.settings import ConfigError, Settings, load_settings


@click.command()
@click.option("--http", "http_mode", is_flag=True, help="Serve Slack's HTTP endpoint instead of Socket Mode.")
@click.option("--host", default="0.0.0.0", show_default=True, help="With --http.")
@click.option("--port", default=3000, show_default=True, type=click.IntRange(0, 65535), help="With --http.")
def serve(http_mode: bool, host: str, port: int) -> None:
    """Run the bot: Socket Mode by default (needs SLACK_APP_TOKEN), or HTTP at POST /slack/events."""
    logging.getLogger("hubkeeper").setLevel(logging.INFO)
    try:
        settings = load_settings()
        app_token = settings.slack(http=http_mode).app_token
        asyncio.run(_serve(settings, http_mode, host, port, app_token.get_secret_value() if app_token else ""))
    except ConfigError as error:
        fail_config(error)


async def _serve(settings: Settings, http_mode: bool, host: str, port: int, app_token: str) -> None:
    bot = await open_bot(settings, http=http_mode)
    if http_mode:
        await serve_http(bot, host, port)
    else:
        await serve_socket_mode(bot, app_token)

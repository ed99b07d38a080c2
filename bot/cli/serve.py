"""`hubkeeper serve`: run the bot, in Socket Mode or behind Slack's HTTP endpoint."""

from __future__ import annotations

import asyncio
import logging
import sys

import click

from bot import logs
from bot.app import Bot, open_bot
from bot.cli.output import EXIT_CONFIG, fail_config
from bot.serve import serve_http, serve_socket_mode
from bot.settings import ConfigError, Settings, SlackConfig, load_settings


@click.command()
@click.option("--http", "http_mode", is_flag=True, help="Serve Slack's HTTP endpoint instead of Socket Mode.")
@click.option("--host", default="0.0.0.0", show_default=True, help="With --http.")
@click.option("--port", default=3000, show_default=True, type=click.IntRange(0, 65535), help="With --http.")
def serve(http_mode: bool, host: str, port: int) -> None:
    """Run the bot: Socket Mode by default (needs SLACK_APP_TOKEN), or HTTP at POST /slack/events.

    Probes and metrics: GET /healthz, /readyz, /metrics on the Slack port in HTTP mode, on
    HUBKEEPER_ADMIN_PORT in Socket Mode.
    """
    # Configured before the settings are read, so that even their error is a line in the asked format.
    log_format = logs.requested_format()
    logs.configure(log_format, level=min(logging.getLogger().level or logging.WARNING, logging.WARNING))
    try:
        settings = load_settings()
        slack = settings.slack(http=http_mode)
        logs.add_secrets(_secret_values(slack))
        app_token = slack.app_token.get_secret_value() if slack.app_token else ""
        asyncio.run(_serve(settings, http_mode, host, port, app_token))
    except ConfigError as error:
        if log_format == "json":
            logging.getLogger("hubkeeper.serve").error("%s", error)
            sys.exit(EXIT_CONFIG)
        fail_config(error)


def _secret_values(slack: SlackConfig, bot: Bot | None = None) -> list[str]:
    secrets = [slack.bot_token, slack.signing_secret, slack.app_token]
    if bot is not None:
        secrets += [secret for i in bot.instances.values() for secret in (i.organization_access_token, i.pat)]
    return [secret.get_secret_value() for secret in secrets if secret is not None]


async def _serve(settings: Settings, http_mode: bool, host: str, port: int, app_token: str) -> None:
    bot = await open_bot(settings, http=http_mode)
    logs.add_secrets(_secret_values(settings.slack(http=http_mode), bot))
    if http_mode:
        await serve_http(bot, host, port)
    else:
        await serve_socket_mode(bot, app_token, admin_port=settings.hubkeeper_admin_port)

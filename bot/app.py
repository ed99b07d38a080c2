"""The composition root: settings in, a ready Bolt app with its Hub clients out.

The app object does not know how Slack reaches it; `bot/serve.py` puts it behind Socket Mode or
HTTP.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

from bot import listeners
from bot.settings import InstanceConfig, Settings, SlackConfig
from bot.slack_io import SlackDirectory, SlackMessenger, web_client
from handlers.router import Router
from hub.client import HubClient


@dataclass
class Bot:
    app: AsyncApp
    router: Router
    hubs: dict[str, HubClient]
    instances: dict[str, InstanceConfig]

    async def aclose(self) -> None:
        for hub in self.hubs.values():
            await hub.aclose()

    def describe(self) -> str:
        """What this bot is connected to, for the start-up line (never a secret)."""
        return ", ".join(
            f"{label} ({instance.organization_name} at {instance.api_url})"
            for label, instance in self.instances.items()
        )


class _SameTokenWarning(logging.Filter):
    """Drops Bolt's warning that our client's token wins over SLACK_BOT_TOKEN, which Bolt reads from the
    environment by itself: both are the same setting, so the warning would only alarm whoever reads it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


def build_app(slack: SlackConfig, router: Router) -> AsyncApp:
    bolt_logger = logging.getLogger("slack_bolt.AsyncApp")
    if not any(isinstance(f, _SameTokenWarning) for f in bolt_logger.filters):
        bolt_logger.addFilter(_SameTokenWarning())
    client = web_client(slack)
    router.messenger = router.messenger or SlackMessenger(client)
    router.directory = router.directory or SlackDirectory(client)
    app = AsyncApp(
        client=client,
        signing_secret=slack.signing_secret.get_secret_value(),
        # Read by Bolt from the environment otherwise, where it would switch OAuth on.
        installation_store=None,
        raise_error_for_unhandled_request=False,
    )
    listeners.register(app, router)
    return app


def build_bot(settings: Settings, *, http: bool, hub_overrides: Mapping[str, HubClient] | None = None) -> Bot:
    """Raises ConfigError (bot.settings) naming whatever setting is missing or wrong."""
    slack = settings.slack(http=http)
    instances = settings.instances()
    hubs = (
        dict(hub_overrides) if hub_overrides else {label: HubClient(i.connection()) for label, i in instances.items()}
    )
    router = Router(hubs=hubs, viewers=settings.viewers())
    return Bot(app=build_app(slack, router), router=router, hubs=hubs, instances=instances)

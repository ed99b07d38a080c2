"""The local Slack sandbox: a stateful Slack Web API stand-in and a web console that plays Slack for a person."""

from .demo_users import DEMO_CHANNELS, DEMO_IDENTITY, DEMO_SLACK_USERS, DEMO_USERGROUPS
from .directory import SlackChannel, SlackIdentity, SlackUser
from .slack_api import SlackStandIn
from .slack_http import build_standin_app
from .slack_state import RecordedCall

__all__ = [
    "DEMO_CHANNELS",
    "DEMO_IDENTITY",
    "DEMO_SLACK_USERS",
    "DEMO_USERGROUPS",
    "RecordedCall",
    "SlackChannel",
    "SlackIdentity",
    "SlackStandIn",
    "SlackUser",
    "build_standin_app",
]

"""A stateful Docker Hub stand-in (aiohttp) that follows the official spec and Docker Hub's quirks."""

from .config import EmulatorConfig
from .models import Group, Invite, Member, Org, RecordedRequest, Repository
from .seeds import DEMO, LARGE_OAT, DemoCredentials, seed_demo, seed_large
from .server import EmulatorServer, serve_forever
from .state import EmulatorState

__all__ = [
    "DEMO",
    "LARGE_OAT",
    "DemoCredentials",
    "EmulatorConfig",
    "EmulatorServer",
    "EmulatorState",
    "Group",
    "Invite",
    "Member",
    "Org",
    "RecordedRequest",
    "Repository",
    "seed_demo",
    "seed_large",
    "serve_forever",
]

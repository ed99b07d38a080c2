"""The Docker Hub client hubkeeper is built on: typed, async, one method per endpoint."""

from hub.client import DEFAULT_BASE_URL, HubClient, HubConnection
from hub.errors import HubError

__all__ = ["DEFAULT_BASE_URL", "HubClient", "HubConnection", "HubError"]

"""The Docker Hub client hubkeeper is built on: typed, async, one method per endpoint (`hub.client`).

Nothing of ours is imported here, so that importing `hub.paths` or `hub.errors` does not load httpx
and the client.
"""

import sys

# httpx's package imports its own command-line client (`httpx._main`) only to offer `httpx.main`;
# that module imports click, pygments and rich, and wherever pygments is installed (it comes with
# pytest) loading it costs every `hubkeeper` command several milliseconds before it fails on rich.
# hubkeeper never runs httpx's CLI: marking the module as absent makes httpx define its stand-in
# `main` (which says the CLI's dependencies are missing) instead. The commands whose start-up counts
# (check, review, digest, policy, serve) reach httpx through this package, so this runs first.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

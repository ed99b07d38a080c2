"""The image's HEALTHCHECK: liveness at /healthz, with nothing but the standard library.

`healthcheck.py /readyz` checks readiness instead (compose gates the proxy on it).

The port is the one the running `hubkeeper serve` listens on, read from its command line:
`serve --http` answers on its Slack port (`--port`, 3000 by default); Socket Mode on the admin port,
HUBKEEPER_ADMIN_PORT (8080 by default). Reading it avoids a second setting that could disagree.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from pathlib import Path

HTTP_PORT = "3000"
ADMIN_PORT = "8080"


def serve_arguments() -> list[str] | None:
    """The arguments after `serve` of the hubkeeper process in this container (usually PID 1)."""
    for cmdline in sorted(Path("/proc").glob("[0-9]*/cmdline"), key=lambda path: int(path.parent.name)):
        try:
            argv = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        names = [Path(arg).name for arg in argv]
        if "hubkeeper" in names and "serve" in argv[names.index("hubkeeper") :]:
            return argv[argv.index("serve") + 1 :]
    return None


def port(arguments: list[str]) -> str:
    if "--http" not in arguments:
        return os.environ.get("HUBKEEPER_ADMIN_PORT") or ADMIN_PORT
    for index, argument in enumerate(arguments):
        if argument == "--port" and index + 1 < len(arguments):
            return arguments[index + 1]
        if argument.startswith("--port="):
            return argument.split("=", 1)[1]
    return HTTP_PORT


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "/healthz"
    arguments = serve_arguments()
    if arguments is None:
        print("no `hubkeeper serve` process runs here", file=sys.stderr)
        return 1
    url = f"http://127.0.0.1:{port(arguments)}{path}"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return 0 if response.status == 200 else 1
    except OSError as error:
        print(f"{url}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

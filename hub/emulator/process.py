"""The emulator in a process of its own, for benchmarks: it must not share the measured interpreter."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def emulator_process(
    *,
    members: int,
    teams: int,
    latency_ms: float,
    start_timeout: float = 180,
    repositories: int = 0,
    rate_limit: int | None = None,
) -> Iterator[str]:
    """`hubkeeper emulator --seed large …` on a free port; yields its base URL, stops it afterwards."""
    port = free_port()
    command = [
        sys.executable, "-m", "bot.cli", "emulator", "--port", str(port), "--seed", "large",
        "--members", str(members), "--teams", str(teams), "--latency-ms", str(latency_ms),
        "--repositories", str(repositories),
        *(["--rate-limit", str(rate_limit)] if rate_limit else []),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout  # seeding 50,000 members takes a while
        while True:
            try:
                httpx.get(base_url + "/v2/health-probe", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stderr.read().decode() if process.stderr else ""
                    raise RuntimeError(f"the emulator did not start: {output}") from None
                time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        process.wait(10)
        if process.stderr is not None:
            process.stderr.close()

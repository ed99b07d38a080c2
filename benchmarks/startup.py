"""Benchmark: how long each `hubkeeper` command takes to start, and its peak memory.

Each command runs as its own process (`python -m bot.cli …`, the same code as the `hubkeeper`
script) against the Docker Hub emulator's demo org, which runs in a process of its own. Start-up is
measured up to the moment the command starts its real work: its first connection to Docker Hub.
The emulator sits behind a small TCP relay in this process that notes when each run's first
connection arrives; the time from launching the child to that moment is the start-up (interpreter,
imports, settings; for `digest --dry-run` also opening the store). `--help` does no other work, so
its start-up is the whole run. Printed per command, as the median of `--runs` runs after one
warm-up run:
- start-up (wall) as above, and the whole run's wall time;
- CPU time (user + system) of the whole run: on a shared, loaded machine it moves far less than
  wall time, so it tells a slow import from a busy box;
- peak memory: the child's ru_maxrss (from wait4). On Linux a child's ru_maxrss starts from its
  parent's resident size at fork, so each command is launched by a minimal launcher process
  (`python -I -S`, standard library only) rather than by this script; the first row, a bare
  `python -c pass` launched the same way, shows that floor.
Every command runs byte-compiled, as an installed hubkeeper does (the image compiles at build time):
where the environment says not to write bytecode (PYTHONDONTWRITEBYTECODE, as a development shell
may), each run would otherwise compile hubkeeper's own modules from source: tens of milliseconds.
The warm-up run writes the bytecode to a folder of this benchmark's own (PYTHONPYCACHEPREFIX);
`--no-bytecode` measures the other way.
Targets (issue 9): `--help` <= 150 ms, `check` start-up <= 300 ms.

    .venv/bin/python benchmarks/startup.py [--runs 7] [--no-bytecode]

`python -X importtime -m bot.cli check` shows where a command's imports go.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HELP_TARGET_MS = 150.0
CHECK_TARGET_MS = 300.0
POLICY = "teams:\n  backend:\n    members: [erinpatel, danielkim, ivanpetrov, umarkhan]\n"


class FirstConnection:
    """A TCP relay to the emulator that remembers when the first connection since `reset` arrived."""

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0
        self.first: float | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._relay, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        self._loop.run_until_complete(server.wait_closed())
        self._loop.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.first is None:
            self.first = time.monotonic()
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self._target_port)
        await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    def __enter__(self) -> FirstConnection:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def reset(self) -> None:
        self.first = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def emulator() -> Iterator[tuple[int, dict[str, str]]]:
    """`hubkeeper emulator --seed demo` in its own process: its port and the demo org's settings."""
    port = free_port()
    command = [sys.executable, "-m", "bot.cli", "emulator", "--seed", "demo", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()  # demo org 'acme': DOCKERHUB_ORG=acme DOCKERHUB_OAT=… (emulator only)
        settings = dict(re.findall(r"(DOCKERHUB_\w+)=(\S+)", banner))
        if "DOCKERHUB_OAT" not in settings:
            raise SystemExit(f"the emulator did not start: {banner!r}")
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the emulator did not start")
            time.sleep(0.05)
        yield port, settings
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


@dataclass
class Run:
    startup: float
    wall: float
    cpu: float
    peak_kb: int


# Runs one command and reports how it went as JSON. It stays tiny (no site, stdlib only) because the
# command's ru_maxrss starts from the launcher's own resident size; time.monotonic() is the system-wide
# CLOCK_MONOTONIC, so `started` compares with the relay's clock in this process.
_LAUNCHER = """
import json, os, sys, time
argv = json.loads(sys.argv[1])
quiet = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]
started = time.monotonic()
pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=quiet)
_, status, usage = os.wait4(pid, 0)
ended = time.monotonic()
print(json.dumps({"started": started, "ended": ended, "code": os.waitstatus_to_exitcode(status),
                  "cpu": usage.ru_utime + usage.ru_stime, "peak_kb": usage.ru_maxrss}))
"""


def run_once(argv: list[str], env: dict[str, str], relay: FirstConnection | None) -> Run:
    if relay is not None:
        relay.reset()
    launched = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _LAUNCHER, json.dumps(argv)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if launched.returncode != 0:
        raise SystemExit(f"the launcher failed: {launched.stderr[-500:]}")
    result = json.loads(launched.stdout)
    if result["code"] not in (0, 2) or (relay is not None and relay.first is None):
        raise SystemExit(f"{' '.join(argv)} failed ({result['code']}): {launched.stderr[-500:]}")
    wall = result["ended"] - result["started"]
    startup = wall if relay is None or relay.first is None else relay.first - result["started"]
    return Run(startup, wall, result["cpu"], result["peak_kb"])


def measure(argv: list[str], env: dict[str, str], relay: FirstConnection | None, runs: int) -> list[Run]:
    run_once(argv, env, relay)  # warm-up: byte-compiled files, the SQLite file's migration
    return [run_once(argv, env, relay) for _ in range(runs)]


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--no-bytecode", action="store_true", help="compile hubkeeper's modules from source on every run"
    )
    options = parser.parse_args()

    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKERHUB_", "HUBKEEPER_", "SLACK_"))}
    with tempfile.TemporaryDirectory() as folder, emulator() as (port, demo), FirstConnection(port) as relay:
        policy_file = Path(folder) / "policy.yml"
        policy_file.write_text(POLICY, encoding="utf-8")
        env = {
            **clean,
            **demo,
            "DOCKERHUB_API_URL": f"http://127.0.0.1:{relay.port}",
            "HUBKEEPER_DATABASE_URL": f"sqlite:///{Path(folder) / 'hubkeeper.db'}",
        }
        if options.no_bytecode:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(Path(folder) / "bytecode")
        hubkeeper = [sys.executable, "-m", "bot.cli"]
        commands: list[tuple[str, list[str], FirstConnection | None]] = [
            ("(python -c pass)", [sys.executable, "-c", "pass"], None),
            ("--help", [*hubkeeper, "--help"], None),
            ("check", [*hubkeeper, "check"], relay),
            ("review --csv /dev/null", [*hubkeeper, "review", "--csv", os.devnull], relay),
            ("digest --dry-run", [*hubkeeper, "digest", "--dry-run"], relay),
            ("policy plan", [*hubkeeper, "policy", "plan", str(policy_file)], relay),
        ]
        results = {name: measure(args, env, watch, options.runs) for name, args, watch in commands}

    compiled = "compiled from source each run" if options.no_bytecode else "byte-compiled"
    print(
        f"hubkeeper start-up, median of {options.runs} runs, {compiled} (start-up: to the first Docker Hub connection)"
    )
    print(f"  {'command':<24} {'start-up':>10} {'whole run':>10} {'CPU':>9} {'peak RSS':>10}")
    for name, runs in results.items():
        startup = statistics.median(run.startup for run in runs) * 1000
        wall = statistics.median(run.wall for run in runs) * 1000
        cpu = statistics.median(run.cpu for run in runs) * 1000
        peak = statistics.median(run.peak_kb for run in runs) / 1024
        target = {"--help": HELP_TARGET_MS, "check": CHECK_TARGET_MS}.get(name)
        judged = f"  (target <= {target:.0f} ms)  [{verdict(startup <= target)}]" if target else ""
        print(f"  {name:<24} {startup:>7.0f} ms {wall:>7.0f} ms {cpu:>6.0f} ms {peak:>7.1f} MB{judged}")


if __name__ == "__main__":
    main()

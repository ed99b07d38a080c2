"""`hubkeeper policy apply` as a real process: the org changes while the question waits for its answer,
and what runs is the plan shown, each change from where the plan saw it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from hub.emulator import DEMO, EmulatorServer, EmulatorState

POLICY = """\
teams:
  backend:
    members: [umarkhan]
    prune: false
repositories:
  acme/web:
    frontend: write
    security: write
"""
# against the demo: umarkhan joins backend; security goes from read to write on web.


class Output:
    """A pipe read in the background, so a prompt without a newline can be waited for."""

    def __init__(self, stream: int) -> None:
        self.stream = stream
        self.data = b""
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while chunk := os.read(self.stream, 4096):
            with self.lock:
                self.data += chunk

    def text(self) -> str:
        with self.lock:
            return self.data.decode("utf-8", "replace")

    def wait_for(self, needle: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            assert time.monotonic() < deadline, f"no {needle!r} in:\n{self.text()}"
            time.sleep(0.05)


def test_apply_runs_the_plan_it_showed_from_where_it_saw_it(
    emulator: EmulatorServer, emulator_state: EmulatorState, tmp_path: Path
) -> None:
    path = tmp_path / "policy.yml"
    path.write_text(POLICY, encoding="utf-8")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKERHUB_", "HUBKEEPER_", "SLACK_"))}
    env = {
        **clean,
        "DOCKERHUB_ORG": DEMO.org,
        "DOCKERHUB_OAT": DEMO.oat,
        "DOCKERHUB_API_URL": emulator.base_url,
        "HUBKEEPER_DATABASE_URL": f"sqlite:///{tmp_path / 'audit.db'}",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "policy", "apply", str(path)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None and process.stderr is not None
    stdout, stderr = Output(process.stdout.fileno()), Output(process.stderr.fileno())
    try:
        stderr.wait_for("Apply these 2 change(s)?")
        shown = stdout.text()
        assert "+ add umarkhan to team backend" in shown
        assert "~ change team security on acme/web from read to write" in shown
        # While the question waits: someone adds umarkhan by hand, and makes security admin on web.
        emulator_state.web_ui_change(DEMO.org, "bobokafor", "team.member.add", team="backend", username="umarkhan")
        emulator_state.add_grant(DEMO.org, "web", "security", "admin")
        process.stdin.write(b"y\n")
        process.stdin.close()
        code = process.wait(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        stdout.thread.join(timeout=10)
        stderr.thread.join(timeout=10)
        process.stdout.close()
        process.stderr.close()
    out = stdout.text()
    assert code == 1, out + stderr.text()  # the org does not match the policy: security is admin
    assert "Applied 0 of 2 change(s)." in out
    assert "Already so (1):" in out and "umarkhan is in team backend already" in out
    assert "Skipped, the org changed since the plan (1):" in out
    assert "team security now has admin (the plan saw read)" in out
    org = emulator_state.org(DEMO.org)
    assert org.repositories["web"].grants[org.groups["security"].id] == "admin"  # not changed unasked

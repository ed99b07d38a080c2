"""`make image-test`: the built image, run for real against the Docker Hub emulator on the host.

Needs a Docker engine (and root, to read the container's process from /proc), so it is a script
run by `make image-test` and `.ci/run`, not a pytest test. Each check prints PASS or FAIL; any
failure exits non-zero.

The containers use the host's network: the emulator listens on the host's loopback, and so does the
bot's HTTP port. Secrets reach the containers as files mounted read-only under /run/secrets and
named by `*_FILE` variables (`--secrets env` passes them as plain variables instead). `serve --http`
runs as Kubernetes would run it: read-only root filesystem, tmpfs for /tmp and /data, the store on
the host's PostgreSQL, JSON logs.

    deploy/image_test.py [--image hubkeeper:latest] [--secrets file|env] [--skip CHECK ...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import yaml

from hub.emulator import DEMO

UID = 10001
KUBERNETES = Path(__file__).resolve().parent / "kubernetes"
SECRETS_DIR = "/run/secrets"
ADMIN_URLS = ("postgresql://postgres@127.0.0.1:5432/test", "postgresql://root@127.0.0.1:5432/test")
SECRETS = {
    # variable: (file name, value) — values are fake, but each must never show up in any output.
    "DOCKERHUB_OAT": ("dockerhub_oat", DEMO.oat),
    "SLACK_BOT_TOKEN": ("slack_bot_token", "xoxb-image-test-bot-token-0000000001"),
    "SLACK_SIGNING_SECRET": ("slack_signing_secret", "image-test-signing-secret-000000000001"),
}
CHECKS = (
    "image-user",
    "check",
    "check-wrong-token",
    "kubernetes-config",
    "healthz",
    "readyz",
    "metrics",
    "process-uid",
    "docker-health",
    "sigterm",
    "no-secrets-in-logs",
    "json-logs",
)


class CheckFailed(Exception):
    pass


@dataclass
class Report:
    skip: set[str]
    failures: list[str] = field(default_factory=list)

    def run(self, name: str, check: Callable[[], str]) -> None:
        if name in self.skip:
            print(f"SKIP  {name}")
            return
        started = time.monotonic()
        try:
            detail = check()
        except CheckFailed as error:
            self.failures.append(name)
            print(f"FAIL  {name} ({time.monotonic() - started:.1f}s): {error}", flush=True)
        else:
            print(f"PASS  {name} ({time.monotonic() - started:.1f}s): {detail}", flush=True)


def docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds:.0f}s")


def get(url: str) -> tuple[int, str, str]:
    """Status, content type and body; an HTTP error status is an answer too."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode()


def poll(url: str, want: int, seconds: float, gone: Callable[[], str]) -> tuple[int, str, str]:
    """GET until it answers `want`, time runs out or `gone()` says why it never will; the last answer."""
    deadline = time.monotonic() + seconds
    last: tuple[int, str, str] = (0, "", "no answer")
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            last = get(url)
            if last[0] == want:
                break
        if gone():
            break
        time.sleep(0.5)
    return last


@contextlib.contextmanager
def emulator() -> Iterator[str]:
    """The Docker Hub emulator, from this project's environment, on a free loopback port."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("hubkeeper")), "emulator", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, 30)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.contextmanager
def secret_files() -> Iterator[Path]:
    """One file per secret, with the trailing newline editors and `kubectl create secret` leave."""
    folder = Path(tempfile.mkdtemp(prefix="hubkeeper-image-test-"))
    try:
        for name, value in SECRETS.values():
            (folder / name).write_text(value + "\n", encoding="utf-8")
            (folder / name).chmod(0o444)  # what Docker and Kubernetes secrets mount as; the UID differs
        folder.chmod(0o755)
        yield folder
    finally:
        shutil.rmtree(folder)


async def _admin(statement: str) -> None:
    errors = []
    for url in ADMIN_URLS:
        try:
            connection = await asyncpg.connect(url)
        except (OSError, asyncpg.PostgresError) as error:
            errors.append(f"{url}: {error}")
            continue
        try:
            await connection.execute(statement)
        finally:
            await connection.close()
        return
    raise RuntimeError("no PostgreSQL at 127.0.0.1:5432: " + "; ".join(errors))


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    name = f"hubkeeper_image_test_{os.getpid()}"
    asyncio.run(_admin(f"CREATE DATABASE {name}"))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def secret_args(mode: str, folder: Path) -> list[str]:
    if mode == "env":
        return [arg for variable, (_, value) in SECRETS.items() for arg in ("-e", f"{variable}={value}")]
    args = ["-v", f"{folder}:{SECRETS_DIR}:ro"]
    for variable, (name, _) in SECRETS.items():
        args += ["-e", f"{variable}_FILE={SECRETS_DIR}/{name}"]
    return args


def leaked(text: str) -> list[str]:
    return [variable for variable, (_, value) in SECRETS.items() if value in text]


class ImageTest:
    def __init__(self, image: str, secrets: str, report: Report, hub_url: str, folder: Path) -> None:
        self.image, self.secrets, self.report = image, secrets, report
        self.hub_url = hub_url
        self.hub = ["-e", f"DOCKERHUB_ORG={DEMO.org}", "-e", f"DOCKERHUB_API_URL={hub_url}"]
        self.folder = folder
        self.container = f"hubkeeper-image-test-{os.getpid()}"
        self.port = free_port()

    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- the image and `hubkeeper check` --------------------------------------------------------------

    def image_user(self) -> str:
        result = docker("image", "inspect", "--format", "{{json .Config}}", self.image)
        if result.returncode:
            raise CheckFailed(result.stderr.strip())
        config = json.loads(result.stdout)
        user, entrypoint, cmd = config.get("User"), config.get("Entrypoint"), config.get("Cmd")
        health = config.get("Healthcheck")
        if user != f"{UID}:{UID}" or entrypoint != ["hubkeeper"] or cmd != ["serve"] or not health:
            raise CheckFailed(f"User={user!r} Entrypoint={entrypoint} Cmd={cmd} Healthcheck={health}")
        return f"User {user}, ENTRYPOINT {entrypoint}, CMD {cmd}, HEALTHCHECK set"

    def run_check(self, secrets: list[str]) -> subprocess.CompletedProcess[str]:
        return docker("run", "--rm", "--network", "host", "--read-only", *self.hub, *secrets, self.image, "check")

    def check(self) -> str:
        result = self.run_check(secret_args(self.secrets, self.folder))
        output = result.stdout + result.stderr
        if result.returncode != 0 or "FAIL" in output:
            raise CheckFailed(f"exit {result.returncode}: {output.strip()}")
        if leaked(output):
            raise CheckFailed(f"the output shows {leaked(output)}")
        passed = sum(line.strip().startswith("PASS") for line in output.splitlines())
        return f"exit 0, {passed} checks passed (secrets as {self.secrets})"

    def check_wrong_token(self) -> str:
        """The same command fails, and says why, when the OAT is wrong: `check` really checks."""
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "dockerhub_oat").write_text("dckr_oat_NotTheRightToken0000000\n", encoding="utf-8")
            if self.secrets == "env":
                secrets = ["-e", "DOCKERHUB_OAT=dckr_oat_NotTheRightToken0000000"]
            else:
                Path(folder).chmod(0o755)
                (Path(folder) / "dockerhub_oat").chmod(0o444)
                secrets = ["-v", f"{folder}:{SECRETS_DIR}:ro", "-e", f"DOCKERHUB_OAT_FILE={SECRETS_DIR}/dockerhub_oat"]
            result = self.run_check(secrets)
        output = result.stdout + result.stderr
        if result.returncode == 0 or "401" not in output:
            raise CheckFailed(f"exit {result.returncode}: {output.strip()}")
        return f"exit {result.returncode}, Docker Hub's 401 reported"

    def kubernetes_config(self) -> str:
        """`hubkeeper check` with deploy/kubernetes/'s wiring: the Deployment's env and mounts, the
        ConfigMap's TOML (pointed at the emulator) and the example Secret's keys as files."""
        resources = {
            doc["kind"]: doc for path in KUBERNETES.rglob("*.yaml") for doc in yaml.safe_load_all(path.read_text())
        }
        pod = resources["Deployment"]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        secret_values = {"dockerhub-oat": DEMO.oat, "slack-bot-token": SECRETS["SLACK_BOT_TOKEN"][1]}
        args = ["--user", f"{pod['securityContext']['runAsUser']}:{pod['securityContext']['runAsGroup']}"]
        args += ["--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
        with tempfile.TemporaryDirectory() as folder:
            Path(folder).chmod(0o755)
            for mount in container["volumeMounts"]:
                volume, source = volumes[mount["name"]], Path(folder) / mount["name"]
                if "emptyDir" in volume:
                    args += ["--tmpfs", mount["mountPath"]]
                    continue
                source.mkdir(mode=0o755)
                if "configMap" in volume:
                    for key, text in resources["ConfigMap"]["data"].items():
                        # The one change: the instances talk to the emulator, not to Docker Hub.
                        text = re.sub(r"^(\[instances\.[^]]+\])$", rf'\1\napi_url = "{self.hub_url}"', text, flags=re.M)
                        (source / key).write_text(text, encoding="utf-8")
                else:
                    for item in volume["secret"]["items"]:
                        value = secret_values.get(item["key"], "unused-by-check\n")
                        (source / item["path"]).write_text(value + "\n", encoding="utf-8")
                for file in source.iterdir():
                    file.chmod(0o444)
                args += ["-v", f"{source}:{mount['mountPath']}:ro"]
            for variable in container["env"]:
                if "value" in variable:
                    args += ["-e", f"{variable['name']}={variable['value']}"]
            result = docker("run", "--rm", "--network", "host", "--read-only", *args, self.image, "check")
        output = result.stdout + result.stderr
        if result.returncode != 0 or "FAIL" in output or leaked(output):
            raise CheckFailed(f"exit {result.returncode}: {output.strip()}")
        return "exit 0 with the Deployment's env and mounts, the ConfigMap's TOML and the Secret's files"

    # -- `serve --http` ---------------------------------------------------------------------------

    def start_serve(self, database_url: str) -> None:
        result = docker(
            "run", "--detach", "--name", self.container, "--network", "host",
            "--read-only", "--tmpfs", "/tmp", "--tmpfs", f"/data:uid={UID},gid={UID}",
            "--health-interval", "2s", "--health-start-period", "5s",
            *self.hub, *secret_args(self.secrets, self.folder),
            "-e", f"HUBKEEPER_DATABASE_URL={database_url}", "-e", "SLACK_API_URL=http://127.0.0.1:9/api/",
            "-e", "HUBKEEPER_LOG_FORMAT=json",
            self.image, "serve", "--http", "--port", str(self.port),
        )  # fmt: skip
        if result.returncode:
            raise RuntimeError(f"docker run failed: {result.stderr.strip()}")

    def exited(self) -> str:
        state = docker("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", self.container).stdout.strip()
        if state.startswith("running"):
            return ""
        return f"the container stopped ({state}): {self.logs()[-800:]}"

    def logs(self) -> str:
        result = docker("logs", self.container)
        return result.stdout + result.stderr

    def healthz(self) -> str:
        status, _, body = poll(self.base_url() + "/healthz", 200, 60, self.exited)
        if status != 200:
            raise CheckFailed(self.exited() or f"/healthz answered {status}: {body[:200]}")
        return f"200 {body.strip()}"

    def readyz(self) -> str:
        status, _, body = poll(self.base_url() + "/readyz", 200, 30, self.exited)
        if status != 200:
            raise CheckFailed(self.exited() or f"/readyz answered {status}: {body[:300]}")
        return f"200 {body.strip()[:120]}"

    def metrics(self) -> str:
        try:
            status, content_type, body = get(self.base_url() + "/metrics")
        except OSError as error:
            raise CheckFailed(self.exited() or f"/metrics: {error}") from None
        names = {line.split("{")[0].split(" ")[0] for line in body.splitlines() if not line.startswith("#")}
        wanted = {"hubkeeper_build_info", "hubkeeper_token_exchanges_total"}
        if status != 200 or not content_type.startswith("text/plain") or not wanted <= names:
            raise CheckFailed(f"{status} {content_type!r}, missing {sorted(wanted - names)}: {body[:200]}")
        return f"200 {content_type}, {len(names)} series incl. {', '.join(sorted(wanted))}"

    def process_uid(self) -> str:
        pid = docker("inspect", "--format", "{{.State.Pid}}", self.container).stdout.strip()
        if not pid or pid == "0":
            raise CheckFailed(self.exited() or "no process")
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
        uids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
        gids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Gid:"))
        if set(uids) != {str(UID)} or set(gids) != {str(UID)}:
            raise CheckFailed(f"process {pid} runs with Uid {uids}, Gid {gids}")
        return f"process {pid}: uid and gid {UID} (real, effective, saved, fs)"

    def docker_health(self) -> str:
        deadline = time.monotonic() + 30
        health = ""
        while time.monotonic() < deadline:
            health = docker("inspect", "--format", "{{.State.Health.Status}}", self.container).stdout.strip()
            if health in ("healthy", "unhealthy") or self.exited():
                break
            time.sleep(1)
        if health != "healthy":
            raise CheckFailed(self.exited() or f"HEALTHCHECK status {health!r}")
        return "the image's HEALTHCHECK reports healthy"

    def no_secrets_in_logs(self) -> str:
        logs = self.logs()
        if leaked(logs):
            raise CheckFailed(f"the logs show {leaked(logs)}")
        return f"{len(logs.splitlines())} log lines, no secret in them"

    def json_logs(self) -> str:
        """What compose and Kubernetes run with: every line a JSON object a log pipeline can read."""
        lines = [line for line in self.logs().splitlines() if line.strip()]
        for line in lines:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                raise CheckFailed(f"not JSON: {line[:200]}") from None
            if not isinstance(record, dict) or not {"time", "level", "logger", "message"} <= record.keys():
                raise CheckFailed(f"not a log record: {line[:200]}")
        if not lines:
            raise CheckFailed("serve logged nothing")
        return f"{len(lines)} lines, each a JSON record"

    def sigterm(self) -> str:
        started = time.monotonic()
        docker("stop", "--time", "25", self.container, timeout=40)
        took = time.monotonic() - started
        code = docker("inspect", "--format", "{{.State.ExitCode}}", self.container).stdout.strip()
        if code != "0" or took > 20:
            raise CheckFailed(f"exit code {code} after {took:.1f}s: {self.logs()[-500:]}")
        return f"exit 0 in {took:.1f}s"

    def remove(self) -> None:
        docker("rm", "--force", self.container)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", default="hubkeeper:latest")
    parser.add_argument("--secrets", choices=["file", "env"], default="file", help="how secrets reach the containers")
    parser.add_argument("--skip", action="append", default=[], choices=CHECKS, help="leave this check out")
    args = parser.parse_args()

    if docker("info").returncode:
        print("FAIL  no Docker engine answers (start dockerd)")
        return 1
    report = Report(skip=set(args.skip))
    with emulator() as hub_url, secret_files() as folder, postgres_database() as database_url:
        test = ImageTest(args.image, args.secrets, report, hub_url, folder)
        report.run("image-user", test.image_user)
        report.run("check", test.check)
        report.run("check-wrong-token", test.check_wrong_token)
        report.run("kubernetes-config", test.kubernetes_config)
        test.start_serve(database_url)
        try:
            report.run("healthz", test.healthz)
            report.run("readyz", test.readyz)
            report.run("metrics", test.metrics)
            report.run("process-uid", test.process_uid)
            report.run("docker-health", test.docker_health)
            report.run("sigterm", test.sigterm)
            # The whole run's logs, shutdown included.
            report.run("no-secrets-in-logs", test.no_secrets_in_logs)
            report.run("json-logs", test.json_logs)
        finally:
            if report.failures:
                print(f"--- the serve container's last log lines ---\n{test.logs()[-2000:]}")
            test.remove()
    skipped = f", skipped: {', '.join(sorted(report.skip))}" if report.skip else ""
    if report.failures:
        print(f"image-test: {len(report.failures)} failed: {', '.join(report.failures)}{skipped}")
        return 1
    print(f"image-test: all checks passed{skipped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

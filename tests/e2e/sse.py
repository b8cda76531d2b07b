"""A small Server-Sent Events client for tests: reads a stream on a thread and keeps what
arrives, with the id of each position as the browser's EventSource would track it."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    """One dispatched event, and the last event id once it was dispatched."""

    name: str
    data: dict[str, Any]
    last_id: str


class Stream:
    """``GET /api/v1/me/stream`` held open on a thread until :meth:`close`."""

    def __init__(self, port: int, token: str, last_event_id: str | None = None) -> None:
        self.events: list[Event] = []
        self.last_id = last_event_id or ""
        self.comments = 0
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self._conn.request("GET", "/api/v1/me/stream", headers=headers)
        self.response = self._conn.getresponse()
        self.status = self.response.status
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        if self.status == 200:
            self._thread.start()

    def _read(self) -> None:
        name, data = "message", ""
        try:
            while line := self.response.readline():
                text = line.decode().rstrip("\n")
                if text == "":
                    if data:
                        with self._lock:
                            self.events.append(Event(name, json.loads(data), self.last_id))
                    name, data = "message", ""
                elif text.startswith(":"):
                    self.comments += 1
                else:
                    field, _, value = text.partition(": ")
                    if field == "event":
                        name = value
                    elif field == "data":
                        data += value
                    elif field == "id":
                        self.last_id = value
        except (OSError, ValueError, AttributeError):  # closed under the reader
            return

    def of(self, name: str) -> list[dict[str, Any]]:
        """The data of every event of one name so far."""
        with self._lock:
            return [event.data for event in self.events if event.name == name]

    def wait_for(self, done: Callable[[Stream], bool], timeout: float = 10) -> None:
        """Until ``done(self)`` holds (bounded)."""
        deadline = time.monotonic() + timeout
        while not done(self):
            assert time.monotonic() < deadline, f"not received in time: {self.events}"
            time.sleep(0.05)

    def close(self) -> None:
        """Drop the connection (a shutdown wakes the reader blocked on it)."""
        if self._conn.sock is not None:
            with contextlib.suppress(OSError):
                self._conn.sock.shutdown(socket.SHUT_RDWR)
        if self._thread.is_alive():
            self._thread.join(10)
        self._conn.close()

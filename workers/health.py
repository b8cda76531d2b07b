"""Health a container runtime can check: the worker's heartbeat file and the API's /healthz.

``ticketing worker`` rewrites its heartbeat file (``TICKETING_WORKER_HEARTBEAT_FILE``) every
``BEAT`` seconds while every one of its parts runs and the database answers; a worker stuck or
cut off from the database lets it age. ``ticketing health worker`` and ``ticketing health api``
exit 0 when healthy and 1 with the reason otherwise (Docker's and Compose's health checks).
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)
BEAT = 5.0  # seconds between heartbeats
MAX_AGE = 30.0  # a heartbeat older than this means unhealthy


def beat(path: Path) -> None:
    """Write the current time to ``path``, replacing it in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as file:
        file.write(f"{time.time():.3f}\n")
    os.replace(temporary, path)


def keep_beating(path: Path, healthy: Callable[[], str | None], stop: threading.Event) -> None:
    """Beat every ``BEAT`` seconds while ``healthy()`` names no problem, until ``stop``."""
    while not stop.is_set():
        try:
            problem = healthy()
        except Exception as error:
            problem = str(error) or type(error).__name__
        if problem is None:
            beat(path)
        else:
            log.warning("worker unhealthy, heartbeat withheld: %s", problem)
        stop.wait(BEAT)


def heartbeat_problem(path: Path, max_age: float = MAX_AGE) -> str | None:
    """Why the heartbeat in ``path`` does not show a healthy worker; None if it does."""
    try:
        written = float(path.read_text().strip())
    except FileNotFoundError:
        return f"no heartbeat at {path} yet"
    except ValueError:
        return f"{path} holds no heartbeat"
    age = time.time() - written
    if age > max_age:
        return f"the last heartbeat is {age:.0f}s old (more than {max_age:.0f}s)"
    return None


def api_problem(url: str, timeout: float = 3.0) -> str | None:
    """Why the API at ``url`` does not answer 200; None if it does."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - http(s) URL
            return None if response.status == 200 else f"{url} answered {response.status}"
    except OSError as error:
        return f"{url}: {error}"

"""Child processes that ``ticketing dev`` keeps running: restarted with back-off when they die.

Each child runs in a process group of its own, so a Ctrl-C in the terminal (which signals the
foreground group) reaches ``ticketing dev`` alone, which then stops the children in order (a
broker stopped before the worker that uses it makes the worker's Kafka clients log errors). The
children stay in dev's session, though: Linux schedules the processes of one session as one
group ("autogroup"), and a child in a session of its own got as large a share of the CPU as
everything else together: the worker then ran more often on less work each time (about two
more transactions per command), and dev spent more CPU per command and answered slower than
``ticketing serve`` and ``ticketing worker`` started from one shell (docs/benchmarks.md,
"ticketing dev").
A terminal set to stop background writers (``stty tostop``) would stop a child of another
group at its first log line on it: there, children writing to that terminal keep a session of
their own, as before. On Linux each child also gets SIGTERM if ``ticketing dev`` itself dies,
so no orphan keeps a port or the database busy.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Sequence
from typing import IO

from workers.backoff import Backoff

log = logging.getLogger(__name__)
STOP_TIMEOUT = 30.0
STABLE_AFTER = 60.0  # a child that ran this long starts its back-off afresh when it dies


def restart_delay(backoff: Backoff, ran_for: float) -> float:
    """The delay before restarting something that ran ``ran_for`` seconds and died."""
    if ran_for >= STABLE_AFTER:
        backoff.reset()
    return backoff.next()


def _die_with_parent() -> None:
    """In the child before exec: ask Linux for SIGTERM when the parent dies."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def stops_background_writers(output: IO[bytes] | int | None) -> bool:
    """Whether what a child writes to (``output``, or else this process's stdout and stderr)
    is a terminal that stops writers outside its foreground group (``stty tostop``)."""
    if output is None:
        descriptors = [1, 2]
    elif isinstance(output, int):
        descriptors = [output] if output >= 0 else []  # DEVNULL, PIPE: no terminal
    else:
        descriptors = [output.fileno()]
    for descriptor in descriptors:
        try:
            if os.isatty(descriptor) and termios.tcgetattr(descriptor)[3] & termios.TOSTOP:
                return True
        except (OSError, termios.error):
            continue
    return False


def spawn(
    argv: Sequence[str], env: dict[str, str], output: IO[bytes] | int | None = None
) -> subprocess.Popen[bytes]:
    """Start a child in a process group of its own, in this session (or, if it writes to a
    terminal that stops background writers, in a session of its own), that dies with this
    process (it reads nothing: its input is empty)."""
    own_session = stops_background_writers(output)
    return subprocess.Popen(  # noqa: S603 - our own commands
        list(argv),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
        start_new_session=own_session,
        process_group=None if own_session else 0,
        preexec_fn=_die_with_parent,
    )


def stop_process(
    process: subprocess.Popen[bytes], name: str, timeout: float = STOP_TIMEOUT
) -> None:
    """SIGTERM, wait, then SIGKILL if it does not go."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        log.warning("%s did not stop within %.0fs; killing it", name, timeout)
        process.kill()
        process.wait(timeout)


class Watched:
    """Something that must keep running: when found dead, revived after a back-off."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.restarts = 0
        self._started_at = time.monotonic()
        self._revive_at: float | None = None
        self._backoff = Backoff()

    def alive(self) -> bool:
        """Whether it still runs."""
        raise NotImplementedError

    def revive(self) -> None:
        """Start it again."""
        raise NotImplementedError

    def describe(self) -> str:
        """How it ended, for the log (its process id, its exit status)."""
        return ""

    def watch(self) -> None:
        """Revive it if it died and its back-off has passed; call this regularly."""
        now = time.monotonic()
        if self._revive_at is None:
            if self.alive():
                return
            delay = restart_delay(self._backoff, now - self._started_at)
            self._revive_at = now + delay
            log.error("%s died (%s); restarting it in %.1fs", self.name, self.describe(), delay)
        if now < self._revive_at:
            return
        try:
            self.revive()
        except Exception as error:
            delay = restart_delay(self._backoff, 0)
            self._revive_at = now + delay
            log.error(
                "%s could not be restarted (%s); trying again in %.1fs", self.name, error, delay
            )
            return
        self.restarts += 1
        self._started_at, self._revive_at = now, None
        log.warning("%s restarted (%s; restart %d)", self.name, self.describe(), self.restarts)


class Service(Watched):
    """A server ``ticketing dev`` runs through an object of its own (PostgreSQL, the broker)."""

    def __init__(
        self,
        name: str,
        alive: Callable[[], bool],
        revive: Callable[[], object],
        pid: Callable[[], int | None],
    ) -> None:
        super().__init__(name)
        self._alive, self._revive, self._pid = alive, revive, pid

    def alive(self) -> bool:
        """Whether the server still runs."""
        return self._alive()

    def revive(self) -> None:
        """Start the server again."""
        self._revive()

    def describe(self) -> str:
        """The process id it had."""
        return f"pid {self._pid()}"


class Child(Watched):
    """A child process of ours (the API, the worker), restarted with back-off when it dies."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Callable[[], dict[str, str]],
        output: IO[bytes] | None = None,
    ) -> None:
        super().__init__(name)
        self.argv, self.env, self.output = list(argv), env, output
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The running process's id."""
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        """Start the process now."""
        self.process = spawn(self.argv, self.env(), self.output)
        log.info("%s started (pid %d)", self.name, self.process.pid)

    def alive(self) -> bool:
        """Whether the process runs (a child never started or stopped on purpose counts)."""
        return self.process is None or self.process.poll() is None

    def revive(self) -> None:
        """Start the process again."""
        self.start()

    def describe(self) -> str:
        """Its process id and exit status."""
        if self.process is None:
            return ""
        status = self.process.poll()
        return f"pid {self.process.pid}" + ("" if status is None else f", exit status {status}")

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the process; it is not restarted afterwards."""
        if self.process is not None:
            stop_process(self.process, self.name, timeout)
            log.info("%s stopped", self.name)
        self.process = None


def python_command(*arguments: str) -> list[str]:
    """``python -m workers.cli ...`` with this interpreter."""
    return [sys.executable, "-m", "workers.cli", *arguments]


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this id exists (a zombie counts as gone)."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True

"""How ``ticketing dev`` starts its children (``workers.supervisor.spawn``)."""

from __future__ import annotations

import os
import sys
import termios

import pytest

from workers.supervisor import spawn, stop_process, stops_background_writers


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_child_has_a_group_of_its_own_in_this_session_and_reads_nothing() -> None:
    child = spawn([sys.executable, "-c", "import time; time.sleep(60)"], dict(os.environ))
    try:
        # its own group: a Ctrl-C, which the terminal sends to the foreground group, misses it
        assert os.getpgid(child.pid) == child.pid != os.getpgid(0)
        # but this session: Linux schedules a session as one group (autogroup); a child in a
        # session of its own got as much CPU as everything else, and dev paid for it
        assert os.getsid(child.pid) == os.getsid(0)
        # a session no setsid made since boot (PID 1's, session 0) is in the kernel's default
        # autogroup, shown as an empty file: so it was on CI; two empty files are one group too
        with open(f"/proc/{child.pid}/autogroup") as theirs, open("/proc/self/autogroup") as ours:
            assert theirs.read().split()[:1] == ours.read().split()[:1]
        assert os.readlink(f"/proc/{child.pid}/fd/0") == os.devnull
    finally:
        stop_process(child, "sleeper", timeout=10)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux terminals")
def test_a_child_writing_to_a_tostop_terminal_keeps_a_session_of_its_own() -> None:
    leader, follower = os.openpty()
    try:
        with os.fdopen(os.dup(follower), "wb") as terminal:
            assert not stops_background_writers(terminal)
            attributes = termios.tcgetattr(follower)
            attributes[3] |= termios.TOSTOP  # stty tostop
            termios.tcsetattr(follower, termios.TCSANOW, attributes)
            assert stops_background_writers(terminal)
            # in a group of its own, its first line there would stop it: a session of its own
            child = spawn([sys.executable, "-c", "import time; time.sleep(60)"], {}, terminal)
            try:
                assert os.getsid(child.pid) == child.pid != os.getsid(0)
            finally:
                stop_process(child, "sleeper", timeout=10)
    finally:
        os.close(leader)
        os.close(follower)

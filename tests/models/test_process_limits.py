"""run_limited: each limit stops a real process (and everything it started), and cancelling does too."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from fireside.process_limits import Cancelled, Limits, run_limited


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def live_members(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that are still running (a zombie has ended: it only waits to be reaped)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        state, _parent, group = stat.rsplit(")", 1)[1].split()[:3]
        if int(group) == pgid and state != "Z":
            members.append(int(entry))
    return members


def group_is_gone(pgid: int) -> bool:
    deadline = time.monotonic() + 10  # SIGKILL is delivered asynchronously
    while live_members(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# A process that leaves a sleeping grandchild in its group, then does what the test asks.
FORK_A_SLEEPER = "import os, sys, time\nif os.fork() == 0:\n    time.sleep(600)\n    os._exit(0)\nprint(os.getpid(), flush=True)\n"


def test_the_wall_clock_timeout_kills_the_whole_group():
    started: list[int] = []
    outcome = run_limited(python(FORK_A_SLEEPER + "time.sleep(600)\n"), Limits(wall_seconds=1.0), on_start=started.append)
    assert outcome.timed_out and "longer than 1 s" in outcome.describe()
    assert group_is_gone(started[0]), "the sleeping grandchild went with it"


def test_a_process_that_exits_leaves_no_grandchild_behind():
    started: list[int] = []
    outcome = run_limited(python(FORK_A_SLEEPER), Limits(wall_seconds=60), on_start=started.append)
    assert outcome.returncode == 0 and outcome.describe() == "" and not outcome.timed_out
    assert outcome.stdout.strip() == str(started[0]).encode()
    assert group_is_gone(started[0])


def test_the_cpu_limit_stops_a_busy_loop():
    outcome = run_limited(python("while True:\n    pass\n"), Limits(wall_seconds=120, cpu_seconds=1))
    assert not outcome.timed_out
    assert "CPU" in outcome.describe(), outcome.describe()


def test_the_memory_limit_makes_big_allocations_fail():
    code = "try:\n    block = bytearray(2 << 30)\nexcept MemoryError:\n    print('refused')\nelse:\n    print('allocated')\n"
    outcome = run_limited(python(code), Limits(wall_seconds=60, address_space_bytes=512 << 20))
    assert outcome.stdout.strip() == b"refused"
    assert run_limited(python(code), Limits(wall_seconds=60)).stdout.strip() == b"allocated", "the limit made the difference"


def test_output_is_capped():
    outcome = run_limited(python("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n"), Limits(wall_seconds=60, output_bytes=1 << 20))
    assert len(outcome.stdout) <= 1 << 20
    assert "wrote more than 1 MiB" in outcome.describe()


def test_cancel_kills_the_group_and_raises(tmp_path: Path):
    cancel = threading.Event()
    started: list[int] = []

    def on_start(pid: int) -> None:
        started.append(pid)
        threading.Timer(0.5, cancel.set).start()

    with pytest.raises(Cancelled):
        run_limited(python(FORK_A_SLEEPER + "time.sleep(600)\n"), Limits(wall_seconds=600), cancel=cancel, on_start=on_start)
    assert group_is_gone(started[0])


def test_the_environment_is_reduced_and_the_directory_a_scratch_one(monkeypatch):
    monkeypatch.setenv("FIRESIDE_TEST_SECRET", "do-not-leak")
    outcome = run_limited(python("import os\nprint(os.environ.get('FIRESIDE_TEST_SECRET'), os.listdir('.'), os.getcwd())"), Limits(wall_seconds=60))
    secret, listing, cwd = outcome.stdout.decode().split(" ", 2)
    assert secret == "None" and listing == "[]" and "fireside-run-" in cwd

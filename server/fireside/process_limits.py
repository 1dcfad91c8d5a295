"""Run a command under limits: its own process group, a scratch working directory, rlimits set before
the command's first instruction, output captured up to a cap, and the whole group killed on a
wall-clock timeout or when the caller cancels.

The rlimits are set by a tiny launcher (``python -I -c``, standard library only) that then ``exec``s
the command: limits survive ``exec``, and nothing of the command runs before they are in force. (A
``preexec_fn`` would do the same but is unsafe in a process with threads, which the server is.)
Unix only (``resource``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

POLL_S = 0.05
_LAUNCHER = (
    "import json, os, resource, sys\n"
    "for name, (soft, hard) in json.loads(sys.argv[1]).items():\n"
    "    resource.setrlimit(getattr(resource, name), (soft, hard))\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)
# What a Python program needs of the caller's environment; nothing else (no API keys, no tokens).
ENVIRONMENT_KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "LD_LIBRARY_PATH", "PYTHONPATH", "SYSTEMROOT")


@dataclass(frozen=True)
class Limits:
    wall_seconds: float  # the whole group is killed after this long
    cpu_seconds: int | None = None  # RLIMIT_CPU: SIGXCPU at this many seconds of CPU, SIGKILL 5 s later
    address_space_bytes: int | None = None  # RLIMIT_AS: allocations beyond it fail
    output_bytes: int = 8 << 20  # RLIMIT_FSIZE, and the most of stdout/stderr read back

    def rlimits(self) -> dict[str, tuple[int, int]]:
        limits = {"RLIMIT_CORE": (0, 0), "RLIMIT_FSIZE": (self.output_bytes, self.output_bytes)}
        if self.cpu_seconds is not None:
            limits["RLIMIT_CPU"] = (self.cpu_seconds, self.cpu_seconds + 5)
        if self.address_space_bytes is not None:
            limits["RLIMIT_AS"] = (self.address_space_bytes, self.address_space_bytes)
        return limits


class Cancelled(Exception):
    """The caller cancelled the run; the process group was killed."""


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: bytes
    stderr: bytes  # its last ``output_bytes`` at most
    timed_out: bool
    limits: Limits
    output_full: bool = False  # stdout or stderr reached the output limit (Python ignores SIGXFSZ: writes fail)

    @property
    def signal(self) -> int | None:
        return -self.returncode if self.returncode < 0 else None

    def describe(self) -> str:
        """Why the process ended, for users (\"\" for a plain exit)."""
        if self.timed_out:
            return f"took longer than {self.limits.wall_seconds:.0f} s and was stopped"
        if self.output_full and self.returncode != 0:
            return f"wrote more than {self.limits.output_bytes >> 20} MiB and was stopped"
        number = self.signal
        if number is None:
            return "" if self.returncode == 0 else f"exited with status {self.returncode}"
        if number == signal.SIGXCPU:
            return f"used more than {self.limits.cpu_seconds} s of CPU time and was stopped"
        if number == signal.SIGKILL:
            return "was killed (SIGKILL: at its CPU limit, or the system ran out of memory)"
        if number == signal.SIGXFSZ:
            return f"wrote more than {self.limits.output_bytes >> 20} MiB and was stopped"
        name = signal.Signals(number).name
        if self.limits.address_space_bytes is not None and number in (signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS):
            return f"crashed ({name}), likely at its memory limit of {self.limits.address_space_bytes >> 20} MiB"
        return f"was killed by {name}"


def reduced_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    environment = {key: os.environ[key] for key in ENVIRONMENT_KEPT if key in os.environ}
    environment.update(extra or {})
    return environment


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _exited(process: subprocess.Popen[bytes]) -> bool:
    """Whether the group leader has exited — without reaping it, so that its pid (the group's id) cannot be
    reused before the group is killed."""
    if hasattr(os, "waitid"):
        try:
            return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True
    return process.poll() is not None


def _tail(path: Path, limit: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - limit))
        return handle.read(limit)


def run_limited(
    argv: Sequence[str],
    limits: Limits,
    *,
    cancel: threading.Event | None = None,
    env: Mapping[str, str] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> Outcome:
    """Run ``argv`` to its end, its timeout, or ``cancel`` (then raise Cancelled). Its working directory
    is a fresh scratch directory (removed afterwards); ``env`` defaults to :func:`reduced_environment`.
    ``on_start`` gets the process (and group) id. No process of the group outlives this call."""
    with tempfile.TemporaryDirectory(prefix="fireside-run-") as scratch:
        work = Path(scratch) / "cwd"
        work.mkdir()
        out_path, err_path = Path(scratch) / "stdout", Path(scratch) / "stderr"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            process = subprocess.Popen(
                [sys.executable, "-I", "-c", _LAUNCHER, json.dumps(limits.rlimits()), *argv],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=work,
                env=dict(env) if env is not None else reduced_environment(), start_new_session=True,
            )
        timed_out = cancelled = False
        try:
            if on_start is not None:
                on_start(process.pid)
            deadline = time.monotonic() + limits.wall_seconds
            while not _exited(process):
                if cancel is not None and cancel.is_set():
                    cancelled = True
                    break
                if time.monotonic() >= deadline:
                    timed_out = True
                    break
                time.sleep(POLL_S)
        finally:
            _kill_group(process.pid)  # the leader is not reaped yet: the group id is still ours
            process.wait()
        if cancelled:
            raise Cancelled()
        full = max(out_path.stat().st_size, err_path.stat().st_size) >= limits.output_bytes
        stdout = out_path.read_bytes()[: limits.output_bytes]
        return Outcome(process.returncode, stdout, _tail(err_path, limits.output_bytes), timed_out, limits, full)

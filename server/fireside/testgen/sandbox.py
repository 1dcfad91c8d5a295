"""Where user code runs: the generated tests, and the module they import, never run in fireside's process.

Each run is a child process in a fresh process group, started in a scratch directory with an environment
reduced to what Python needs (none of the server's API keys or other secrets), with `RLIMIT_AS`,
`RLIMIT_NPROC`, `RLIMIT_FSIZE` and CPU time set by `_boot.py` before anything else is imported. Its
stdout and stderr are read as they come and only the last `Limits.output_bytes` of each are kept, so a
test printing a gigabyte costs the server nothing. On timeout or cancellation the whole group is killed,
and it is killed again when the run ends, so nothing it forked stays behind. One run at a time.

Where `unshare` can make user and network namespaces (Linux, unprivileged user namespaces allowed) the run
also gets no network (only a downed loopback) and its own PID namespace: when the run ends the kernel kills
every process in it, even one that left the process group with `setsid`. Elsewhere the run goes ahead
without, and `isolation()` says so (the CLI and the editor tell the user once).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Limits", "RunCancelled", "RunOutput", "isolation", "reduced_environment", "run_python", "scratch_directory"]

logger = logging.getLogger(__name__)

BOOT_NAME = "_fireside_boot.py"
_BOOT = Path(__file__).with_name("_boot.py")
# Variables a Python process needs to find itself, its locale and its time zone; nothing else passes.
_KEPT_VARIABLES = ("PATH", "LANG", "LANGUAGE", "TZ", "SYSTEMROOT", "PYTHONPATH")
_RUN_LOCK = threading.Lock()
_UNSHARE = ["--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child"]


class RunCancelled(Exception):
    """The run was cancelled (its process group is already killed)."""


@dataclass(frozen=True)
class Limits:
    memory_mb: int = 4096  # address space: a generated "x" * 10**12 fails with MemoryError, not swap
    extra_processes: int = 64  # above what the user already runs (the kernel does not apply it to root)
    file_mb: int = 512  # the largest file the run may write
    output_bytes: int = 256 * 1024  # kept of each of stdout and stderr (the tail)


@dataclass
class RunOutput:
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool = False
    output_dropped: int = 0  # bytes of stdout + stderr read and thrown away


@dataclass(frozen=True)
class Isolation:
    prefix: tuple[str, ...]  # the command that wraps each run (empty: none)
    note: str | None  # why there is no network/PID isolation, when there is none


_isolation: Isolation | None = None
_isolation_lock = threading.Lock()


def isolation() -> Isolation:
    """Whether runs get no network and their own PID namespace here (probed once per process)."""
    global _isolation
    with _isolation_lock:
        if _isolation is None:
            _isolation = _probe_isolation()
            if _isolation.note:
                logger.warning("fireside testgen: %s", _isolation.note)
        return _isolation


def _probe_isolation() -> Isolation:
    if os.environ.get("FIRESIDE_TESTGEN_NO_UNSHARE") == "1":
        return Isolation((), "tests run with network access: isolation switched off (FIRESIDE_TESTGEN_NO_UNSHARE=1)")
    unshare = shutil.which("unshare")
    if unshare is None or not sys.platform.startswith("linux"):
        return Isolation((), "tests run with network access: `unshare` is not available on this system")
    prefix = (unshare, *_UNSHARE, "--")
    try:
        probe = subprocess.run([*prefix, sys.executable, "-c", "pass"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return Isolation((), f"tests run with network access: `unshare` failed ({error})")
    if probe.returncode != 0:
        reason = probe.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no reason given"]
        return Isolation((), f"tests run with network access: `unshare` is not allowed here ({reason[0]})")
    return Isolation(prefix, None)


def reduced_environment(pythonpath: Sequence[str], home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """PATH, locale, time zone, PYTHONPATH (`pythonpath` first), HOME and TMPDIR in the scratch directory,
    fireside's own FIRESIDE_TESTGEN_* knobs, and `extra`. Nothing else of this process's environment."""
    env = {name: os.environ[name] for name in _KEPT_VARIABLES if name in os.environ}
    env.update({name: value for name, value in os.environ.items() if name.startswith("LC_")})
    env.update({name: value for name, value in os.environ.items() if name.startswith("FIRESIDE_TESTGEN_")})
    paths = [str(p) for p in pythonpath] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    env.setdefault("PATH", os.defpath)
    env.update(HOME=str(home), TMPDIR=str(home), PYTHONDONTWRITEBYTECODE="1", PYTHONIOENCODING="utf-8")
    env.update(extra or {})
    return env


@contextlib.contextmanager
def scratch_directory(prefix: str = "fireside-testgen-") -> Iterator[Path]:
    """A fresh directory for one run (or a few runs of one job), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix) as scratch:
        yield Path(scratch)


def _user_processes() -> int:
    uid = os.getuid()
    try:
        return sum(1 for entry in os.scandir("/proc") if entry.name.isdigit() and entry.stat().st_uid == uid)
    except OSError:
        return 1024  # no /proc: a generous guess


def _limits_argument(limits: Limits, timeout: float) -> str:
    return json.dumps({
        "memory": limits.memory_mb * 2**20,
        "processes": _user_processes() + limits.extra_processes,
        "file_size": limits.file_mb * 2**20,
        "cpu": int(timeout) + 5,  # CPU seconds can only trail the wall-clock limit; a backstop for it
    })


class _Tail:
    """Reads a pipe to its end on a thread, keeping only the last `cap` bytes."""

    def __init__(self, pipe, cap: int) -> None:  # noqa: ANN001 - a binary file object
        self.cap, self.data, self.dropped = cap, bytearray(), 0
        self._pipe = pipe
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            while chunk := os.read(self._pipe.fileno(), 65536):
                self.data += chunk
                if len(self.data) > self.cap:
                    self.dropped += len(self.data) - self.cap
                    del self.data[: len(self.data) - self.cap]
        except (OSError, ValueError):
            pass

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


def _kill_group(process: subprocess.Popen) -> None:  # type: ignore[type-arg]
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _acquire(cancel: threading.Event | None) -> None:
    while not _RUN_LOCK.acquire(timeout=0.2):
        if cancel is not None and cancel.is_set():
            raise RunCancelled("cancelled while waiting for another test run")


def run_python(
    argv: Sequence[str],
    *,
    python: str | None,
    scratch: Path,
    pythonpath: Sequence[str] = (),
    timeout: float,
    cancel: threading.Event | None = None,
    limits: Limits | None = None,
    env: dict[str, str] | None = None,
) -> RunOutput:
    """Run `python argv...` (a script in `scratch`, or `-m module`) sandboxed, at most `timeout` seconds.

    Raises RunCancelled when `cancel` is set before or during the run (the group is killed first).
    """
    limits = limits or Limits()
    boot = scratch / BOOT_NAME
    if not boot.exists():
        shutil.copyfile(_BOOT, boot)
    wrapper = isolation().prefix
    command = [*wrapper, python or sys.executable, str(boot), _limits_argument(limits, timeout), *argv]
    _acquire(cancel)
    try:
        if cancel is not None and cancel.is_set():
            raise RunCancelled("cancelled")
        process = subprocess.Popen(
            command, cwd=scratch, env=reduced_environment(pythonpath, scratch, env), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        )
        out, err = _Tail(process.stdout, limits.output_bytes), _Tail(process.stderr, limits.output_bytes)
        deadline = time.monotonic() + timeout
        timed_out = cancelled = False
        try:
            while True:
                try:
                    process.wait(timeout=0.1)
                    break
                except subprocess.TimeoutExpired:
                    if cancel is not None and cancel.is_set():
                        cancelled = True
                    elif time.monotonic() > deadline:
                        timed_out = True
                    else:
                        continue
                    _kill_group(process)
                    process.wait()
                    break
        finally:
            _kill_group(process)  # whatever it forked into its group goes with it
            if process.poll() is None:
                process.kill()
                process.wait()
        for tail in (out, err):
            # A process that escaped the group (no PID namespace here) may hold the pipe open: stop waiting.
            tail.thread.join(timeout=5)
            with contextlib.suppress(OSError):
                tail._pipe.close()
        if cancelled:
            raise RunCancelled("cancelled")
        return RunOutput(process.returncode, out.text(), err.text(), timed_out, out.dropped + err.dropped)
    finally:
        _RUN_LOCK.release()

"""Runs `fireside monitor --output jsonl` as a child process for the editor server.

The child's stdout carries one JSON object per line (see :mod:`fireside.monitor.cli`); alerts go
to ``on_alert(alert_dict)``, state changes to ``on_status(text)``. When the child dies it is
restarted with exponential backoff (reset once a child has stayed up for ``stable_after``
seconds). Its stderr is forwarded to this process' logging. Nothing here raises into the caller:
failures to start or callbacks that throw are logged and reported through ``on_status``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

log = logging.getLogger(__name__)
child_log = logging.getLogger("fireside.monitor.child")


def monitor_argv(
    prometheus_url: str,
    queries: Sequence[str] = (),
    alertmanager_url: str | None = None,
    config_file: str | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """The command line the editor server should supervise."""
    argv = [
        sys.executable, "-m", "fireside", "monitor", "--output", "jsonl", "--parent-pid", str(os.getpid()),
        "--prometheus", prometheus_url,
    ]
    if alertmanager_url:
        argv += ["--alertmanager", alertmanager_url]
    if config_file:
        argv += ["--config", config_file]
    for query in queries:
        argv.append(f"--query={query}")  # "=" keeps a query that starts with "-" a value
    return argv + list(extra)


class MonitorSupervisor:
    def __init__(
        self,
        argv: list[str],
        on_alert: Callable[[dict[str, Any]], None],
        on_status: Callable[[str], None],
        *,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        stable_after: float = 60.0,
        terminate_timeout: float = 5.0,
    ) -> None:
        self.argv = list(argv)
        self.on_alert = on_alert
        self.on_status = on_status
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.stable_after = stable_after
        self.terminate_timeout = terminate_timeout
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0  # how many children were started (1 + restarts)
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self) -> None:
        if self._task is None or self._task.done():
            self._stopping = False
            self._task = asyncio.create_task(self._supervise(), name="fireside-monitor-supervisor")

    async def stop(self) -> None:
        self._stopping = True
        try:
            await self._terminate()
            if self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._task
        except Exception:  # stop() must never fail the editor's shutdown
            log.exception("stopping the monitor failed")
        self._task = None

    async def _terminate(self) -> None:
        process = self.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), self.terminate_timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    def _status(self, text: str) -> None:
        try:
            self.on_status(text)
        except Exception:
            log.exception("on_status callback failed")

    async def _supervise(self) -> None:
        delay = self.backoff_initial
        while not self._stopping:
            started = time.monotonic()
            code = await self._run_child()
            if self._stopping:
                break
            if time.monotonic() - started >= self.stable_after:
                delay = self.backoff_initial  # it had been healthy: restart promptly
            self._status(f"fireside monitor exited ({code}); restarting in {delay:.1f}s")
            await asyncio.sleep(delay)
            delay = min(self.backoff_max, delay * 2)

    async def _run_child(self) -> int | str:
        try:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, limit=1 << 20,
            )
        except Exception as exc:  # missing interpreter, bad argv, out of processes
            log.warning("could not start fireside monitor: %s", exc)
            return f"not started: {exc}"
        self.starts += 1
        self._status(f"fireside monitor started (pid {self.process.pid})")
        assert self.process.stdout is not None and self.process.stderr is not None
        try:
            await asyncio.gather(self._read_stdout(self.process.stdout), self._read_stderr(self.process.stderr))
        except Exception:  # e.g. an over-long line: treat as a dead child and restart it
            log.exception("reading the monitor's output failed")
            await self._terminate()
        return await self.process.wait()

    async def _read_stdout(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            try:
                message = json.loads(line)
            except ValueError:
                log.debug("monitor printed a non-JSON line: %r", line[:200])
                continue
            if not isinstance(message, dict):
                continue
            try:
                if message.get("type") == "alert" and isinstance(message.get("alert"), dict):
                    self.on_alert(message["alert"])
                elif message.get("type") == "status":
                    self.on_status(f"fireside monitor {message.get('state')}: {message.get('message')}")
            except Exception:
                log.exception("alert/status callback failed")

    async def _read_stderr(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            child_log.info("%s", line.decode(errors="replace").rstrip())

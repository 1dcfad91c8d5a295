"""The editor-side supervisor, with a real `fireside monitor` child process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from fireside.monitor.supervisor import MonitorSupervisor, monitor_argv
from tests.support.monitor_services import METRIC, Service, needs_services


async def wait_for(predicate, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.05)


@pytest.mark.services
@needs_services
async def test_supervisor_relays_alerts_and_restarts_a_killed_worker(prometheus: Service, tmp_path: Path) -> None:
    alerts: list[dict] = []
    statuses: list[str] = []
    argv = monitor_argv(prometheus.url, [METRIC],
                        extra=["--model-dir", str(tmp_path), "--interval", "3600", "--score-window", "3600"])
    supervisor = MonitorSupervisor(argv, alerts.append, statuses.append, backoff_initial=0.2)
    await supervisor.start()
    try:
        await wait_for(lambda: len(alerts) >= 1, timeout=90)
        assert alerts[0]["labels"]["service"] == "anomalous"
        assert alerts[0]["status"] == "firing" and alerts[0]["severity"] in ("warning", "error")
        first = supervisor.process
        assert first is not None and supervisor.running
        os.kill(first.pid, signal.SIGKILL)
        # Restarted: a second child, which scores the recent window again and re-raises the alert.
        await wait_for(lambda: supervisor.starts == 2 and len(alerts) >= 2, timeout=90)
        assert supervisor.process is not None and supervisor.process.pid != first.pid
        assert any("exited (-9)" in s for s in statuses), statuses
        assert any("running" in s for s in statuses)
    finally:
        await supervisor.stop()
    assert not supervisor.running
    assert supervisor.process is not None and supervisor.process.returncode is not None


async def test_supervisor_never_raises_when_the_worker_cannot_start(tmp_path: Path) -> None:
    statuses: list[str] = []
    supervisor = MonitorSupervisor([str(tmp_path / "no-such-program")], lambda _: None, statuses.append,
                                   backoff_initial=0.05, backoff_max=0.1)
    await supervisor.start()
    await wait_for(lambda: len(statuses) >= 3, timeout=10)  # keeps retrying, with backoff
    await supervisor.stop()
    assert supervisor.starts == 0
    assert all("restarting" in s for s in statuses)


async def test_supervisor_backs_off_exponentially_and_survives_bad_output(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    # A child that prints junk, one valid alert line, then dies at once.
    script.write_text(
        "import json\nprint('not json')\nprint('[1, 2]')\n"
        "print(json.dumps({'type': 'alert', 'alert': {'status': 'firing', 'severity': 'error'}}))\n"
        "raise SystemExit(3)\n"
    )
    alerts: list[dict] = []
    statuses: list[str] = []

    def exploding_callback(alert: dict) -> None:
        alerts.append(alert)
        raise RuntimeError("an editor-side bug must not kill the supervisor")

    supervisor = MonitorSupervisor([sys.executable, str(script)], exploding_callback, statuses.append,
                                   backoff_initial=0.1, backoff_max=0.4)
    await supervisor.start()
    await wait_for(lambda: supervisor.starts >= 5, timeout=30)
    await supervisor.stop()
    assert len(alerts) >= 3 and alerts[0] == {"status": "firing", "severity": "error"}
    delays = [s.split("restarting in ")[1] for s in statuses if "restarting in" in s]
    assert delays[:4] == ["0.1s", "0.2s", "0.4s", "0.4s"]  # doubled, then capped at backoff_max
    assert all("exited (3)" in s for s in statuses if "restarting" in s)

"""`fireside monitor` as a command: exit codes and error reporting (no services needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import free_port


def test_once_reports_an_unreachable_prometheus_and_exits_1(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fireside", "monitor", "--once", "--prometheus", f"http://127.0.0.1:{free_port()}",
         "--query", "up", "--model-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "could not read Prometheus" in result.stderr and "Traceback" not in result.stderr


def test_missing_query_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text('prometheus_url = "http://127.0.0.1:9"\nthreshold = "high"\n')
    result = subprocess.run([sys.executable, "-m", "fireside", "monitor", "--once", "--config", str(config)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "nothing to watch" in result.stderr
    assert result.stderr.count("threshold='high'") == 1  # the bad value is reported once


PARENT = """
import os, subprocess, sys
argv = [a.replace("{PARENT}", str(os.getpid())) for a in sys.argv[1:]]
child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(child.pid, flush=True)
child.wait()
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _started_by_a_parent_killed_hard(tmp_path: Path, *flags: str) -> int:
    """Start `fireside monitor` (Prometheus down, so it keeps retrying) from a parent, kill the parent
    with SIGKILL, and return the monitor's pid."""
    import os
    import signal
    import time

    argv = [sys.executable, "-m", "fireside", "monitor", *flags, "--prometheus", f"http://127.0.0.1:{free_port()}",
            "--query", "up", "--model-dir", str(tmp_path), "--interval", "1"]
    parent = subprocess.Popen([sys.executable, "-c", PARENT, *argv], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    time.sleep(3)  # the monitor is running (and failing to reach Prometheus, which it survives)
    assert _alive(child)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    return child


def test_a_monitor_started_by_the_server_goes_when_the_server_is_killed(tmp_path: Path) -> None:
    import os
    import signal
    import time

    child = _started_by_a_parent_killed_hard(tmp_path, "--parent-pid", "{PARENT}")
    deadline = time.monotonic() + 20
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(child), "the monitor outlived the process that started it"

    # Without the flag (a monitor run by hand) the same kill leaves it running: the flag is what matters.
    child = _started_by_a_parent_killed_hard(tmp_path)
    time.sleep(3)
    try:
        assert _alive(child)
    finally:
        os.kill(child, signal.SIGTERM)


def test_the_supervised_command_line_asks_to_exit_with_the_server() -> None:
    from fireside.monitor.supervisor import monitor_argv

    import os

    argv = monitor_argv("http://127.0.0.1:9090", ["up"])
    assert argv[argv.index("--parent-pid") + 1] == str(os.getpid())


def test_a_query_starting_with_a_dash_is_a_query_not_an_option() -> None:
    from fireside.cli import build_parser
    from fireside.monitor.supervisor import monitor_argv

    args = build_parser().parse_args(["monitor", "--query", "-node_load1", "--query", "up", "--prometheus", "http://x"])
    assert args.query == ["-node_load1", "up"]
    argv = monitor_argv("http://127.0.0.1:9090", ["-node_load1"])
    assert build_parser().parse_args(argv[3:]).query == ["-node_load1"]


def test_insecure_is_warned_about_once(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fireside", "monitor", "--once", "--insecure", "--prometheus",
         f"https://127.0.0.1:{free_port()}", "--query", "up", "--model-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.count("NOT verified") == 1

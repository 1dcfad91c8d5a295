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

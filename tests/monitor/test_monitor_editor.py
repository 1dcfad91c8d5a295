"""`fireside serve` runs the monitor when a Prometheus URL is configured, and turns its alerts into
window/showMessage and fireside/alert notifications."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from conftest import METRIC, Service, alertmanager_alerts

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
from lsp_wire import RawServer  # noqa: E402


def test_editor_server_supervises_the_monitor_and_forwards_alerts(prometheus: Service, alertmanager: Service, tmp_path: Path) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text(f'model_dir = "{tmp_path / "models"}"\nmetrics_port = 0\n')
    # Where the monitor connects is taken from the command line only (a workspace's settings cannot point it elsewhere).
    server = RawServer(
        "--engine", "fake", "--prometheus-url", prometheus.url, "--alertmanager-url", alertmanager.url,
        "--monitor-config", str(config),
    )
    try:
        server.initialize({"monitorQueries": [METRIC]})
        alert = server.wait_for(lambda m: m.get("method") == "fireside/alert", timeout=180)["params"]
        assert alert["status"] == "firing"
        assert alert["labels"]["service"] == "anomalous"
        assert alert["generator_url"].startswith(prometheus.url)
        shown = server.wait_for(
            lambda m: m.get("method") == "window/showMessage" and "Anomaly" in m["params"]["message"], timeout=30
        )
        assert shown["params"]["type"] in (1, 2)  # error or warning, by severity
        # The alert reaches the editor and Alertmanager on separate paths; the second may lag under load.
        deadline = time.monotonic() + 60
        while not any(a["labels"].get("service") == "anomalous" for a in alertmanager_alerts(alertmanager.url)):
            assert time.monotonic() < deadline, "the alert never reached Alertmanager"
            time.sleep(0.5)
        # The monitor is a separate process: killing it does not touch the server, which restarts it.
        assert server.alive()
    finally:
        server.close()
    assert server.garbage == []

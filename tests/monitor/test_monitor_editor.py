"""`fireside serve` runs the monitor when a Prometheus URL is configured, and turns its alerts into
window/showMessage and fireside/alert notifications.

End to end with a series that Prometheus really scrapes: a tiny exporter serves a square wave
every second (its last half hour backfilled with promtool, so the detector has history), the
editor server supervises `fireside monitor`, and then the exporter's level jumps fivefold. That
must give exactly one alert, with its reason, in the editor and in Alertmanager."""

from __future__ import annotations

import hashlib
import math
import queue
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import Service, alertmanager_alerts, free_port, needs_services, wait_ready

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
from lsp_wire import RawServer  # noqa: E402

pytestmark = [pytest.mark.services, needs_services]

METRIC = "fs_live_value"
HISTORY_SECONDS = 1800


def square_wave(t: float) -> float:
    """100/120 every 30 s, plus ±0.2 of noise that depends only on the second (reproducible)."""
    second = int(t)
    noise = int(hashlib.sha256(str(second).encode()).hexdigest()[:8], 16) / 2**32 - 0.5
    return 100 + 20 * (math.sin(2 * math.pi * second / 60) > 0) + 0.4 * noise


class Exporter:
    """Serves `fs_live_value{service="live"}` on /metrics; `shift` multiplies it by 5."""

    def __init__(self) -> None:
        self.shift = False
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                value = square_wave(time.time()) * (5 if exporter.shift else 1)
                body = f'# TYPE {METRIC} gauge\n{METRIC}{{service="live"}} {value}\n'.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def scraped(tmp_path: Path) -> Iterator[tuple[Service, Exporter]]:
    exporter = Exporter()
    target = f"127.0.0.1:{exporter.port}"
    end = int(time.time()) - 2
    history = tmp_path / "history.om"
    with history.open("w") as out:  # the same series Prometheus will scrape: same labels
        out.write(f"# TYPE {METRIC} gauge\n")
        for t in range(end - HISTORY_SECONDS, end + 1):
            out.write(f'{METRIC}{{instance="{target}",job="live",service="live"}} {square_wave(t)} {t}\n')
        out.write("# EOF\n")
    data = tmp_path / "data"
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(history), str(data)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: live\n"
                      f"    static_configs:\n      - targets: ['{target}']\n")
    port = free_port()
    process = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={data}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "prometheus.log", "w"),
    )
    service = Service(f"http://127.0.0.1:{port}", process, port)
    try:
        wait_ready(service.url + "/-/ready", process=process)
        yield service, exporter
    finally:
        service.stop()
        exporter.close()


def monitor_metrics(port: int) -> dict[str, float]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return {}
    return {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines() if line and line[0] != "#"}


def drain(server: RawServer) -> list[dict]:
    out = []
    while True:
        try:
            out.append(server.messages.get_nowait())
        except queue.Empty:
            return out


def test_a_level_shift_in_a_scraped_series_is_one_alert_with_its_reason_in_the_editor_and_alertmanager(
    scraped: tuple[Service, Exporter], alertmanager: Service, tmp_path: Path
) -> None:
    prometheus, exporter = scraped
    metrics_port = free_port()
    config = tmp_path / "monitor.toml"
    config.write_text(
        f'model_dir = "{tmp_path / "models"}"\nmetrics_port = {metrics_port}\n'
        "step_seconds = 1\ninterval_seconds = 1\nhistory_seconds = 1800\nmin_history_seconds = 300\n"
        "range_window_seconds = 1800\ntrain_window_seconds = 600\nretrain_interval_seconds = 600\n"
        "season_days = 0\nscore_window_seconds = 30\nsuppress_seconds = 3600\nstale_after_seconds = 120\n"
        "resend_seconds = 2\n"
    )
    # Where the monitor connects is taken from the command line only (a workspace's settings cannot point it elsewhere).
    server = RawServer(
        "--engine", "fake", "--prometheus-url", prometheus.url, "--alertmanager-url", alertmanager.url,
        "--monitor-config", str(config),
    )
    try:
        server.initialize({"monitorQueries": [METRIC]})
        # The worker has taken in the backfilled half hour and follows the live scrapes.
        deadline = time.monotonic() + 120
        while not (monitor_metrics(metrics_port).get("fireside_monitor_series") == 1
                   and monitor_metrics(metrics_port).get("fireside_monitor_cycles_total", 0) >= 3):
            assert time.monotonic() < deadline, "the monitor never settled on the scraped series"
            time.sleep(0.5)
        assert not [m for m in drain(server) if m.get("method") == "fireside/alert"], "an alert before the shift"

        exporter.shift = True
        alert = server.wait_for(lambda m: m.get("method") == "fireside/alert", timeout=60)["params"]
        assert alert["status"] == "firing"
        assert alert["labels"] == {"__name__": METRIC, "instance": f"127.0.0.1:{exporter.port}", "job": "live",
                                   "service": "live"}
        assert alert["reason"] == "range_break" and alert["feature"] == "value"
        assert alert["value"] > 400 and alert["expected_max"] < 130 and alert["expected_min"] > 90
        assert alert["feature_description"].startswith(f"value {alert['value']:.4g} above its 30 min range")
        assert alert["generator_url"].startswith(prometheus.url)
        shown = server.wait_for(
            lambda m: m.get("method") == "window/showMessage" and "Anomaly" in m["params"]["message"], timeout=30)
        assert shown["params"]["type"] in (1, 2)  # error or warning, by severity
        assert alert["feature_description"] in shown["params"]["message"]

        # The alert reaches the editor and Alertmanager on separate paths; the second may lag under load.
        deadline = time.monotonic() + 60
        while not alertmanager_alerts(alertmanager.url):
            assert time.monotonic() < deadline, "the alert never reached Alertmanager"
            time.sleep(0.5)
        # Several more cycles with the level still shifted: the episode stays one alert.
        cycles = monitor_metrics(metrics_port)["fireside_monitor_cycles_total"]
        while monitor_metrics(metrics_port).get("fireside_monitor_cycles_total", 0) < cycles + 5:
            time.sleep(0.5)
        later = [m for m in drain(server) if m.get("method") == "fireside/alert"]
        assert later == [], later
        received = alertmanager_alerts(alertmanager.url)
        assert len(received) == 1, received
        annotations = received[0]["annotations"]
        assert received[0]["labels"]["alertname"] == "FiresideAnomaly"
        assert received[0]["labels"]["service"] == "live" and received[0]["labels"]["metric"] == METRIC
        assert annotations["reason"] == "range_break" and annotations["feature"] == "value"
        assert annotations["description"] == alert["feature_description"]
        assert annotations["expected_range"] == f"{alert['expected_min']:.6g} to {alert['expected_max']:.6g}"
        assert server.alive()
    finally:
        server.close()
    assert server.garbage == []

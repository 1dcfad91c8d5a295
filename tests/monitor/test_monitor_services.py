"""End to end against the real Prometheus and Alertmanager binaries (see conftest.py)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import (
    METRIC,
    Service,
    alertmanager_alerts,
    free_port,
    needs_services,
    start_alertmanager,
)
from fireside.monitor.config import MonitorConfig
from fireside.monitor.metrics_endpoint import MonitorMetrics
from fireside.monitor.persistence import ModelStore
from fireside.monitor.prometheus_source import MAX_POINTS_PER_SERIES, PrometheusSource
from fireside.monitor.worker import MonitorWorker

pytestmark = [pytest.mark.services, needs_services]


def monitor_command(prometheus: Service, model_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "fireside", "monitor", "--once", "--output", "jsonl",
            "--prometheus", prometheus.url, "--query", METRIC, "--model-dir", str(model_dir), *extra]


def firing_services(stdout: str) -> list[str]:
    alerts = [json.loads(line)["alert"] for line in stdout.splitlines() if line.strip()]
    return sorted(a["labels"]["service"] for a in alerts if a["status"] == "firing")


def test_once_detects_the_injected_anomaly_and_alertmanager_receives_it(
    prometheus: Service, alertmanager: Service, tmp_path: Path
) -> None:
    result = subprocess.run(
        monitor_command(prometheus, tmp_path / "models", "--alertmanager", alertmanager.url),
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    # Only the series with the injected level shift fires: not the steady one, not the constant
    # one, not the one full of NaN samples and gaps.
    assert firing_services(result.stdout) == ["anomalous"], result.stdout
    alert = json.loads(result.stdout.splitlines()[0])["alert"]
    assert alert["severity"] in ("warning", "error")
    assert alert["reason"] == "range_break" and alert["feature"] == "value"
    assert alert["value"] == pytest.approx(alert["feature_value"]) and alert["expected_max"] < alert["value"]
    assert alert["feature_description"].startswith(f"value {alert['value']:.4g} above its")

    received = alertmanager_alerts(alertmanager.url)
    assert len(received) == 1, received
    got = received[0]
    assert got["labels"] == {"alertname": "FiresideAnomaly", "metric": METRIC, "service": "anomalous"}
    assert got["annotations"]["feature"] == alert["feature"]
    assert got["annotations"]["reason"] == "range_break" and "expected_range" in got["annotations"]
    assert float(got["annotations"]["score"]) >= 0.5
    assert got["generatorURL"].startswith(prometheus.url + "/graph?g0.expr=" + METRIC)
    assert got["status"]["state"] == "active"

    # 8 days of 1-minute history is more than 11,000 points: it was fetched in chunks, all of it
    # went through each series' detector, and the seasonal feature had its 7 days.
    store = ModelStore(tmp_path / "models")
    saved = [store.load(p.stem, 60.0) for p in (tmp_path / "models").glob("*.joblib")]
    assert len(saved) == 4
    for model in saved:
        assert model is not None and model.detector.ready and model.detector.spec.season_points == 1440
        assert model.detector.next_index - model.detector.first_index > MAX_POINTS_PER_SERIES


def test_alertmanager_down_retries_then_delivers(prometheus: Service, tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        monitor_command(prometheus, tmp_path / "models", "--alertmanager", f"http://127.0.0.1:{port}"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    alertmanager = None
    try:
        assert process.stderr is not None
        seen_failure = False
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            if "unavailable" in line:
                seen_failure = True
                break
        assert seen_failure, "the worker never tried the (down) Alertmanager"
        # Drain stderr so the child never blocks on a full pipe while it retries.
        threading.Thread(target=process.stderr.read, daemon=True).start()
        alertmanager = start_alertmanager(tmp_path / "alertmanager", port)
        stdout, _ = process.communicate(timeout=60)
        assert process.returncode == 0
        assert firing_services(stdout) == ["anomalous"]
        received = alertmanager_alerts(alertmanager.url)
        assert [a["labels"]["service"] for a in received] == ["anomalous"]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if alertmanager is not None:
            alertmanager.stop()


def _worker(prometheus: Service, model_dir: Path, metrics: MonitorMetrics | None = None) -> tuple:
    config = MonitorConfig(prometheus_url=prometheus.url, queries=(METRIC,), model_dir=str(model_dir))
    events: list = []
    source = PrometheusSource(prometheus.url)
    worker = MonitorWorker(config, source, ModelStore(model_dir), events.append, metrics=metrics)
    return worker, events


def test_corrupt_model_file_is_retrained(prometheus: Service, tmp_path: Path, caplog) -> None:
    worker, events = _worker(prometheus, tmp_path)
    worker.run_once()
    assert [e.labels["service"] for e in events if e.status == "firing"] == ["anomalous"]
    files = sorted(tmp_path.glob("*.joblib"))
    assert len(files) == 4
    for path in files:
        path.write_bytes(b"this is not a joblib file")

    caplog.set_level(logging.WARNING, logger="fireside.monitor.persistence")
    worker, events = _worker(prometheus, tmp_path)
    worker.run_once()
    assert [e.labels["service"] for e in events if e.status == "firing"] == ["anomalous"]
    assert sum("unusable" in r.getMessage() for r in caplog.records) == 4
    store = ModelStore(tmp_path)
    assert all(store.load(p.stem, 60.0) is not None for p in files)


def test_saved_models_are_reused_after_a_restart(prometheus: Service, tmp_path: Path) -> None:
    worker, _ = _worker(prometheus, tmp_path)
    worker.run_once()
    trained = {w.model_key: w.detector.trained_at for w in worker.series.values()}
    assert len(trained) == 4 and all(trained.values())
    worker, events = _worker(prometheus, tmp_path)
    worker.run_once()
    reloaded = {w.model_key: w.detector.trained_at for w in worker.series.values()}
    assert reloaded == trained  # loaded from disk, not retrained
    assert [e.labels["service"] for e in events if e.status == "firing"] == ["anomalous"]


def test_metrics_endpoint_exposes_scores_thresholds_and_training_time(prometheus: Service, tmp_path: Path) -> None:
    metrics = MonitorMetrics()
    port = metrics.serve("127.0.0.1", 0)
    try:
        worker, _ = _worker(prometheus, tmp_path, metrics)
        before = time.time()
        worker.run_once()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    finally:
        metrics.close()
    lines = {line.split(" ")[0]: line.split(" ")[1] for line in text.splitlines() if line and line[0] != "#"}
    assert float(lines["fireside_monitor_alert_threshold"]) == 0.5
    anomalous = f'{{query="{METRIC}",series="__name__=\\"{METRIC}\\",service=\\"anomalous\\""}}'
    steady = anomalous.replace("anomalous", "steady")
    # The shift broke the range 20 points ago; the range has taken it in since, so the latest
    # score is past its peak, but still well above the steady series' and the alert still fires.
    assert float(lines["fireside_monitor_anomaly_score" + anomalous]) > float(lines["fireside_monitor_anomaly_score" + steady])
    assert float(lines["fireside_monitor_alert_firing" + anomalous]) == 1.0
    assert float(lines["fireside_monitor_alert_firing" + steady]) == 0.0
    # Models are retrained once a day of data: the last training is less than a day old.
    assert float(lines["fireside_monitor_last_training_timestamp_seconds" + anomalous]) >= before - 86_400 - 60
    assert float(lines["fireside_monitor_series"]) == 4.0


def test_firing_alerts_are_re_leased_and_resolution_ends_them(alertmanager: Service) -> None:
    from fireside.monitor.alert import Alert
    from fireside.monitor.alertmanager import AlertmanagerClient

    now = [time.time()]
    client = AlertmanagerClient(alertmanager.url, resend_seconds=60, clock=lambda: now[0])
    alert = Alert(labels={"__name__": "m", "job": "api"}, status="firing", severity="error", summary="s",
                  feature="level", feature_description="level 5.0x the usual", score=0.99999, threshold=0.999,
                  value=5.0, query="m", starts_at=now[0] - 60, ends_at=None,
                  generator_url=alertmanager.url + "/graph")

    def ends_at() -> list[str]:
        return [a["endsAt"] for a in alertmanager_alerts(alertmanager.url)]

    client.submit(alert)
    assert client.flush() and client.delivered == 1
    first_lease = ends_at()
    assert len(first_lease) == 1
    assert client.flush() and client.delivered == 1  # not due again yet
    now[0] += 60
    assert client.flush() and client.delivered == 2  # re-sent with a lease 60 s later
    second_lease = ends_at()
    assert len(second_lease) == 1 and second_lease[0] > first_lease[0]
    client.submit(alert.resolved(time.time() - 1))
    assert client.flush() and client.delivered == 3
    assert ends_at() == []  # resolved alerts leave Alertmanager's active list
    client.close()



def test_a_bad_query_does_not_stop_the_good_one(prometheus: Service, tmp_path: Path) -> None:
    config = MonitorConfig(prometheus_url=prometheus.url, queries=("rate(", METRIC), model_dir=str(tmp_path))
    events: list = []
    worker = MonitorWorker(config, PrometheusSource(prometheus.url), ModelStore(tmp_path), events.append)
    worker.run_once()
    assert [e.labels["service"] for e in events if e.status == "firing"] == ["anomalous"]

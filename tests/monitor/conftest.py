"""Real Prometheus and Alertmanager (the Debian binaries) on 127.0.0.1, with free ports and
temporary data directories. History is loaded in one go with `promtool tsdb create-blocks-from
openmetrics` before Prometheus starts."""

from __future__ import annotations

import json
import math
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

STEP = 60
HISTORY_POINTS = 8 * 1440 + 60  # > 11,000: the source must split the range into chunks
ANOMALY_POINTS = 20  # the last 20 minutes of "anomalous" sit at 5x their usual level
METRIC = "fs_test_value"

needs_services = pytest.mark.skipif(
    not all(shutil.which(b) for b in ("prometheus", "promtool", "prometheus-alertmanager")),
    reason="prometheus/promtool/prometheus-alertmanager not installed (scripts/setup.d/10-prometheus)",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(url)


def synthetic_series(seed: int = 7) -> dict[str, np.ndarray]:
    """Values by index (not wall clock), so every run sees the same numbers."""
    rng = np.random.default_rng(seed)
    i = np.arange(HISTORY_POINTS)
    daily = 100 + 30 * np.sin(2 * np.pi * i / 1440)
    anomalous = daily + rng.normal(0, 2, i.size)
    anomalous[-ANOMALY_POINTS:] *= 5
    steady = daily + rng.normal(0, 2, i.size)
    gappy = daily + rng.normal(0, 2, i.size)
    gappy[rng.random(i.size) < 0.1] = np.nan  # scattered NaN samples
    gappy[-45:-25] = np.nan  # and a 20-minute NaN stretch inside the scored window
    return {"anomalous": anomalous, "steady": steady, "flat": np.full(i.size, 7.0), "gappy": gappy}


def write_openmetrics(path: Path, series: dict[str, np.ndarray], end: int) -> None:
    start = end - STEP * (HISTORY_POINTS - 1)
    with path.open("w") as out:
        out.write(f"# HELP {METRIC} Synthetic test series.\n# TYPE {METRIC} gauge\n")
        for name, values in series.items():
            for k, value in enumerate(values):
                text = "NaN" if math.isnan(value) else repr(float(value))
                out.write(f'{METRIC}{{service="{name}"}} {text} {start + STEP * k}\n')
        out.write("# EOF\n")


@dataclass
class Service:
    url: str
    process: subprocess.Popen
    port: int

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_alertmanager(workdir: Path, port: int | None = None) -> Service:
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "alertmanager.yml"
    config.write_text("route:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n")
    process = subprocess.Popen(
        ["prometheus-alertmanager", f"--config.file={config}", f"--storage.path={workdir / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=open(workdir / "alertmanager.log", "a"),
    )
    url = f"http://127.0.0.1:{port}"
    service = Service(url, process, port)
    try:
        wait_ready(url + "/-/ready", process=process)
    except Exception:
        service.stop()
        raise
    return service


def alertmanager_alerts(url: str) -> list[dict]:
    with urllib.request.urlopen(url + "/api/v2/alerts", timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    if not all(shutil.which(b) for b in ("prometheus", "promtool")):
        pytest.skip("prometheus/promtool not installed (scripts/setup.d/10-prometheus)")
    work = tmp_path_factory.mktemp("prometheus")
    end = int(time.time()) // STEP * STEP - STEP
    metrics = work / "history.om"
    write_openmetrics(metrics, synthetic_series(), end)
    data = work / "data"
    # Few large blocks instead of 2-hour ones: ~1 s instead of ~13 s on 2 cores.
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=72h",
                    str(metrics), str(data)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    config = work / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1m\n")
    port = free_port()
    process = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={data}",
         f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=30d", "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=open(work / "prometheus.log", "w"),
    )
    service = Service(f"http://127.0.0.1:{port}", process, port)
    try:
        wait_ready(service.url + "/-/ready", process=process)
        yield service
    finally:
        service.stop()


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[Service]:
    if not shutil.which("prometheus-alertmanager"):
        pytest.skip("prometheus-alertmanager not installed (scripts/setup.d/10-prometheus)")
    service = start_alertmanager(tmp_path / "alertmanager")
    yield service
    service.stop()


class ScriptedSource:
    """A stand-in for PrometheusSource: serves whatever series the test puts in ``live`` (values
    at t = index * step), for any range asked, and records the history requests."""

    def __init__(self, step: float) -> None:
        self.step = step
        self.live: dict[str, np.ndarray] = {}  # service -> values
        self.history_requests: list[list[str]] = []

    def _series(self, service: str, start: float, end: float, step: float):
        from fireside.monitor.prometheus_source import SeriesData, series_key

        values = self.live[service]
        a, b = int(start // step), int(end // step)
        window = np.full(b - a + 1, np.nan)
        lo, hi = max(a, 0), min(b, len(values) - 1)
        if hi >= lo:
            window[lo - a : hi - a + 1] = values[lo : hi + 1]
        labels = {"__name__": "m", "service": service}
        return series_key(labels), SeriesData(labels, a * step, window)

    def query_range(self, query: str, start: float, end: float, step: float, max_series: int | None = None,
                    keep=None, expected_series: int = 1):
        from fireside.monitor.prometheus_source import RangeResult

        result = RangeResult()
        for service in self.live:
            key, data = self._series(service, start, end, step)
            if max_series is not None and len(result.series) >= max_series and not (keep and key in keep):
                result.skipped += 1
                continue
            result.series[key] = data
        return result

    def query_range_of(self, query: str, label_sets: list[dict[str, str]], start: float, end: float, step: float):
        self.history_requests.append(sorted(labels["service"] for labels in label_sets))
        return dict(self._series(labels["service"], start, end, step) for labels in label_sets
                    if labels["service"] in self.live)

    def graph_url(self, query: str) -> str:
        return "http://127.0.0.1:9/graph"

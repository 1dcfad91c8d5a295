"""Fixtures for the monitor tests: a real Prometheus (one per session, with synthetic history) and a real
Alertmanager per test. The helpers behind them are in tests/support/monitor_services.py."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.monitor_services import (
    STEP,
    Service,
    free_port,
    start_alertmanager,
    synthetic_series,
    wait_ready,
    write_openmetrics,
)


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

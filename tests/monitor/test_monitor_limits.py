"""Bounded input: a stand-in Prometheus that answers 50,000 series in a 100 MB body, NaN/Inf samples
and 500s; Alertmanagers that refuse one alert with 400, or ask to slow down; TLS verification."""

from __future__ import annotations

import json
import logging
import re
import shutil
import ssl
import subprocess
import threading
import time
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import numpy as np
import pytest
from conftest import Service, alertmanager_alerts, needs_services
from fireside.monitor.alert import Alert
from fireside.monitor.alertmanager import AlertmanagerClient
from fireside.monitor.config import MonitorConfig
from fireside.monitor.persistence import ModelStore
from fireside.monitor.prometheus_source import PrometheusSource
from fireside.monitor.worker import MonitorWorker

STEP = 60.0
SERIES = 50_000
POINTS = 30  # 50,000 series x 30 samples ~ 100 MB of JSON


def _sample(series: int, t: int) -> str:
    if series % 97 == 0 and t % 7 == 0:
        return "NaN"
    if series % 89 == 0 and t % 11 == 0:
        return "+Inf" if t % 2 else "-Inf"
    return f"{50 + (series * 7919 + t * 104729) % 1000 / 100:.6f}"


class StandInPrometheus:
    """Answers `POST /api/v1/query_range` like Prometheus, streaming the body; the first `fail`
    requests get a 500. A narrowed history query (`... and on(i) (label_replace(...) or ...)`)
    gets only the series it names, as real Prometheus would answer."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.requests = 0
        self.bytes_sent = 0
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                form = parse_qs(self.rfile.read(length).decode())
                stand_in.requests += 1
                if stand_in.fail > 0:
                    stand_in.fail -= 1
                    self.send_response(500)
                    self.end_headers()
                    self.wfile.write(b"overloaded")
                    return
                query = form["query"][0]
                start, end = float(form["start"][0]), float(form["end"][0])
                stamps = np.arange(start, end + 1, STEP)[-POINTS:]
                wanted = [int(v) for v in re.findall(r'"i", "(\d+)"', query)]
                series = wanted if wanted else range(SERIES)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()  # no Content-Length: the body ends when the connection closes
                try:
                    self._write('{"status":"success","data":{"resultType":"matrix","result":[')
                    for n, k in enumerate(series):
                        values = ",".join(f'[{t:.0f},"{_sample(k, int(t // STEP))}"]' for t in stamps)
                        self._write(("," if n else "") + f'{{"metric":{{"__name__":"m","i":"{k}"}},"values":[{values}]}}')
                    self._write("]}}")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading at its limit

            def _write(self, text: str) -> None:
                data = text.encode()
                self.wfile.write(data)
                stand_in.bytes_sent += len(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_fifty_thousand_series_in_a_huge_body_with_nan_and_500s_keep_memory_bounded(tmp_path: Path, caplog) -> None:
    prometheus = StandInPrometheus(fail=3)  # more 500s than the client's retries: one failed cycle
    limit = 8 * 1024 * 1024
    config = MonitorConfig(prometheus_url=prometheus.url, queries=("m",), step_seconds=STEP,
                           history_seconds=STEP * 40, max_response_bytes=limit, max_series=300, season_days=0,
                           model_dir=str(tmp_path))
    source = PrometheusSource(prometheus.url, max_response_bytes=limit)
    now = [1_800_000_000.0]
    worker = MonitorWorker(config, source, ModelStore(tmp_path), lambda _: None, clock=lambda: now[0])
    caplog.set_level(logging.WARNING)
    try:
        with pytest.raises(Exception):  # noqa: B017 - Prometheus answering 500: the cycle fails, nothing else
            worker.cycle()
        assert worker.series == {}
        tracemalloc.start()
        for _ in range(2):  # the second cycle: the same limits are not warned about again
            worker.cycle()
            now[0] += STEP
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        source.close()
        prometheus.close()
    assert len(worker.series) == config.max_series == 300
    assert prometheus.bytes_sent < 100 * 1024 * 1024  # the reader hung up; the answer was not read to the end
    # Memory follows the limits, not the answer: the body read up to 8 MB, 300 series kept.
    assert peak < 6 * limit + 40 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB"
    warnings = [r.getMessage() for r in caplog.records if "newest series are skipped" in r.getMessage()]
    assert len(warnings) == 1 and "max_response_bytes" in warnings[0] and "max_series" in warnings[0]
    # NaN and ±Inf samples are gaps, never values.
    for watched in worker.series.values():
        assert watched.last_seen is not None
    nan_series = next(w for w in worker.series.values() if int(w.labels["i"]) % 97 == 0)
    assert nan_series.detector.tail[np.isfinite(nan_series.detector.tail)].size > 0
    assert np.isfinite(nan_series.detector.tail[np.isfinite(nan_series.detector.tail)]).all()


# -- Alertmanager ----------------------------------------------------------------------------

def alert(service: str, label: str = "service") -> Alert:
    return Alert(labels={"__name__": "m", label: service}, status="firing", severity="warning", summary="s",
                 feature="value", feature_description="value 9 above its 14 days range 1–3", score=0.8,
                 threshold=0.5, value=9.0, query="m", starts_at=time.time() - 60, ends_at=None,
                 generator_url="http://127.0.0.1:9/graph", reason="range_break")


@pytest.mark.services
@needs_services
def test_an_alert_alertmanager_refuses_with_400_does_not_hold_back_the_others(alertmanager: Service, caplog) -> None:
    client = AlertmanagerClient(alertmanager.url, batch_size=8)
    caplog.set_level(logging.ERROR, logger="fireside.monitor.alertmanager")
    for k in range(30):
        client.submit(alert(f"s{k}"))
    client.submit(alert("x", label="bad-label"))  # not a valid label name: Alertmanager answers 400
    assert client.flush() is True and client.pending() == 0
    client.submit(alert("later"))
    assert client.flush() is True
    received = sorted(a["labels"].get("service", "?") for a in alertmanager_alerts(alertmanager.url))
    assert received == sorted([f"s{k}" for k in range(30)] + ["later"])
    assert client.dropped == 1
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 1 and "bad-label" in refused[0] and "400" in refused[0]
    client.close()


class StrictAlertmanager:
    """Refuses a whole batch (400) when any alert in it carries label `bad`; answers the first
    `busy` posts with 429 + Retry-After."""

    def __init__(self, busy: int = 0) -> None:
        self.busy = busy
        self.received: list[dict] = []
        self.posts = 0
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stand_in.posts += 1
                if stand_in.busy > 0:
                    stand_in.busy -= 1
                    self.send_response(429)
                    self.send_header("Retry-After", "7")
                    self.end_headers()
                    return
                if any("bad" in a["labels"] for a in body):
                    self.send_response(400)
                    self.end_headers()
                    self.wfile.write(b"invalid label set")
                    return
                stand_in.received.extend(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_receiver_refusing_whole_batches_still_gets_every_good_alert_and_429_backs_off() -> None:
    receiver = StrictAlertmanager(busy=1)
    now = [1000.0]
    client = AlertmanagerClient(receiver.url, batch_size=16, clock=lambda: now[0])
    try:
        for k in range(40):
            client.submit(alert(f"s{k}"))
        client.submit(alert("x", label="bad"))
        assert client.flush() is False  # 429: kept, and the Retry-After is honoured
        assert client.next_attempt == 1007.0 and client.pending() == 41
        assert client.flush() is False and receiver.posts == 1  # not due yet
        now[0] = 1007.0
        assert client.flush() is True
        assert sorted(a["labels"]["service"] for a in receiver.received) == sorted(f"s{k}" for k in range(40))
        assert client.dropped == 1 and client.pending() == 0
        assert receiver.posts < 20  # halving isolates the bad alert in a few posts, not one per alert
    finally:
        client.close()
        receiver.close()


# -- TLS ---------------------------------------------------------------------------------------

@pytest.fixture
def https_prometheus(tmp_path: Path) -> Iterator[str]:
    if not shutil.which("openssl"):
        pytest.skip("openssl not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"i":"1"},"values":[[60,"1"]]}]}}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_tls_certificates_are_verified_unless_insecure(https_prometheus: str) -> None:
    import requests
    from urllib3.exceptions import InsecureRequestWarning

    verified = PrometheusSource(https_prometheus, retries=0)
    with pytest.raises(requests.exceptions.SSLError):
        verified.query_range("m", 60, 120, 60)  # a self-signed certificate is refused by default
    verified.close()
    insecure = PrometheusSource(https_prometheus, retries=0, verify_tls=False)
    with pytest.warns(InsecureRequestWarning):
        assert list(insecure.query_range("m", 60, 120, 60).series) == [(("i", "1"),)]
    insecure.close()

"""A stand-in for `fireside serve` that only speaks the alert protocol, for the VS Code test of the alerts UI
(the real path, Prometheus → `fireside monitor` → server, is tested in tests/monitor). Raw JSON-RPC over stdio:
after `initialized` it reports the model ready, fires an alert (with the server's showMessage echo, and a
re-send), and resolves it once the file named by its first argument exists."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

ALERT = {
    "labels": {"alertname": "FiresideAnomaly", "service": "checkout"},
    "status": "firing",
    "severity": "warning",
    "summary": "checkout latency is anomalous",
    "feature_description": "the level jumped",
    "value": 812.0,
    "score": 0.93,
    "threshold": 0.7,
    "query": "histogram_quantile(0.9, rate(checkout_seconds_bucket[5m]))",
    "starts_at": "2026-01-01T00:00:00Z",
    "generator_url": "http://127.0.0.1:9/graph?g0.expr=checkout",
}
_write_lock = threading.Lock()


def send(message: dict) -> None:
    body = json.dumps({"jsonrpc": "2.0", **message}).encode()
    with _write_lock:
        sys.stdout.buffer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        sys.stdout.buffer.flush()


def read() -> dict | None:
    length = 0
    while True:
        line = sys.stdin.buffer.readline()
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return json.loads(sys.stdin.buffer.read(length))


def resolve_when(trigger: Path) -> None:
    while not trigger.exists():
        time.sleep(0.2)
    send({"method": "fireside/alert", "params": {**ALERT, "status": "resolved", "ends_at": "2026-01-01T00:05:00Z"}})


def main() -> None:
    trigger = Path(sys.argv[1])
    while (message := read()) is not None:
        method = message.get("method")
        if method == "initialize":
            send({"id": message["id"], "result": {"capabilities": {}, "serverInfo": {"name": "stand-in"}}})
        elif method == "initialized":
            send({"method": "fireside/status", "params": {"state": "ready", "model": "stand-in", "message": "ready"}})
            send({"method": "fireside/alert", "params": ALERT})
            send({"method": "window/showMessage", "params": {"type": 2, "message": f"Fireside Anomaly: {ALERT['summary']} — the level jumped"}})
            send({"method": "fireside/alert", "params": {**ALERT, "value": 815.0}})  # re-sent while it fires
            threading.Thread(target=resolve_when, args=(trigger,), daemon=True).start()
        elif method == "shutdown":
            send({"id": message["id"], "result": None})
        elif method == "exit":
            return
        elif "id" in message:
            send({"id": message["id"], "result": None})


if __name__ == "__main__":
    main()

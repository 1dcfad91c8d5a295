"""`fireside monitor`: the anomaly-alert side worker.

Output (stdout, the worker's only use of it):

* ``--output text`` (default): one line per alert event, for people.
* ``--output jsonl``: one JSON object per line, for the editor (see :mod:`supervisor`):
  ``{"type": "alert", "alert": {...Alert.to_dict()...}}`` for each alert that fires or resolves,
  and ``{"type": "status", "state": "...", "message": "..."}`` when the worker's state changes.

Logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

LOG_LEVELS = ("debug", "info", "warning", "error")


class _MonitorParser(argparse.ArgumentParser):
    """Takes the word after ``--query`` as the query even when it starts with ``-`` (``-up``,
    ``-rate(x[5m])``): argparse would otherwise read it as an unknown option."""

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        args = list(sys.argv[1:] if args is None else args)
        joined: list[str] = []
        i = 0
        while i < len(args):
            if args[i] == "--query" and i + 1 < len(args) and args[i + 1].startswith("-"):
                joined.append(f"--query={args[i + 1]}")
                i += 2
                continue
            joined.append(args[i])
            i += 1
        return super().parse_known_args(joined, namespace)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "monitor",
        help="watch Prometheus series and raise anomaly alerts",
        description="Watch Prometheus series, learn their usual behaviour (IsolationForest per series) and "
        "raise alerts, pushed to Alertmanager when one is configured. Only the configured Prometheus "
        "and Alertmanager are contacted.",
    )
    parser.add_argument("--prometheus", metavar="URL", help="Prometheus base URL")
    parser.add_argument("--alertmanager", metavar="URL", help="Alertmanager base URL")
    parser.add_argument("--query", metavar="PROMQL", action="append", default=None,
                        help="a PromQL query to watch (repeatable; may start with '-')")
    parser.add_argument("--insecure", action="store_true", default=None,
                        help="do not verify TLS certificates of Prometheus and Alertmanager (warned)")
    parser.add_argument("--max-series", type=int, dest="max_series", metavar="N",
                        help="at most N series per query (default 1000); newer ones are skipped")
    parser.add_argument("--config", metavar="FILE", type=Path, help="TOML file ([monitor] table or top level)")
    parser.add_argument("--once", action="store_true",
                        help="train on the history, score the recent window, push and print what fires, exit")
    parser.add_argument("--output", choices=("text", "jsonl"), help="stdout format (default text)")
    parser.add_argument("--step", type=float, dest="step_seconds", metavar="SECONDS")
    parser.add_argument("--history", type=float, dest="history_seconds", metavar="SECONDS")
    parser.add_argument("--interval", type=float, dest="interval_seconds", metavar="SECONDS")
    parser.add_argument("--score-window", type=float, dest="score_window_seconds", metavar="SECONDS")
    parser.add_argument("--threshold", type=float, metavar="SCORE")
    parser.add_argument("--for", type=float, dest="for_seconds", metavar="SECONDS")
    parser.add_argument("--suppress", type=float, dest="suppress_seconds", metavar="SECONDS",
                        help="after an alert fires, that series cannot fire again for this long (default 12 h)")
    parser.add_argument("--model-dir", metavar="DIR")
    parser.add_argument("--metrics-port", type=int, metavar="PORT", help="serve /metrics on this port (0: off)")
    parser.add_argument("--metrics-host", metavar="ADDR")
    parser.add_argument("--log-level", choices=LOG_LEVELS, default="info")
    parser.add_argument("--parent-pid", type=int, metavar="PID",
                        help="stop when process PID is no longer this one's parent (`fireside serve` passes its "
                             "own pid, so a server killed hard leaves no monitor behind)")
    parser.set_defaults(func=run)
    # The subparser was built by argparse's own class; give it the one that reads `--query -x`.
    parser.__class__ = _MonitorParser


_FLAG_SETTINGS = ("step_seconds", "history_seconds", "interval_seconds", "score_window_seconds", "threshold",
                  "for_seconds", "suppress_seconds", "max_series", "insecure", "model_dir", "metrics_port",
                  "metrics_host", "output")


def build_config(args: argparse.Namespace) -> tuple[Any, list[Any]]:
    """File settings first, then flags on top; returns (config, problems)."""
    from fireside.monitor.config import MonitorConfig, load_config_file, merge_config

    config, problems = MonitorConfig(), []
    if args.config is not None:
        raw, file_problems = load_config_file(args.config)
        problems += file_problems
        config, more = merge_config(config, raw)
        problems += more
    flags: dict[str, Any] = {name: getattr(args, name) for name in _FLAG_SETTINGS if getattr(args, name) is not None}
    if args.prometheus is not None:
        flags["prometheus_url"] = args.prometheus
    if args.alertmanager is not None:
        flags["alertmanager_url"] = args.alertmanager
    if args.query:
        flags["queries"] = list(args.query)
    config, more = merge_config(config, flags)
    return config, problems + more


ORPHAN_CHECK_SECONDS = 1.0


def _stop_when_orphaned(parent: int, stop: threading.Event, log: logging.Logger) -> None:
    """Set ``stop`` once ``parent`` is gone (we get re-parented, so our parent pid changes). The pid
    comes from the parent itself: one read here could already be the re-parented one. Portable,
    unlike Linux's PR_SET_PDEATHSIG, and it lets the worker shut down cleanly."""

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                log.warning("the parent process (pid %d) is gone: stopping", parent)
                stop.set()
                return
            if stop.wait(ORPHAN_CHECK_SECONDS):
                return

    threading.Thread(target=watch, name="fireside-orphan-check", daemon=True).start()


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("fireside.monitor")
    config, problems = build_config(args)
    for problem in problems:
        log.warning("config: %s", problem)
    if not config.prometheus_url:
        log.error("no Prometheus URL: pass --prometheus URL or set prometheus_url in the config file")
        return 2
    if not config.queries:
        log.error("nothing to watch: pass --query PROMQL (repeatable) or set queries in the config file")
        return 2

    # Heavy imports (numpy, scikit-learn) only once we know there is work to do.
    from fireside.monitor.alert import Alert
    from fireside.monitor.alertmanager import AlertmanagerClient
    from fireside.monitor.metrics_endpoint import MonitorMetrics
    from fireside.monitor.persistence import ModelStore
    from fireside.monitor.prometheus_source import PrometheusSource
    from fireside.monitor.worker import MonitorWorker

    jsonl = config.output == "jsonl"
    write_lock = threading.Lock()

    def write(obj: dict[str, Any] | str) -> None:
        with write_lock:
            sys.stdout.write((json.dumps(obj) if jsonl else str(obj)) + "\n")
            sys.stdout.flush()

    def emit(alert: Alert) -> None:
        write({"type": "alert", "alert": alert.to_dict()} if jsonl else alert.one_line())

    def status(state: str, message: str) -> None:
        if jsonl:
            write({"type": "status", "state": state, "message": message})

    if config.insecure:
        import urllib3

        log.warning("--insecure: TLS certificates of Prometheus and Alertmanager are NOT verified")
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # said once above, not per request
    source = PrometheusSource(config.prometheus_url, verify_tls=not config.insecure,
                              max_response_bytes=config.max_response_bytes)
    alertmanager = AlertmanagerClient(config.alertmanager_url, resend_seconds=config.resend_seconds,
                                      verify_tls=not config.insecure) if config.alertmanager_url else None
    metrics = MonitorMetrics()
    if config.metrics_port:
        port = metrics.serve(config.metrics_host, config.metrics_port)
        log.info("metrics on http://%s:%d/metrics", config.metrics_host, port)
    worker = MonitorWorker(config, source, ModelStore(config.model_dir), emit, alertmanager, metrics,
                           on_phase=lambda phase, message: status(phase.value, message))
    try:
        if args.once:
            try:
                events = worker.run_once()
            except Exception as exc:
                log.error("could not read Prometheus at %s: %s", config.prometheus_url, exc)
                status("failed", str(exc))
                return 1
            firing = sum(1 for e in events if e.status == "firing")
            log.info("scored %d series; %d alert event(s), %d firing", len(worker.series), len(events), firing)
            return 0
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        if args.parent_pid:
            _stop_when_orphaned(args.parent_pid, stop, log)
        worker.run_forever(stop)
        return 0
    finally:
        metrics.close()
        source.close()
        if alertmanager:
            alertmanager.close()

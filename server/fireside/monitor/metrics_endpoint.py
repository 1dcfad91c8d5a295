"""The worker's own metrics on ``/metrics`` (prometheus_client), for Prometheus to scrape."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server


class MonitorMetrics:
    """Per-series gauges carry the query and the series' labels flattened into one `series`
    label, since different queries return different label names."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ["query", "series"]
        self.score = Gauge("fireside_monitor_anomaly_score", "Latest calibrated anomaly score (0-1).",
                           labels, registry=self.registry)
        self.threshold = Gauge("fireside_monitor_alert_threshold", "Score at which a series goes pending.",
                               registry=self.registry)
        self.resolve_threshold = Gauge("fireside_monitor_resolve_threshold",
                                       "Score below which a firing alert resolves.", registry=self.registry)
        self.last_training = Gauge("fireside_monitor_last_training_timestamp_seconds",
                                   "When the series' model was last trained.", labels, registry=self.registry)
        self.firing = Gauge("fireside_monitor_alert_firing", "1 while the series' alert fires.", labels,
                            registry=self.registry)
        self.series = Gauge("fireside_monitor_series", "Series currently watched.", registry=self.registry)
        self.cycles = Counter("fireside_monitor_cycles", "Scoring cycles run.", registry=self.registry)
        self.cycle_errors = Counter("fireside_monitor_cycle_errors", "Cycles that failed (e.g. Prometheus down).",
                                    registry=self.registry)
        self.trainings = Counter("fireside_monitor_trainings", "Models trained.", registry=self.registry)
        self.alerts_sent = Counter("fireside_monitor_alertmanager_sent", "Alert states delivered to Alertmanager.",
                                   registry=self.registry)
        self.alerts_queued = Gauge("fireside_monitor_alertmanager_queued", "Alert states waiting for delivery.",
                                   registry=self.registry)
        self._server = None

    def serve(self, host: str, port: int) -> int:
        """Start the endpoint in a daemon thread; returns the bound port."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        self._server = server
        return int(server.server_address[1])

    def forget(self, query: str, series: str) -> None:
        for gauge in (self.score, self.last_training, self.firing):
            try:
                gauge.remove(query, series)
            except KeyError:
                pass

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

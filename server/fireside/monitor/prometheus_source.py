"""Range data from Prometheus through prometheus-api-client.

Start, end and step are always explicit (the client's own defaults are computed at import time),
and long ranges are split so that no request asks for more than Prometheus' 11,000 points per
series. Results are put on a regular grid aligned to the step; missing points are NaN.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

import numpy as np
from prometheus_api_client import PrometheusConnect
from urllib3.util.retry import Retry

log = logging.getLogger(__name__)

MAX_POINTS_PER_SERIES = 11_000

SeriesKey = tuple[tuple[str, str], ...]


def series_key(labels: dict[str, str]) -> SeriesKey:
    return tuple(sorted(labels.items()))


@dataclass
class SeriesData:
    labels: dict[str, str]
    start: float  # timestamp of values[0]; a multiple of the step
    values: np.ndarray

    def timestamps(self, step: float) -> np.ndarray:
        return self.start + step * np.arange(len(self.values))


def align(timestamp: float, step: float) -> float:
    return math.floor(timestamp / step) * step


def chunks(start: float, end: float, step: float, max_points: int = MAX_POINTS_PER_SERIES) -> list[tuple[float, float]]:
    """Inclusive [a, b] ranges covering [start, end], each at most ``max_points`` points."""
    span = step * (max_points - 1)
    out = []
    a = start
    while a <= end:
        b = min(end, a + span)
        out.append((a, b))
        a = b + step
    return out


class PrometheusSource:
    def __init__(self, url: str, timeout: float = 30.0, retries: int = 2) -> None:
        self.url = url.rstrip("/")
        retry = Retry(total=retries, backoff_factor=0.2, status_forcelist=[502, 503, 504])
        self.client = PrometheusConnect(url=self.url, disable_ssl=True, retry=retry, timeout=timeout)

    def close(self) -> None:
        self.client.close()

    def ready(self) -> bool:
        try:
            return bool(self.client.check_prometheus_connection())
        except Exception:
            return False

    def query_range(self, query: str, start: float, end: float, step: float) -> dict[SeriesKey, SeriesData]:
        """Every series the query returns between ``start`` and ``end`` (aligned to ``step``)."""
        start, end = align(start, step), align(end, step)
        n = int(round((end - start) / step)) + 1
        out: dict[SeriesKey, SeriesData] = {}
        for a, b in chunks(start, end, step):
            result = self.client.custom_query_range(
                query,
                start_time=datetime.fromtimestamp(a, UTC),
                end_time=datetime.fromtimestamp(b, UTC),
                step=f"{step:g}s",
            )
            for item in result:
                labels = dict(item.get("metric", {}))
                key = series_key(labels)
                data = out.get(key)
                if data is None:
                    data = out[key] = SeriesData(labels, start, np.full(n, np.nan))
                for ts, raw in item.get("values", []):
                    index = int(round((float(ts) - start) / step))
                    if 0 <= index < n:
                        data.values[index] = float(raw)  # "NaN"/"+Inf" parse fine
        for data in out.values():
            data.values[~np.isfinite(data.values)] = np.nan
        return out

    def graph_url(self, query: str) -> str:
        """The Prometheus graph of the query: the alert's generatorURL."""
        return f"{self.url}/graph?" + urlencode({"g0.expr": query, "g0.tab": "0"})

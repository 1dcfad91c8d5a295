"""Range data from Prometheus, read with a bounded amount of memory.

The connection (session, TLS verification, retries, headers) is prometheus-api-client's
``PrometheusConnect``. Range queries are sent through its session but read here: the library
parses a whole response into Python lists (~100 bytes per sample), so one query returning 50,000
series would exhaust memory. Here the body is streamed up to ``max_response_bytes`` and the
``result`` array is decoded one series at a time (``json.JSONDecoder.raw_decode``) straight into
numpy; series past the byte limit or past ``max_series`` are skipped, and the caller is told.

Start, end and step are always explicit, and ranges are split so no request asks for more than
Prometheus' 11,000 points per series, nor for more samples than the byte limit can hold. Results
sit on a regular grid aligned to the step; missing points (and NaN/±Inf samples) are NaN.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from urllib.parse import urlencode

import numpy as np
from prometheus_api_client import PrometheusConnect
from urllib3.util.retry import Retry

log = logging.getLogger(__name__)

MAX_POINTS_PER_SERIES = 11_000
BYTES_PER_SAMPLE = 32  # `[1767225600,"123.456789"],` with a little slack
SELECTOR_BATCH = 20  # series per history request when fetching only new series

SeriesKey = tuple[tuple[str, str], ...]


class PrometheusError(RuntimeError):
    """Prometheus answered, but not with data (HTTP error, status "error", unreadable body)."""


def series_key(labels: dict[str, str]) -> SeriesKey:
    return tuple(sorted(labels.items()))


@dataclass
class SeriesData:
    labels: dict[str, str]
    start: float  # timestamp of values[0]; a multiple of the step
    values: np.ndarray

    def timestamps(self, step: float) -> np.ndarray:
        return self.start + step * np.arange(len(self.values))


@dataclass
class RangeResult:
    """The series of one range query, and what had to be left out."""

    series: dict[SeriesKey, SeriesData] = field(default_factory=dict)
    truncated: bool = False  # the body passed max_response_bytes; later series are missing
    skipped: int = 0  # series left out because of max_series


def align(timestamp: float, step: float) -> float:
    return math.floor(timestamp / step) * step


def chunks(start: float, end: float, step: float, max_points: int = MAX_POINTS_PER_SERIES) -> list[tuple[float, float]]:
    """Inclusive [a, b] ranges covering [start, end], each at most ``max_points`` points."""
    span = step * (max(1, max_points) - 1)
    out = []
    a = start
    while a <= end:
        b = min(end, a + span)
        out.append((a, b))
        a = b + step
    return out


def _promql_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid PromQL double-quoted string


def only_series(query: str, label_sets: list[dict[str, str]]) -> str:
    """``query`` restricted to the series with these label sets (``__name__`` aside), so the
    history of new series can be fetched without the history of every other series. Each label
    set becomes ``label_replace(vector(1), ...)`` chained per label, and ``and on(...)`` keeps the
    matching series of the query."""
    names = sorted({k for labels in label_sets for k in labels if k != "__name__"})
    wanted = []
    for labels in label_sets:
        expr = "vector(1)"
        for name in names:
            value = labels.get(name, "")
            expr = f"label_replace({expr}, {_promql_string(name)}, {_promql_string(value)}, \"\", \"\")"
        wanted.append(expr)
    return f"({query}) and on({', '.join(names)}) ({' or '.join(wanted)})"


class _Reader:
    """Streams one response body, at most ``limit`` bytes, and decodes the ``result`` array."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def read(self, response: object) -> tuple[str, bool]:
        body = bytearray()
        truncated = False
        for piece in response.iter_content(chunk_size=1 << 16):  # type: ignore[attr-defined]
            if len(body) + len(piece) > self.limit:
                body += piece[: self.limit - len(body)]
                truncated = True
                break
            body += piece
        response.close()  # type: ignore[attr-defined]
        return body.decode("utf-8", errors="replace"), truncated


def iter_result_items(text: str, truncated: bool):
    """Yield each object of ``data.result`` in a Prometheus response body. A body cut short stops
    at the last complete object; a body that is not a success response raises PrometheusError."""
    decoder = json.JSONDecoder()
    marker = text.find('"result"')
    if marker < 0:
        if truncated:
            raise PrometheusError("response too large to read any series")
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise PrometheusError(f"unreadable response ({exc})") from None
        if isinstance(body, dict) and body.get("status") == "error":
            raise PrometheusError(f"{body.get('errorType', 'error')}: {body.get('error', '')}")
        raise PrometheusError("response without data.result")
    position = text.find("[", marker) + 1
    length = len(text)
    while position > 0:
        while position < length and text[position] in " \t\r\n,":
            position += 1
        if position >= length or text[position] == "]":
            return
        try:
            item, position = decoder.raw_decode(text, position)
        except ValueError:
            if truncated:
                return  # the last object was cut by the byte limit
            raise PrometheusError("unreadable series in the response") from None
        yield item


class PrometheusSource:
    def __init__(
        self,
        url: str,
        timeout: float = 30.0,
        retries: int = 2,
        verify_tls: bool = True,
        max_response_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        retry = Retry(total=retries, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504],
                      allowed_methods=None)
        self.client = PrometheusConnect(url=self.url, disable_ssl=not verify_tls, retry=retry, timeout=timeout)

    def close(self) -> None:
        self.client.close()

    def ready(self) -> bool:
        try:
            return bool(self.client.check_prometheus_connection())
        except Exception:
            return False

    def query_range(
        self,
        query: str,
        start: float,
        end: float,
        step: float,
        max_series: int | None = None,
        keep: set[SeriesKey] | None = None,
        expected_series: int = 1,
    ) -> RangeResult:
        """Every series the query returns between ``start`` and ``end`` (aligned to ``step``).

        ``max_series``: at most this many series, those in ``keep`` first (already watched), then
        the others in Prometheus' order; the rest are counted in ``skipped``. ``expected_series``
        sizes the requests so that each fits in ``max_response_bytes``."""
        start, end = align(start, step), align(end, step)
        n = int(round((end - start) / step)) + 1
        per_request = max(1, min(MAX_POINTS_PER_SERIES,
                                 self.max_response_bytes // (BYTES_PER_SAMPLE * max(1, expected_series))))
        result = RangeResult()
        for a, b in chunks(start, end, step, per_request):
            self._fetch_chunk(query, a, b, step, start, n, result, max_series, keep)
        for data in result.series.values():
            data.values[~np.isfinite(data.values)] = np.nan
        return result

    def query_range_of(self, query: str, label_sets: list[dict[str, str]], start: float, end: float,
                       step: float) -> dict[SeriesKey, SeriesData]:
        """Only the series with these label sets (the history of new series)."""
        wanted = {series_key(labels) for labels in label_sets}
        out: dict[SeriesKey, SeriesData] = {}
        for i in range(0, len(label_sets), SELECTOR_BATCH):
            batch = label_sets[i : i + SELECTOR_BATCH]
            got = self.query_range(only_series(query, batch), start, end, step, expected_series=len(batch))
            out.update({k: v for k, v in got.series.items() if k in wanted})
        return out

    def _fetch_chunk(self, query: str, a: float, b: float, step: float, start: float, n: int,
                     result: RangeResult, max_series: int | None, keep: set[SeriesKey] | None) -> None:
        session = self.client._session  # the library's configured session (TLS, retries)
        response = session.post(
            f"{self.url}/api/v1/query_range",
            data={"query": query, "start": f"{a:.3f}", "end": f"{b:.3f}", "step": f"{step:g}s"},
            headers=self.client.headers, auth=self.client.auth, timeout=self.timeout, stream=True,
            verify=session.verify, cert=session.cert,
        )
        if response.status_code != 200 and not response.headers.get("Content-Type", "").startswith("application/json"):
            response.close()
            raise PrometheusError(f"HTTP {response.status_code} from {self.url}")
        text, truncated = _Reader(self.max_response_bytes).read(response)
        result.truncated |= truncated
        skipped = 0
        for item in iter_result_items(text, truncated):
            labels = {str(k): str(v) for k, v in (item.get("metric") or {}).items()}
            key = series_key(labels)
            data = result.series.get(key)
            if data is None:
                if max_series is not None and len(result.series) >= max_series and not (keep and key in keep):
                    skipped += 1
                    continue
                data = result.series[key] = SeriesData(labels, start, np.full(n, np.nan))
            samples = item.get("values") or []
            if not samples:
                continue
            stamps = np.array([float(s[0]) for s in samples])
            values = np.array([_number(s[1]) for s in samples])
            index = np.rint((stamps - start) / step).astype(np.int64)
            ok = (index >= 0) & (index < n)
            data.values[index[ok]] = values[ok]
        result.skipped = max(result.skipped, skipped)
        if response.status_code != 200:
            raise PrometheusError(f"HTTP {response.status_code} from {self.url}")

    def graph_url(self, query: str) -> str:
        """The Prometheus graph of the query: the alert's generatorURL."""
        return f"{self.url}/graph?" + urlencode({"g0.expr": query, "g0.tab": "0"})


def _number(text: object) -> float:
    try:
        return float(text)  # "NaN", "+Inf", "-Inf" parse; all become gaps later
    except (TypeError, ValueError):
        return math.nan

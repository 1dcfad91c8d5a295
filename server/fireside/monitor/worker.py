"""The monitor worker: pulls series from Prometheus, keeps one detector per series, runs the
alert state machine and hands alert events to Alertmanager and to its caller.

Worker states (``WorkerPhase``), one cycle every ``interval_seconds``::

    STARTING ──cycle ok──▶ RUNNING ──cycle failed──▶ BACKING_OFF ──cycle ok──▶ RUNNING
        └──────────────cycle failed────────────────────────┘         stop ──▶ STOPPED

A failed cycle (Prometheus down, a bad query) is retried with exponential backoff, capped at
``MAX_BACKOFF``; a failure inside one series is logged and only that series is skipped.
Series are discovered every cycle: a new label set gets its history and a model, one that has
had no point for ``stale_after_seconds`` is dropped (its alert resolved), all without a restart.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from fireside.monitor.alert import Alert
from fireside.monitor.alert_state import AlertState, Phase, Transition
from fireside.monitor.alertmanager import AlertmanagerClient
from fireside.monitor.config import MonitorConfig
from fireside.monitor.detector import Detector
from fireside.monitor.features import history_points
from fireside.monitor.metrics_endpoint import MonitorMetrics
from fireside.monitor.persistence import ModelStore, series_id
from fireside.monitor.prometheus_source import PrometheusSource, SeriesData, SeriesKey, align

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0
OVERLAP_STEPS = 5  # re-read a few points each cycle: Prometheus may ingest them late


class WorkerPhase(enum.Enum):
    STARTING = "starting"
    RUNNING = "running"
    BACKING_OFF = "backing_off"
    STOPPED = "stopped"


@dataclass
class WatchedSeries:
    query: str
    labels: dict[str, str]
    model_key: str
    start: float  # timestamp of values[0]
    values: np.ndarray
    state: AlertState
    detector: Detector | None = None
    last_scored: float | None = None
    alert: Alert | None = None
    last_score: float = float("nan")

    @cached_property
    def name(self) -> str:  # labels never change; this is read for metrics every cycle
        return ",".join(f'{k}="{v}"' for k, v in sorted(self.labels.items()))

    def last_seen(self, step: float) -> float | None:
        finite = np.flatnonzero(np.isfinite(self.values))
        return None if finite.size == 0 else self.start + step * float(finite[-1])


@dataclass
class MonitorWorker:
    config: MonitorConfig
    source: PrometheusSource
    store: ModelStore
    emit: Callable[[Alert], None]
    alertmanager: AlertmanagerClient | None = None
    metrics: MonitorMetrics | None = None
    clock: Callable[[], float] = time.time
    on_phase: Callable[[WorkerPhase, str], None] | None = None  # told of every phase change
    phase: WorkerPhase = WorkerPhase.STARTING
    series: dict[tuple[str, SeriesKey], WatchedSeries] = field(default_factory=dict)
    fetched_until: dict[str, float] = field(default_factory=dict)
    failures: int = 0

    def __post_init__(self) -> None:
        self.buffer_points = history_points(self.config.train_points, self.config.step_seconds)
        if self.metrics:
            self.metrics.threshold.set(self.config.threshold)
            self.metrics.resolve_threshold.set(self.config.rule.resolve_threshold)

    # -- one cycle -------------------------------------------------------------------------

    def cycle(self) -> list[Alert]:
        """Fetch, (re)train, score and deliver once. Raises when no query could be read."""
        step = self.config.step_seconds
        end = align(self.clock(), step)
        events: list[Alert] = []
        failed: list[Exception] = []
        for query in self.config.queries:
            try:
                self._refresh(query, end)
            except Exception as exc:  # one bad query must not starve the others
                log.warning("query %r failed: %s", query, exc)
                failed.append(exc)
        if failed and len(failed) == len(self.config.queries):
            raise failed[-1]
        for key, watched in list(self.series.items()):
            seen = watched.last_seen(step)
            if seen is None or end - seen > self.config.stale_after_seconds:
                self._drop(key, watched, end, events)
                continue
            try:
                events.extend(self._score(watched, end, seen))
            except Exception:
                log.exception("scoring %s failed; skipped this cycle", watched.name)
        for alert in events:
            self.emit(alert)
            if self.alertmanager:
                self.alertmanager.submit(alert)
        if self.alertmanager:
            before = self.alertmanager.delivered
            self.alertmanager.flush()
            if self.metrics:
                self.metrics.alerts_sent.inc(self.alertmanager.delivered - before)
                self.metrics.alerts_queued.set(self.alertmanager.pending())
        if self.metrics:
            self.metrics.cycles.inc()
            self.metrics.series.set(len(self.series))
        return events

    def _refresh(self, query: str, end: float) -> None:
        step = self.config.step_seconds
        history_start = end - self.config.history_seconds
        if query not in self.fetched_until:
            for key, data in self.source.query_range(query, history_start, end, step).items():
                if np.isfinite(data.values).any():
                    self._add(query, key, data)
        else:
            since = self.fetched_until[query] - OVERLAP_STEPS * step
            fresh = self.source.query_range(query, since, end, step)
            # A series with only NaN samples is not watched (and must not trigger a history
            # fetch every cycle).
            new = [key for key, data in fresh.items()
                   if (query, key) not in self.series and np.isfinite(data.values).any()]
            if new:  # a label set appeared: it needs its history too
                history = self.source.query_range(query, history_start, end, step)
                for key in new:
                    self._add(query, key, history.get(key, fresh[key]))
            for key, data in fresh.items():
                if key not in new and (query, key) in self.series:
                    self._merge(self.series[(query, key)], data)
        self.fetched_until[query] = end

    def _add(self, query: str, key: SeriesKey, data: SeriesData) -> None:
        watched = WatchedSeries(query, data.labels, series_id(query, data.labels), data.start,
                                data.values[-self.buffer_points :].copy(), AlertState(self.config.rule))
        watched.start = data.start + self.config.step_seconds * (len(data.values) - len(watched.values))
        self.series[(query, key)] = watched
        log.info("watching %s{%s}", query, watched.name)

    def _merge(self, watched: WatchedSeries, data: SeriesData) -> None:
        step = self.config.step_seconds
        new_end = data.start + step * (len(data.values) - 1)
        old_end = watched.start + step * (len(watched.values) - 1)
        if new_end > old_end:
            extra = int(round((new_end - old_end) / step))
            watched.values = np.concatenate([watched.values, np.full(extra, np.nan)])
        offset = int(round((data.start - watched.start) / step))
        for i, value in enumerate(data.values):
            j = offset + i
            if 0 <= j < len(watched.values) and np.isfinite(value):
                watched.values[j] = value
        if len(watched.values) > self.buffer_points:
            cut = len(watched.values) - self.buffer_points
            watched.values = watched.values[cut:]
            watched.start += cut * step

    def _drop(self, key: tuple[str, SeriesKey], watched: WatchedSeries, end: float, events: list[Alert]) -> None:
        log.info("series %s{%s} vanished; no longer watched", watched.query, watched.name)
        if watched.alert is not None:
            events.append(watched.alert.resolved(end))
        del self.series[key]
        if self.metrics:
            self.metrics.forget(watched.query, watched.name)

    def _ensure_model(self, watched: WatchedSeries, train_until: float) -> None:
        step = self.config.step_seconds
        now = self.clock()
        if watched.detector is None:
            loaded = self.store.load(watched.model_key, step)
            if loaded is not None and now - loaded.trained_at < self.config.retrain_interval_seconds:
                watched.detector = loaded
                log.info("loaded the model of %s{%s}", watched.query, watched.name)
        detector = watched.detector
        if detector is not None and detector.ready and now - detector.trained_at < self.config.retrain_interval_seconds:
            return
        detector = detector or Detector(step, self.config.detector_settings)
        cut = int(np.floor((train_until - watched.start) / step)) + 1
        if detector.fit(watched.values[: max(cut, 0)], now=now):
            self.store.save(watched.model_key, detector)
            if self.metrics:
                self.metrics.trainings.inc()
                self.metrics.last_training.labels(watched.query, watched.name).set(detector.trained_at)
            log.info("trained %s{%s} on %d points", watched.query, watched.name, detector.n_train)
        watched.detector = detector

    def _score(self, watched: WatchedSeries, end: float, seen: float) -> list[Alert]:
        """Score the points after ``watched.last_scored`` up to ``seen`` (its last finite point)."""
        step = self.config.step_seconds
        if watched.last_scored is None:
            # First sight: train on what came before the recent window, then score that window.
            watched.last_scored = end - self.config.score_window_seconds
        self._ensure_model(watched, watched.last_scored)
        detector = watched.detector
        if detector is None or not detector.ready:
            return []
        first = int(round((watched.last_scored - watched.start) / step)) + 1
        last = int(round((seen - watched.start) / step))
        if last < first:
            return []
        first = max(first, 0)
        assert detector.spec is not None
        lo = max(0, first - detector.spec.context)
        scores = detector.score(watched.values[lo : last + 1], first - lo)
        events: list[Alert] = []
        for offset, score in enumerate(scores):
            index = first + offset
            timestamp = watched.start + step * index
            transition = watched.state.observe(timestamp, float(score))
            if np.isfinite(score):
                watched.last_score = float(score)
            if transition is Transition.FIRED:
                watched.alert = self._alert(watched, detector, index, timestamp, float(score))
                events.append(watched.alert)
            elif transition is Transition.RESOLVED and watched.alert is not None:
                events.append(watched.alert.resolved(timestamp))
                watched.alert = None
        watched.last_scored = watched.start + step * last
        if self.metrics:
            labels = (watched.query, watched.name)
            if np.isfinite(watched.last_score):
                self.metrics.score.labels(*labels).set(watched.last_score)
            self.metrics.firing.labels(*labels).set(1 if watched.state.phase is Phase.FIRING else 0)
        return events

    def _alert(self, watched: WatchedSeries, detector: Detector, index: int, timestamp: float,
               score: float) -> Alert:
        lo = max(0, index - (detector.spec.context if detector.spec else 0))
        why = detector.explain(watched.values[lo : index + 1], index - lo)
        metric = watched.labels.get("__name__", watched.query)
        rule = self.config.rule
        return Alert(
            labels=dict(watched.labels),
            status="firing",
            severity=rule.severity(score),  # type: ignore[arg-type]
            summary=f"{metric} behaves unlike its history: {why.description}",
            feature=why.feature,
            feature_description=why.description,
            score=score,
            threshold=rule.threshold,
            value=float(watched.values[index]),
            query=watched.query,
            starts_at=timestamp,
            ends_at=None,
            generator_url=self.source.graph_url(watched.query),
        )

    # -- driving ---------------------------------------------------------------------------

    def run_once(self, deliver_seconds: float = 30.0) -> list[Alert]:
        """Train on the history, score the recent window, deliver what fired (retrying with
        backoff for up to ``deliver_seconds``), and return the events."""
        events = self.cycle()
        self.phase = WorkerPhase.RUNNING
        if self.alertmanager and self.alertmanager.pending():
            if not self.alertmanager.flush_until(self.clock() + deliver_seconds):
                log.error("%d alert(s) could not be delivered to Alertmanager", self.alertmanager.pending())
        return events

    def _enter(self, phase: WorkerPhase, message: str) -> None:
        if phase is not self.phase:
            self.phase = phase
            if self.on_phase:
                self.on_phase(phase, message)

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            started = self.clock()
            try:
                self.cycle()
            except Exception as exc:
                self.failures += 1
                delay = min(MAX_BACKOFF, self.config.interval_seconds * 2 ** min(self.failures - 1, 10))
                log.warning("cycle failed (%s); next try in %.0fs", exc, delay)
                self._enter(WorkerPhase.BACKING_OFF, f"cycle failed ({exc}); retrying with backoff")
                if self.metrics:
                    self.metrics.cycle_errors.inc()
                if self.alertmanager:
                    self.alertmanager.flush()  # Prometheus being down must not hold back delivery
                stop.wait(delay)
                continue
            self.failures = 0
            self._enter(WorkerPhase.RUNNING, f"watching {len(self.series)} series")
            stop.wait(max(0.0, self.config.interval_seconds - (self.clock() - started)))
        self._enter(WorkerPhase.STOPPED, "stopped")

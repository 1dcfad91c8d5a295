"""The monitor worker: pulls series from Prometheus, streams each through its own detector, runs
the alert state machine and hands alert events to Alertmanager and to its caller.

Worker states (``WorkerPhase``), one cycle every ``interval_seconds``::

    STARTING ──cycle ok──▶ RUNNING ──cycle failed──▶ BACKING_OFF ──cycle ok──▶ RUNNING
        └──────────────cycle failed────────────────────────┘         stop ──▶ STOPPED

A failed cycle (Prometheus down, a bad query) is retried with exponential backoff, capped at
``MAX_BACKOFF``; a failure inside one series is logged and only that series is skipped.

Series are discovered every cycle. A new label set gets its history (only its own: the query is
narrowed to the new series) and is streamed through a fresh detector, or through its saved one
when the model directory holds it (then only the points since it was saved are fetched). At most
``max_series`` series per query are watched; beyond that, and beyond ``max_response_bytes`` per
response, the newest series are skipped with one warning. A series with no point for
``stale_after_seconds`` is dropped (its alert resolved); its saved model is deleted once the
series has been gone for ``model_retention_seconds``.
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
from fireside.monitor.detector import Scores, SeriesDetector
from fireside.monitor.events import AlertEvent, alert_events
from fireside.monitor.metrics_endpoint import MonitorMetrics
from fireside.monitor.persistence import ModelStore, SavedSeries, series_id
from fireside.monitor.prometheus_source import PrometheusSource, SeriesData, SeriesKey, align

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0
OVERLAP_STEPS = 5  # re-read a few points each cycle: Prometheus may ingest them late
SWEEP_SECONDS = 3600.0  # how often the model directory is swept for expired models


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
    detector: SeriesDetector
    state: AlertState
    last_seen: float | None = None  # timestamp of the last present point
    alert: Alert | None = None  # the firing alert that was announced
    last_score: float = float("nan")
    saved_fit: int | None = None  # detector.fitted_index when last saved

    @cached_property
    def name(self) -> str:  # labels never change; this is read for metrics every cycle
        return ",".join(f'{k}="{v}"' for k, v in sorted(self.labels.items()))


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
    warned: set[tuple[str, str]] = field(default_factory=set)  # (query, what) warned about once
    last_sweep: float = float("-inf")

    def __post_init__(self) -> None:
        if self.metrics:
            self.metrics.threshold.set(self.config.threshold)
            self.metrics.resolve_threshold.set(self.config.rule.resolve_threshold)

    # -- one cycle -------------------------------------------------------------------------

    def cycle(self) -> list[Alert]:
        """Fetch, score and deliver once. Raises when no query could be read."""
        step = self.config.step_seconds
        end = align(self.clock(), step)
        events: list[Alert] = []
        failed: list[Exception] = []
        for query in self.config.queries:
            try:
                self._refresh(query, end, events)
            except Exception as exc:  # one bad query must not starve the others
                log.warning("query %r failed: %s", query, exc)
                failed.append(exc)
        if failed and len(failed) == len(self.config.queries):
            raise failed[-1]
        for key, watched in list(self.series.items()):
            if watched.last_seen is None or end - watched.last_seen > self.config.stale_after_seconds:
                self._drop(key, watched, end, events)
        self._deliver(events)
        if self.clock() - self.last_sweep >= SWEEP_SECONDS:
            self.last_sweep = self.clock()
            keep = {w.model_key for w in self.series.values()}
            for key in self.store.sweep(keep, self.config.model_retention_seconds, self.clock()):
                log.info("deleted the model of a series gone for over %.0fs (%s)",
                         self.config.model_retention_seconds, key)
        if self.metrics:
            self.metrics.cycles.inc()
            self.metrics.series.set(len(self.series))
        return events

    def _deliver(self, events: list[Alert]) -> None:
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

    def _warn_once(self, query: str, what: str, message: str, *args: object) -> None:
        if (query, what) not in self.warned:
            self.warned.add((query, what))
            log.warning(message, *args)

    def _refresh(self, query: str, end: float, events: list[Alert]) -> None:
        config, step = self.config, self.config.step_seconds
        watched = {key for (q, key) in self.series if q == query}
        since = self.fetched_until.get(query, end - config.stale_after_seconds) - OVERLAP_STEPS * step
        fresh = self.source.query_range(query, since, end, step, max_series=config.max_series, keep=watched,
                                        expected_series=max(1, len(watched)))
        new = [key for key, data in fresh.series.items()
               if key not in watched and np.isfinite(data.values).any()]
        room = max(0, config.max_series - len(watched))
        over = []
        if fresh.truncated:
            over.append(f"the response passed max_response_bytes ({config.max_response_bytes})")
        if fresh.skipped or len(new) > room:
            over.append(f"it returns more than max_series ({config.max_series}) series")
            new = new[:room]
        if over:
            self._warn_once(query, "limits", "query %r: %s; the newest series are skipped (this is said once)",
                            query, " and ".join(over))
        if new:
            self._add_series(query, [fresh.series[key] for key in new], end, events)
        for key, data in fresh.series.items():
            if key in watched:
                self._feed(self.series[(query, key)], data, float("-inf"), events)
        self.fetched_until[query] = end

    def _add_series(self, query: str, fresh: list[SeriesData], end: float, events: list[Alert]) -> None:
        config, step = self.config, self.config.step_seconds
        history_start = end - config.history_seconds
        added = [(self._watch(query, data.labels, history_start), data) for data in fresh]
        # One narrowed query for all of them, from the earliest point any of them still needs. If it
        # fails, none of them is watched yet: the next cycle sees them as new and tries again.
        needed = [w.detector.last_timestamp + step if w.detector.last_timestamp is not None else history_start
                  for w, _ in added]
        start = max(history_start, min(needed))
        history = self.source.query_range_of(query, [d.labels for _, d in added], start, end, step) \
            if start < end else {}
        emit_from = end - config.score_window_seconds
        for watched, data in added:
            self.series[(query, series_key_of(watched.labels))] = watched
            log.info("watching %s{%s}%s", query, watched.name, " with its saved model" if watched.saved_fit else "")
            self._feed(watched, history.get(series_key_of(watched.labels), data), emit_from, events)
            if watched.alert is not None and watched.alert not in events:
                events.append(watched.alert)  # still firing from before a restart: tell again

    def _watch(self, query: str, labels: dict[str, str], history_start: float) -> WatchedSeries:
        """A new series' state: its saved detector if there is a usable one, else a fresh one."""
        step = self.config.step_seconds
        key = series_id(query, labels)
        saved = self.store.load(key, step, self.config.detector_settings)
        if saved is not None and (saved.detector.last_timestamp or 0) < history_start:
            log.info("the saved model of %s{%s} is older than the history window; starting afresh", query, key)
            saved = None
        if saved is None:
            return WatchedSeries(query, labels, key, SeriesDetector(step, self.config.detector_settings),
                                 AlertState(self.config.rule))
        watched = WatchedSeries(query, labels, key, saved.detector, saved.state, saved_fit=saved.detector.fitted_index)
        watched.alert = saved.alert if saved.state.phase is Phase.FIRING else None
        return watched

    def _feed(self, watched: WatchedSeries, data: SeriesData, emit_from: float, events: list[Alert]) -> None:
        """Stream the series' new points (up to its last present one) through its detector."""
        present = np.flatnonzero(np.isfinite(data.values))
        if present.size == 0:
            return
        last = int(present[-1])
        step = self.config.step_seconds
        try:
            detector = watched.detector
            fits_before = detector.fitted_index
            scores = detector.update(detector.index_of(data.start), data.values[: last + 1])
            watched.last_seen = max(watched.last_seen or float("-inf"), data.start + step * last)
            transitions = alert_events(watched.state, scores, step)
            for event in transitions:
                self._transition(watched, scores, event, emit_from, events)
            finite = scores.score[np.isfinite(scores.score)]
            if finite.size:
                watched.last_score = float(finite[-1])
            if detector.fitted_index != fits_before and self.metrics:
                self.metrics.trainings.inc()
                self.metrics.last_training.labels(watched.query, watched.name).set(detector.trained_at)
            if detector.fitted_index != watched.saved_fit or transitions:
                self.store.save(watched.model_key, SavedSeries(detector, watched.state, watched.alert))
                watched.saved_fit = detector.fitted_index
        except Exception:
            log.exception("scoring %s{%s} failed; skipped this cycle", watched.query, watched.name)
            return
        if self.metrics:
            labels = (watched.query, watched.name)
            if np.isfinite(watched.last_score):
                self.metrics.score.labels(*labels).set(watched.last_score)
            self.metrics.firing.labels(*labels).set(1 if watched.state.phase is Phase.FIRING else 0)

    def _transition(self, watched: WatchedSeries, scores: Scores, event: AlertEvent, emit_from: float,
                    events: list[Alert]) -> None:
        if event.transition is Transition.FIRED:
            alert = self._alert(watched, scores, event)
            # Alerts that fired in the history fetched for a new series are history, not news.
            watched.alert = alert if event.timestamp >= emit_from else None
            if watched.alert is not None:
                events.append(alert)
        elif event.transition is Transition.RESOLVED and watched.alert is not None:
            events.append(watched.alert.resolved(event.timestamp))
            watched.alert = None

    def _alert(self, watched: WatchedSeries, scores: Scores, event: AlertEvent) -> Alert:
        why = watched.detector.explain(scores, event.offset)
        metric = watched.labels.get("__name__", watched.query)
        rule = self.config.rule
        value = float(scores.values[event.offset])
        return Alert(
            labels=dict(watched.labels),
            status="firing",
            severity=rule.severity(event.score),  # type: ignore[arg-type]
            summary=f"{metric}: {'range break' if why.reason == 'range_break' else 'shape change'}",
            feature=why.feature,
            feature_description=why.description,
            score=event.score,
            threshold=rule.threshold,
            value=value,
            query=watched.query,
            starts_at=event.timestamp,
            ends_at=None,
            generator_url=self.source.graph_url(watched.query),
            reason=why.reason,
            feature_value=why.feature_value,
            expected_min=why.expected_min,
            expected_max=why.expected_max,
        )

    def _drop(self, key: tuple[str, SeriesKey], watched: WatchedSeries, end: float, events: list[Alert]) -> None:
        log.info("series %s{%s} vanished; no longer watched", watched.query, watched.name)
        if watched.alert is not None:
            events.append(watched.alert.resolved(end))
            watched.alert = None
        del self.series[key]
        if self.metrics:
            self.metrics.forget(watched.query, watched.name)

    # -- driving ---------------------------------------------------------------------------

    def run_once(self, deliver_seconds: float = 30.0) -> list[Alert]:
        """Stream the history, announce what fired in the recent window, deliver it (retrying
        with backoff for up to ``deliver_seconds``), and return the events."""
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


def series_key_of(labels: dict[str, str]) -> SeriesKey:
    return tuple(sorted(labels.items()))


"""Unit tests of the monitor's other parts: the alert state machine and its suppression, config,
range chunking and narrowed history queries, reading bounded Prometheus responses, Alertmanager
delivery, persistence, and series churn in the worker."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import ScriptedSource, free_port
from fireside.monitor.alert import Alert
from fireside.monitor.alert_state import AlertRule, AlertState, Phase, Transition
from fireside.monitor.alertmanager import AlertmanagerClient
from fireside.monitor.config import MonitorConfig, load_config_file, merge_config
from fireside.monitor.detector import DetectorSettings, SeriesDetector
from fireside.monitor.persistence import ModelStore, SavedSeries
from fireside.monitor.prometheus_source import (
    MAX_POINTS_PER_SERIES,
    PrometheusError,
    chunks,
    iter_result_items,
    only_series,
)
from fireside.monitor.worker import MonitorWorker

# -- alert state machine -------------------------------------------------------------------

def test_pending_then_firing_after_for_duration_then_resolved_with_hysteresis() -> None:
    state = AlertState(AlertRule(threshold=0.5, resolve_threshold=0.3, for_seconds=120, resolve_for_seconds=60))
    assert state.observe(0, 0.6) is None and state.phase is Phase.PENDING
    assert state.observe(60, 0.7) is None and state.phase is Phase.PENDING
    assert state.observe(120, 0.7) is Transition.FIRED and state.phase is Phase.FIRING
    assert state.observe(180, 0.4) is None  # below threshold but above resolve: still firing
    assert state.observe(240, 0.1) is None  # below resolve: the resolve timer starts
    assert state.observe(300, 0.1) is Transition.RESOLVED and state.phase is Phase.INACTIVE


def test_pending_that_drops_never_fires_and_nan_changes_nothing() -> None:
    state = AlertState(AlertRule(threshold=0.5, for_seconds=120))
    state.observe(0, 0.9)
    assert state.observe(60, 0.2) is None and state.phase is Phase.INACTIVE
    state.observe(100, 0.9)
    assert state.observe(160, float("nan")) is None and state.phase is Phase.PENDING
    assert state.observe(220, None) is None and state.phase is Phase.PENDING
    assert state.observe(230, 0.9) is Transition.FIRED


def test_after_firing_the_series_is_suppressed_for_the_suppression_window() -> None:
    state = AlertState(AlertRule(threshold=0.5, resolve_threshold=0.4, suppress_seconds=1000))
    assert state.observe(0, 0.9) is Transition.FIRED
    assert state.observe(60, 0.1) is Transition.RESOLVED
    assert state.observe(120, 0.99) is None and state.phase is Phase.INACTIVE  # same episode: silent
    assert state.observe(999, 0.99) is None
    assert state.observe(1000, 0.99) is Transition.FIRED  # a new episode once the window is over


def test_severity_by_score() -> None:
    rule = AlertRule(error_threshold=0.9)
    assert rule.severity(0.6) == "warning" and rule.severity(0.95) == "error"


# -- config --------------------------------------------------------------------------------

def test_bad_config_values_are_reported_once_and_replaced_by_defaults(tmp_path: Path) -> None:
    path = tmp_path / "monitor.toml"
    path.write_text(
        '[monitor]\nprometheus_url = "http://127.0.0.1:9090"\nqueries = ["up", "-rate(x[5m])"]\n'
        'threshold = 7\nstep_seconds = "fast"\noutput = "xml"\nbogus = 1\nfor_seconds = 120\n'
        'suppress_seconds = 600\nmax_series = 0\n'
    )
    raw, problems = load_config_file(path)
    assert problems == []
    config, problems = merge_config(MonitorConfig(), raw)
    assert config.prometheus_url == "http://127.0.0.1:9090"
    assert config.queries == ("up", "-rate(x[5m])")
    assert config.for_seconds == 120.0 and config.rule.suppress_seconds == 600.0
    defaults = MonitorConfig()
    assert (config.threshold, config.step_seconds, config.output, config.max_series) == (
        defaults.threshold, defaults.step_seconds, defaults.output, defaults.max_series)
    assert sorted(p.setting for p in problems) == ["bogus", "max_series", "output", "step_seconds", "threshold"]


def test_unreadable_config_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("this is = = not toml")
    raw, problems = load_config_file(path)
    assert raw == {} and len(problems) == 1


def test_detector_settings_follow_the_config() -> None:
    config = MonitorConfig(range_window_seconds=7200, train_window_seconds=3600, retrain_interval_seconds=600,
                           min_history_seconds=300, season_days=0)
    settings = config.detector_settings
    assert (settings.range_window_seconds, settings.train_window_seconds, settings.refit_interval_seconds,
            settings.min_history_seconds, settings.season_days) == (7200, 3600, 600, 300, 0)


# -- Prometheus ----------------------------------------------------------------------------

def test_chunks_cover_the_range_without_overlap_within_the_point_limit() -> None:
    step = 60.0
    parts = chunks(0.0, step * 30_000, step)
    assert parts[0][0] == 0.0 and parts[-1][1] == step * 30_000
    for a, b in parts:
        assert (b - a) / step + 1 <= MAX_POINTS_PER_SERIES
    for (_, b), (a, _) in zip(parts, parts[1:], strict=False):
        assert a == b + step
    assert sum(int((b - a) / step) + 1 for a, b in parts) == 30_001


def test_history_query_is_narrowed_to_the_new_series() -> None:
    query = only_series('rate(x{job="a"}[5m])', [{"__name__": "x", "job": "a", "pod": 'p"1'}, {"job": "a"}])
    assert query == (
        '(rate(x{job="a"}[5m])) and on(job, pod) ('
        'label_replace(label_replace(vector(1), "job", "a", "", ""), "pod", "p\\"1", "", "") or '
        'label_replace(label_replace(vector(1), "job", "a", "", ""), "pod", "", "", ""))'
    )


def _body(n: int) -> str:
    items = [{"metric": {"i": str(k)}, "values": [[60 * j, str(k + j)] for j in range(3)]} for k in range(n)]
    return json.dumps({"status": "success", "data": {"resultType": "matrix", "result": items}})


def test_a_response_cut_by_the_byte_limit_yields_its_complete_series_only() -> None:
    body = _body(50)
    whole = list(iter_result_items(body, truncated=False))
    assert len(whole) == 50 and whole[7]["metric"] == {"i": "7"}
    cut = body[: len(body) // 2]
    part = list(iter_result_items(cut, truncated=True))
    assert 20 <= len(part) < 50 and part == whole[: len(part)]
    with pytest.raises(PrometheusError):
        list(iter_result_items(cut, truncated=False))  # cut without a reason: a broken response
    with pytest.raises(PrometheusError, match="bad_data"):
        list(iter_result_items('{"status":"error","errorType":"bad_data","error":"parse error"}', False))


# -- Alertmanager delivery -----------------------------------------------------------------

def make_alert(status: str = "firing", service: str = "api") -> Alert:
    return Alert(labels={"__name__": "m", "service": service}, status=status, severity="warning",  # type: ignore[arg-type]
                 summary="s", feature="value", feature_description="value 9 above its 14 days range 1–3",
                 score=0.8, threshold=0.5, value=9.0, query="m", starts_at=1000.0,
                 ends_at=None if status == "firing" else 2000.0, generator_url="http://127.0.0.1:9090/graph?g0.expr=m",
                 reason="range_break", feature_value=9.0, expected_min=1.0, expected_max=3.0)


def test_alertmanager_down_keeps_alerts_and_backs_off() -> None:
    now = [1000.0]
    client = AlertmanagerClient(f"http://127.0.0.1:{free_port()}", backoff_initial=1.0, clock=lambda: now[0])
    client.submit(make_alert())
    assert client.flush() is False and client.failures == 1 and client.pending() == 1
    assert client.next_attempt == 1001.0
    assert client.flush() is False and client.failures == 1  # not due yet: no new attempt
    now[0] = 1001.0
    client.flush()
    assert client.failures == 2 and client.next_attempt == 1003.0  # doubled
    client.submit(make_alert("resolved"))  # a newer state replaces the queued one
    assert client.pending() == 1
    assert next(iter(client.outbox.values())).status == "resolved"


def test_alertmanager_payload_carries_the_reason_value_and_expected_range() -> None:
    body = make_alert().to_alertmanager(lease_until=1240.0)
    assert body["labels"] == {"alertname": "FiresideAnomaly", "metric": "m", "service": "api"}
    assert body["startsAt"] == "1970-01-01T00:16:40.000Z" and body["endsAt"] == "1970-01-01T00:20:40.000Z"
    resolved = make_alert("resolved").to_alertmanager(lease_until=1240.0)
    assert resolved["endsAt"] == "1970-01-01T00:33:20.000Z"
    annotations = body["annotations"]
    assert annotations["reason"] == "range_break" and annotations["value"] == "9"
    assert annotations["expected_range"] == "1 to 3"
    assert Alert.from_dict(make_alert().to_dict()) == make_alert()
    old = {k: v for k, v in make_alert().to_dict().items()
           if k not in ("reason", "feature_value", "expected_min", "expected_max")}
    assert Alert.from_dict(old).reason == ""  # an older payload still reads


# -- persistence ---------------------------------------------------------------------------

def _trained(step: float = 60.0) -> SeriesDetector:
    detector = SeriesDetector(step, DetectorSettings(season_days=0, min_history_seconds=0, train_window_seconds=6000))
    detector.update(0, 50 + np.random.default_rng(0).normal(0, 1, 400))
    assert detector.ready
    return detector


def test_corrupt_or_mismatched_model_files_are_dropped(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    detector = _trained()
    store.save("a", SavedSeries(detector, AlertState(AlertRule()), None))
    loaded = store.load("a", 60.0, detector.settings)
    assert loaded is not None and loaded.detector.next_index == detector.next_index
    assert store.load("a", 60.0, DetectorSettings()) is None and not store.path("a").exists()  # other settings
    store.save("a", SavedSeries(detector, AlertState(AlertRule()), None))
    assert store.load("a", 30.0) is None and not store.path("a").exists()  # other step
    store.path("b").write_bytes(b"\x80garbage")
    assert store.load("b", 60.0) is None and not store.path("b").exists()


def test_models_of_series_gone_past_the_retention_are_swept(tmp_path: Path) -> None:
    import os

    store = ModelStore(tmp_path)
    saved = SavedSeries(_trained(), AlertState(AlertRule()), None)
    for key in ("live", "gone", "recent"):
        store.save(key, saved)
    old = 1_000_000.0
    os.utime(store.path("live"), (old, old))
    os.utime(store.path("gone"), (old, old))
    deleted = store.sweep(keep={"live"}, older_than=3600, now=old + 7200)
    assert deleted == ["gone"]
    assert store.path("live").exists() and store.path("recent").exists() and not store.path("gone").exists()


# -- worker: series that appear and vanish -------------------------------------------------

def test_series_appear_and_vanish_without_a_restart(tmp_path: Path) -> None:
    step = 60.0
    n = 3000
    now = [step * 2000]
    source = ScriptedSource(step)
    rng = np.random.default_rng(0)
    source.live["a"] = 50 + rng.normal(0, 1, n)
    config = MonitorConfig(prometheus_url="http://127.0.0.1:9", queries=("m",), step_seconds=step,
                           history_seconds=step * 1900, score_window_seconds=600, stale_after_seconds=300,
                           resolve_for_seconds=0, min_history_seconds=step * 300, season_days=0,
                           model_dir=str(tmp_path))
    events: list[Alert] = []
    worker = MonitorWorker(config, source, ModelStore(tmp_path), events.append, clock=lambda: now[0])  # type: ignore[arg-type]
    worker.cycle()
    assert [w.labels["service"] for w in worker.series.values()] == ["a"]
    assert source.history_requests == [["a"]]  # the history of the one new series

    b = 50 + rng.normal(0, 1, n)
    b[2050:] += 30  # "b" shows up already misbehaving
    source.live["b"] = b
    source.live["c"] = np.full(n, np.nan)  # Prometheus returns it, but only with NaN samples
    now[0] = step * 2060
    worker.cycle()
    assert sorted(w.labels["service"] for w in worker.series.values()) == ["a", "b"]
    assert source.history_requests[-1] == ["b"]  # only the new series' history was fetched
    assert [(e.labels["service"], e.status, e.reason) for e in events] == [("b", "firing", "range_break")]

    del source.live["c"]
    del source.live["b"]  # "b" vanishes: its alert resolves and it is no longer watched
    now[0] = step * 2070
    worker.cycle()
    now[0] = step * 2070 + config.stale_after_seconds + step
    worker.cycle()
    assert [w.labels["service"] for w in worker.series.values()] == ["a"]
    assert [(e.labels["service"], e.status) for e in events] == [("b", "firing"), ("b", "resolved")]


def test_at_most_max_series_are_watched_and_the_newest_are_skipped_with_one_warning(tmp_path: Path, caplog) -> None:
    step = 60.0
    source = ScriptedSource(step)
    rng = np.random.default_rng(1)
    for name in ("a", "b", "c"):
        source.live[name] = 50 + rng.normal(0, 1, 500)
    config = MonitorConfig(prometheus_url="http://127.0.0.1:9", queries=("m",), step_seconds=step,
                           history_seconds=step * 400, max_series=2, season_days=0, model_dir=str(tmp_path))
    now = [step * 450]
    worker = MonitorWorker(config, source, ModelStore(tmp_path), lambda _: None, clock=lambda: now[0])  # type: ignore[arg-type]
    caplog.set_level("WARNING", logger="fireside.monitor.worker")
    for _ in range(3):
        worker.cycle()
        now[0] += step
    assert sorted(w.labels["service"] for w in worker.series.values()) == ["a", "b"]
    assert sum("max_series" in r.getMessage() for r in caplog.records) == 1  # said once, not every cycle

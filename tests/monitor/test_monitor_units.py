"""Unit tests of the monitor's parts: features, calibration, detector, alert state machine,
config, range chunking, Alertmanager backoff, persistence, and series churn in the worker."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from conftest import free_port
from fireside.monitor.alert import Alert
from fireside.monitor.alert_state import AlertRule, AlertState, Phase, Transition
from fireside.monitor.alertmanager import AlertmanagerClient
from fireside.monitor.calibration import TailCalibration
from fireside.monitor.config import MonitorConfig, load_config_file, merge_config
from fireside.monitor.detector import Detector, DetectorSettings
from fireside.monitor.features import choose_spec, feature_matrix
from fireside.monitor.persistence import ModelStore
from fireside.monitor.prometheus_source import MAX_POINTS_PER_SERIES, SeriesData, chunks, series_key
from fireside.monitor.worker import MonitorWorker


def seasonal(n: int, seed: int = 0, period: int = 288) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 50 + 10 * np.sin(2 * np.pi * np.arange(n) / period) + rng.normal(0, 1, n)


# -- features ------------------------------------------------------------------------------

def test_feature_rows_touching_a_gap_are_nan_and_others_are_not() -> None:
    spec = choose_spec(300.0, available_points=100, min_train_points=50)
    assert spec.day_lag == 0 and spec.week_lag == 0  # not enough history for seasonal residuals
    values = np.arange(40, dtype=float)
    values[20] = np.nan
    rows = feature_matrix(values, spec)
    assert rows.shape == (40, len(spec.names))
    bad = ~np.isfinite(rows).all(axis=1)
    assert bad[: spec.context].all()  # not enough context yet
    assert bad[20] and bad[21] and not bad[30]  # the gap, its diff, and recovery afterwards
    assert rows[30, spec.names.index("diff")] == 1.0


def test_seasonal_residuals_used_only_when_history_allows() -> None:
    spec = choose_spec(300.0, available_points=288 + 200, min_train_points=100)
    assert spec.day_lag == 288 and spec.week_lag == 0
    assert "day_residual" in spec.names and "week_residual" not in spec.names


# -- calibration ---------------------------------------------------------------------------

def test_calibration_is_monotone_and_extrapolates_past_training_maximum() -> None:
    train = np.random.default_rng(1).normal(0, 1, 2000)
    calibration = TailCalibration.fit(train)
    probe = np.array([-3.0, 0.0, 1.0, 2.0, train.max(), train.max() + 1, train.max() + 3])
    p = calibration.tail_probability(probe)
    assert np.all(np.diff(p) < 0)
    assert abs(p[1] - 0.5) < 0.03  # the median is a coin flip
    assert p[-1] < 1 / 2001  # beyond anything seen: smaller than the empirical floor
    assert math.isnan(calibration.anomaly_score(np.array([np.nan]))[0])


# -- detector ------------------------------------------------------------------------------

def test_detector_scores_a_level_shift_high_and_normal_points_low() -> None:
    values = seasonal(1500)
    values[1450:1460] *= 3
    detector = Detector(300.0, DetectorSettings(train_points=1000))
    assert detector.fit(values[:1400])
    scores = detector.score(values, 1400)
    assert np.nanmax(scores[50:60]) > 0.999
    assert np.nanmedian(scores[:50]) < 0.9
    onset = detector.explain(values, 1450)
    assert onset.feature in ("diff", "smoothed_diff") and onset.description.startswith("sudden jump")
    # Once the diffs calm down, the level itself is what is unusual.
    plateau = detector.explain(values, 1458)
    assert plateau.feature in ("level", "day_residual") and "x " in plateau.description


def test_constant_series_never_scores_but_a_departure_does() -> None:
    flat = np.full(600, 3.0)
    detector = Detector(60.0)
    assert detector.fit(flat[:500])
    assert np.all(detector.score(flat, 500) == 0.0)
    flat[550] = 4.0
    assert detector.score(flat, 500)[50] == 1.0


def test_nan_points_get_no_score() -> None:
    values = seasonal(800)
    detector = Detector(300.0)
    detector.fit(values[:700])
    values[750] = np.nan
    scores = detector.score(values, 700)
    assert math.isnan(scores[50]) and math.isnan(scores[51])
    assert np.isfinite(scores[60])


def test_too_little_data_means_no_model() -> None:
    detector = Detector(60.0)
    assert not detector.fit(np.arange(30, dtype=float))
    assert not detector.ready
    assert np.isnan(detector.score(np.arange(40, dtype=float), 30)).all()


# -- alert state machine -------------------------------------------------------------------

def test_pending_then_firing_after_for_duration_then_resolved_with_hysteresis() -> None:
    state = AlertState(AlertRule(threshold=0.99, resolve_threshold=0.9, for_seconds=120, resolve_for_seconds=60))
    assert state.observe(0, 0.995) is None and state.phase is Phase.PENDING
    assert state.observe(60, 0.999) is None and state.phase is Phase.PENDING
    assert state.observe(120, 0.999) is Transition.FIRED and state.phase is Phase.FIRING
    assert state.observe(180, 0.95) is None  # below threshold but above resolve: still firing
    assert state.observe(240, 0.5) is None  # below resolve: the resolve timer starts
    assert state.observe(300, 0.5) is Transition.RESOLVED and state.phase is Phase.INACTIVE


def test_pending_that_drops_never_fires_and_nan_changes_nothing() -> None:
    state = AlertState(AlertRule(threshold=0.99, for_seconds=120))
    state.observe(0, 0.999)
    assert state.observe(60, 0.2) is None and state.phase is Phase.INACTIVE
    state.observe(100, 0.999)
    assert state.observe(160, float("nan")) is None and state.phase is Phase.PENDING
    assert state.observe(220, None) is None and state.phase is Phase.PENDING
    assert state.observe(230, 0.999) is Transition.FIRED


def test_severity_by_score() -> None:
    rule = AlertRule(error_threshold=0.9999)
    assert rule.severity(0.9995) == "warning" and rule.severity(0.99999) == "error"


# -- config --------------------------------------------------------------------------------

def test_bad_config_values_are_reported_once_and_replaced_by_defaults(tmp_path: Path) -> None:
    path = tmp_path / "monitor.toml"
    path.write_text(
        '[monitor]\nprometheus_url = "http://127.0.0.1:9090"\nqueries = ["up", "rate(x[5m])"]\n'
        'threshold = 7\nstep_seconds = "fast"\noutput = "xml"\nbogus = 1\nfor_seconds = 120\n'
    )
    raw, problems = load_config_file(path)
    assert problems == []
    config, problems = merge_config(MonitorConfig(), raw)
    assert config.prometheus_url == "http://127.0.0.1:9090"
    assert config.queries == ("up", "rate(x[5m])")
    assert config.for_seconds == 120.0
    defaults = MonitorConfig()
    assert (config.threshold, config.step_seconds, config.output) == (
        defaults.threshold, defaults.step_seconds, defaults.output)
    assert sorted(p.setting for p in problems) == ["bogus", "output", "step_seconds", "threshold"]


def test_unreadable_config_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("this is = = not toml")
    raw, problems = load_config_file(path)
    assert raw == {} and len(problems) == 1


# -- Prometheus range chunking -------------------------------------------------------------

def test_chunks_cover_the_range_without_overlap_within_the_point_limit() -> None:
    step = 60.0
    parts = chunks(0.0, step * 30_000, step)
    assert parts[0][0] == 0.0 and parts[-1][1] == step * 30_000
    for a, b in parts:
        assert (b - a) / step + 1 <= MAX_POINTS_PER_SERIES
    for (_, b), (a, _) in zip(parts, parts[1:], strict=False):
        assert a == b + step
    assert sum(int((b - a) / step) + 1 for a, b in parts) == 30_001


# -- Alertmanager delivery -----------------------------------------------------------------

def make_alert(status: str = "firing", service: str = "api") -> Alert:
    return Alert(labels={"__name__": "m", "service": service}, status=status, severity="warning",  # type: ignore[arg-type]
                 summary="s", feature="diff", feature_description="sudden jump", score=0.9995, threshold=0.999,
                 value=1.0, query="m", starts_at=1000.0, ends_at=None if status == "firing" else 2000.0,
                 generator_url="http://127.0.0.1:9090/graph?g0.expr=m")


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


def test_alertmanager_payload_shape() -> None:
    body = make_alert().to_alertmanager(lease_until=1240.0)
    assert body["labels"] == {"alertname": "FiresideAnomaly", "metric": "m", "service": "api"}
    assert body["startsAt"] == "1970-01-01T00:16:40.000Z" and body["endsAt"] == "1970-01-01T00:20:40.000Z"
    resolved = make_alert("resolved").to_alertmanager(lease_until=1240.0)
    assert resolved["endsAt"] == "1970-01-01T00:33:20.000Z"
    assert set(body["annotations"]) >= {"summary", "feature", "description", "score"}
    assert Alert.from_dict(make_alert().to_dict()) == make_alert()


# -- persistence ---------------------------------------------------------------------------

def test_corrupt_or_mismatched_model_files_are_dropped(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    detector = Detector(60.0)
    assert detector.fit(seasonal(400))
    store.save("a", detector)
    assert store.load("a", 60.0) is not None
    assert store.load("a", 30.0) is None and not store.path("a").exists()  # other step: retrain
    store.path("b").write_bytes(b"\x80garbage")
    assert store.load("b", 60.0) is None and not store.path("b").exists()


# -- worker: series that appear and vanish -------------------------------------------------

class ScriptedSource:
    """Serves whatever series the test puts in ``live``, for any range asked."""

    def __init__(self, step: float) -> None:
        self.step = step
        self.live: dict[str, np.ndarray] = {}  # service -> values at t = index * step

    def query_range(self, query: str, start: float, end: float, step: float) -> dict:
        out = {}
        for service, values in self.live.items():
            a, b = int(start // step), int(end // step)
            window = np.full(b - a + 1, np.nan)
            lo, hi = max(a, 0), min(b, len(values) - 1)
            if hi >= lo:
                window[lo - a : hi - a + 1] = values[lo : hi + 1]
            labels = {"__name__": "m", "service": service}
            out[series_key(labels)] = SeriesData(labels, a * step, window)
        return out

    def graph_url(self, query: str) -> str:
        return "http://127.0.0.1:9/graph"


def test_series_appear_and_vanish_without_a_restart(tmp_path: Path) -> None:
    step = 60.0
    n = 3000
    now = [step * 2000]
    source = ScriptedSource(step)
    base = seasonal(n, period=1440)
    source.live["a"] = base.copy()
    config = MonitorConfig(prometheus_url="http://127.0.0.1:9", queries=("m",), step_seconds=step,
                           history_seconds=step * 1900, score_window_seconds=600, stale_after_seconds=300,
                           resolve_for_seconds=0)
    events: list[Alert] = []
    worker = MonitorWorker(config, source, ModelStore(tmp_path), events.append, clock=lambda: now[0])  # type: ignore[arg-type]
    worker.cycle()
    assert [w.labels["service"] for w in worker.series.values()] == ["a"]

    b = seasonal(n, seed=5, period=1440)
    b[2050:] *= 4  # "b" shows up already misbehaving
    source.live["b"] = b
    source.live["c"] = np.full(n, np.nan)  # Prometheus returns it, but only with NaN samples
    now[0] = step * 2060
    worker.cycle()
    assert sorted(w.labels["service"] for w in worker.series.values()) == ["a", "b"]
    assert [(e.labels["service"], e.status) for e in events] == [("b", "firing")]

    del source.live["c"]
    del source.live["b"]  # "b" vanishes: its alert resolves and it is no longer watched
    now[0] = step * 2070
    worker.cycle()
    now[0] = step * 2070 + config.stale_after_seconds + step
    worker.cycle()
    assert [w.labels["service"] for w in worker.series.values()] == ["a"]
    assert [(e.labels["service"], e.status) for e in events] == [("b", "firing"), ("b", "resolved")]

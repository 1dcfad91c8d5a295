"""The detector's parts: causal features, trailing ranges, the compact forest, and the streaming
detector (range breaks, shape changes, explanations, gaps, constants, causality, chunking)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fireside.monitor.detector import DetectorSettings, SeriesDetector
from fireside.monitor.features import FeatureSpec, feature_matrix
from fireside.monitor.forest import CompactForest
from fireside.monitor.ranges import RangeTracker
from sklearn.ensemble import IsolationForest

STEP = 300.0  # NAB's resolution: one day is 288 points


def seasonal(n: int, seed: int = 0, period: int = 288, noise: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 50 + 10 * np.sin(2 * np.pi * np.arange(n) / period) + rng.normal(0, noise, n)


def stream(values: np.ndarray, chunk: int, settings: DetectorSettings | None = None, step: float = STEP,
           first: int = 10_000) -> tuple[SeriesDetector, dict[str, np.ndarray]]:
    detector = SeriesDetector(step, settings or DetectorSettings())
    out: dict[str, list[np.ndarray]] = {"score": [], "range": [], "shape": []}
    for a in range(0, len(values), chunk):
        scores = detector.update(first + a, values[a : a + chunk])
        out["score"].append(scores.score)
        out["range"].append(scores.range_strength)
        out["shape"].append(scores.shape_strength)
    return detector, {k: np.concatenate(v) for k, v in out.items()}


# -- causality -----------------------------------------------------------------------------

@pytest.mark.parametrize("t", [300, 777, 1500])
def test_changing_values_after_t_changes_no_feature_and_no_score_at_or_before_t(t: int) -> None:
    values = seasonal(2000)
    values[1200:1230] += 40  # an anomaly, so that the scores are not all alike
    values[np.random.default_rng(3).random(values.size) < 0.02] = np.nan
    spec = FeatureSpec.for_step(STEP)
    assert "season" in spec.names
    altered = values.copy()
    rng = np.random.default_rng(t)
    altered[t + 1 :] = rng.normal(0, 1e6, altered.size - t - 1)
    altered[t + 1 :: 7] = np.nan

    before, _ = feature_matrix(values, spec)
    after, _ = feature_matrix(altered, spec)
    for k, name in enumerate(spec.names):
        np.testing.assert_array_equal(before[: t + 1, k], after[: t + 1, k], err_msg=f"feature {name} saw the future")
    assert not np.array_equal(before[t + 1 :], after[t + 1 :], equal_nan=True)  # the change did reach later rows

    _, original = stream(values, 288)
    _, changed = stream(altered, 288)
    for what in ("score", "range", "shape"):
        np.testing.assert_array_equal(original[what][: t + 1], changed[what][: t + 1],
                                      err_msg=f"{what} at or before t={t} moved")
    assert not np.array_equal(original["score"][t + 1 :], changed["score"][t + 1 :], equal_nan=True)


def test_scores_do_not_depend_on_how_the_stream_is_cut() -> None:
    values = seasonal(900)
    values[700:720] *= 2
    settings = DetectorSettings(season_days=1)
    _, whole = stream(values, len(values), settings)
    for chunk in (1, 13, 288):
        _, parts = stream(values, chunk, settings)
        np.testing.assert_array_equal(whole["score"], parts["score"], err_msg=f"chunks of {chunk}")
    assert np.isfinite(whole["score"]).sum() > 500


# -- parts ---------------------------------------------------------------------------------

def test_trailing_ranges_equal_a_brute_force_window_whatever_the_chunks() -> None:
    rng = np.random.default_rng(5)
    rows = rng.normal(size=(700, 3))
    rows[rng.random(rows.shape) < 0.1] = np.nan
    bucket, buckets, first = 7, 5, 1234
    tracker = RangeTracker(3, bucket, buckets)
    got = []
    for a, b in ((0, 1), (1, 50), (50, 51), (51, 400), (400, 700)):
        got.append(tracker.update(first + a, rows[a:b]))
    high = np.vstack([g.high for g in got])
    low = np.vstack([g.low for g in got])
    count = np.vstack([g.count for g in got])
    for i in range(len(rows)):
        b = (first + i) // bucket
        lo_index = max(0, (b - buckets) * bucket - first)
        window = rows[lo_index:i]
        with np.errstate(all="ignore"):
            expect_high = np.nanmax(np.vstack([window, np.full((1, 3), -np.inf)]), axis=0)
            expect_low = np.nanmin(np.vstack([window, np.full((1, 3), np.inf)]), axis=0)
        np.testing.assert_array_equal(high[i], expect_high)
        np.testing.assert_array_equal(low[i], expect_low)
        np.testing.assert_array_equal(count[i], np.isfinite(window).sum(axis=0))


def test_compact_forest_scores_like_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    train = rng.normal(size=(800, 6))
    train[:, 2] = np.round(train[:, 2])  # ties, as in quantised metrics
    probe = rng.normal(size=(2000, 6)) * 3
    forest = IsolationForest(n_estimators=25, max_samples=256, random_state=0).fit(train)
    compact = CompactForest.from_sklearn(forest)
    np.testing.assert_allclose(compact.isolation(probe), -forest.score_samples(probe), rtol=0, atol=1e-6)


def test_features_skip_gaps_and_need_half_a_block() -> None:
    spec = FeatureSpec.for_step(STEP, season_days=0)
    values = np.arange(100, dtype=float)
    values[40] = np.nan
    values[60:70] = np.nan
    rows, _ = feature_matrix(values, spec)
    assert np.isnan(rows[40]).all() and np.isnan(rows[65]).all()  # a missing point is never scored
    mean4 = spec.names.index("mean4")
    assert rows[41, mean4] == pytest.approx((38 + 39 + 41) / 3)  # 3 of 4 present: still a mean
    assert np.isnan(rows[70, mean4])  # 1 of 4 (67-69 were gaps): not a mean
    assert rows[71, mean4] == pytest.approx(70.5)  # 2 of 4: half is enough


# -- the detector --------------------------------------------------------------------------

def test_a_level_shift_is_a_range_break_with_its_value_and_expected_range() -> None:
    values = seasonal(1500)
    values[1400:] += 60
    detector, out = stream(values, 288)
    assert np.nanmax(out["score"][400:1399]) < 0.5  # normal days never reach the alert threshold
    assert out["score"][1400] >= 0.5
    scores = detector.update(10_000 + 1500, seasonal(1, seed=9) + 60)  # one more point, still shifted
    assert len(scores) == 1
    # Explain the first shifted point from a fresh stream of the same data.
    again = SeriesDetector(STEP)
    scored = again.update(10_000, values[:1401])
    why = again.explain(scored, 1400)
    assert why.reason == "range_break" and why.feature == "value"
    assert why.feature_value == pytest.approx(values[1400])
    assert why.expected_max < values[1400] and why.expected_min < why.expected_max
    assert why.description.startswith(f"value {values[1400]:.4g} above its 14 days range")


def test_a_level_unlike_the_training_window_is_a_shape_change() -> None:
    # Five days high, four days low, then high again: the value is inside its 14-day range (no
    # range break), but the forest, trained on the last 3 days, has never seen such a row.
    rng = np.random.default_rng(1)
    values = np.concatenate([90 + rng.normal(0, 3, 1440), 22 + rng.normal(0, 1, 1152), 88 + rng.normal(0, 3, 20)])
    shift = 1440 + 1152
    detector = SeriesDetector(STEP, DetectorSettings(season_days=0, shape_alone=1.2))
    scored = detector.update(0, values)
    assert np.nanmax(scored.score[1800:shift]) < 0.5
    assert scored.range_strength[shift] == 0.0 and scored.score[shift] >= 0.5
    why = detector.explain(scored, shift)
    assert why.reason == "shape_change" and why.feature == "value"
    assert why.expected_max < 30 and why.feature_value == pytest.approx(values[shift])
    assert why.description.startswith("unusual shape: value")


def test_a_constant_series_never_scores_but_leaving_it_does() -> None:
    flat = np.full(800, 3.0)
    detector, out = stream(flat, 288, DetectorSettings(season_days=1))
    finite = out["score"][np.isfinite(out["score"])]
    assert finite.size > 300 and np.all(finite == 0.0)
    scores = detector.update(10_000 + 800, np.array([3.0, 4.0]))
    assert scores.score[0] == 0.0 and scores.score[1] >= 0.5


def test_no_scores_before_enough_history_and_none_for_missing_points() -> None:
    values = seasonal(700)
    values[500] = np.nan
    detector, out = stream(values, 100)
    assert np.isnan(out["score"][: detector.warm_points]).all()
    assert math.isnan(out["score"][500]) and np.isfinite(out["score"][501])
    assert detector.ready and detector.n_train >= 64


def test_a_long_gap_resumes_without_scoring_the_gap() -> None:
    values = seasonal(600)
    detector = SeriesDetector(STEP, DetectorSettings(season_days=1))
    detector.update(0, values)
    later = detector.update(5000, seasonal(10, seed=2))  # 4,400 points later
    assert later.start == 5000 and len(later) == 10
    assert detector.next_index == 5010
    assert detector.update(4000, seasonal(3)).score.size == 0  # points already past are ignored

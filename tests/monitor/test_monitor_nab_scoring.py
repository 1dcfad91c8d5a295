"""eval/nab_scoring.py against hand-computed NAB scores."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "eval"))
from nab_scoring import DEFAULT_PROFILES, raw_score_at, scaled_sigmoid, score_by_threshold, score_corpus, sweep_file  # noqa: E402

STANDARD = DEFAULT_PROFILES["standard"]
STAMPS = [f"t{i:03d}" for i in range(100)]  # 100 rows: the first 15 are probationary
WINDOW = [("t060", "t069")]


def scores_at(*rows: int, value: float = 1.0) -> np.ndarray:
    out = np.zeros(100)
    out[list(rows)] = value
    return out


def normalized(scores: np.ndarray, threshold: float | None = 0.5) -> float:
    return score_corpus([(STAMPS, scores, WINDOW)], STANDARD, "standard", threshold).normalized


def test_scaled_sigmoid_landmarks() -> None:
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(3.5) == -1.0


def test_earliest_detection_in_the_window_is_perfect_and_none_is_null() -> None:
    assert normalized(scores_at(60)) == pytest.approx(100.0)
    assert normalized(scores_at(60, 61, 65)) == pytest.approx(100.0)  # only the best hit in a window counts
    assert normalized(scores_at()) == pytest.approx(0.0)
    assert normalized(scores_at(5)) == pytest.approx(0.0)  # probationary rows are not scored


def test_late_detection_and_false_positives_cost_what_the_sigmoid_says() -> None:
    late = (2 / (1 + math.exp(-0.5)) - 1) / scaled_sigmoid(-1.0)  # last row of a 10-row window
    assert normalized(scores_at(69)) == pytest.approx(100 * (late + 1) / 2)
    assert normalized(scores_at(30)) == pytest.approx(100 * (-1 - 0.11 + 1) / 2)  # far from any window
    just_after = 0.11 * (2 / (1 + math.exp(5 / 9)) - 1)  # one row past the window's right edge
    assert normalized(scores_at(60, 70)) == pytest.approx(100 * (1 + just_after + 1) / 2)


def test_threshold_is_optimised_with_the_labels_when_not_given() -> None:
    scores = scores_at(60, value=0.9) + scores_at(30, value=0.95)
    result = score_corpus([(STAMPS, scores, WINDOW)], STANDARD, "standard", None)
    assert result.threshold == 0.9 and result.raw == pytest.approx(1 - 0.11)


def test_the_threshold_sweep_equals_scoring_each_threshold_on_its_own() -> None:
    rng = np.random.default_rng(4)
    files = []
    offset = 0
    for n, windows in ((300, [("t100", "t129")]), (200, []), (400, [("t120", "t139"), ("t300", "t349")])):
        stamps = [f"t{i:03d}" for i in range(n)]
        scores = np.round(rng.random(n), 2)  # ties on purpose
        files.append(sweep_file(stamps, scores, windows, STANDARD, offset))
        offset += len(windows)
    pairs = score_by_threshold(files, STANDARD["fnWeight"])
    assert pairs[0] == (1.1, -3.0)  # detect nothing: every window missed
    thresholds = [t for t, _ in pairs[1:]]
    assert thresholds == sorted(set(thresholds), reverse=True)
    for threshold, raw in pairs[1:]:
        assert raw == pytest.approx(raw_score_at(files, STANDARD["fnWeight"], threshold))

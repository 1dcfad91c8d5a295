"""NAB scoring: a port of NAB's ``sweeper.py``, ``scorer.py``, ``optimizer.py`` and the runner's
normalisation (github.com/numenta/NAB, MIT): windows around labelled anomalies, a probationary first
15% of each file (at most 750 rows) that is not scored, a scaled sigmoid that rewards early detection
inside a window and charges false positives by their distance past the previous window, per-profile
costs, and a final score normalised between the null detector (no detections) and the perfect one.

A detection is a row whose anomaly score is at or above the threshold. Inside a window only the
best (earliest) detection counts; every detection outside a window is a false positive.

Checked against NAB itself: ``eval/nab_scoring_check.py`` reproduces NAB's published
``final_results.json`` from the published detectors' result files, and ``eval/nab_official.py`` runs
NAB's own runner on ``eval/nab.py``'s files (figures in eval/RESULTS.md).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PROBATION_PERCENT = 0.15

DEFAULT_PROFILES = {
    "standard": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.11},
    "reward_low_FP_rate": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.22},
    "reward_low_FN_rate": {"tpWeight": 1.0, "fnWeight": 2.0, "fpWeight": 0.11},
}

NO_WINDOW = -1
PROBATIONARY = -2


def load_profiles(path: Path | None) -> dict[str, dict[str, float]]:
    """NAB's config/profiles.json when present, else the published defaults."""
    if path is None or not path.exists():
        return DEFAULT_PROFILES
    raw = json.loads(path.read_text())
    return {name: {k: float(v) for k, v in body["CostMatrix"].items()} for name, body in raw.items()}


def scaled_sigmoid(position: float) -> float:
    """-1 at/after 3 window-widths past a window; 2*sigmoid(-5x) - 1 otherwise."""
    if position > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def probation_length(rows: int) -> float:
    return min(math.floor(PROBATION_PERCENT * rows), PROBATION_PERCENT * 5000)


@dataclass
class ScoredFile:
    """Per-row anomaly score, weighted sweep score and window id (or NO_WINDOW/PROBATIONARY)."""

    anomaly: np.ndarray
    sweep: np.ndarray
    window: np.ndarray
    n_windows: int  # windows with at least one scorable row


def sweep_file(
    timestamps: list[str], anomaly: np.ndarray, windows: list[tuple[str, str]], weights: dict[str, float],
    window_offset: int,
) -> ScoredFile:
    """Weight every row as if it were a detection. ``window_offset`` keeps window ids unique
    across the corpus."""
    n = len(timestamps)
    index = {t: i for i, t in enumerate(timestamps)}
    bounds = sorted((index[a], index[b]) for a, b in windows)
    max_tp = scaled_sigmoid(-1.0)
    sweep = np.empty(n)
    window = np.full(n, NO_WINDOW, dtype=np.int64)
    probation = probation_length(n)
    prev_right: int | None = None
    prev_width = 0.0
    w = 0
    for i in range(n):
        inside = w < len(bounds) and bounds[w][0] <= i <= bounds[w][1]
        if inside:
            left, right = bounds[w]
            width = float(right - left + 1)
            sweep[i] = scaled_sigmoid(-(right - i + 1) / width) * weights["tpWeight"] / max_tp
            window[i] = window_offset + w
            if i == right:
                prev_right, prev_width, w = right, width, w + 1
        else:
            if prev_right is None:
                unweighted = -1.0
            else:
                unweighted = scaled_sigmoid(abs(prev_right - i) / (prev_width - 1) if prev_width > 1 else 4.0)
            sweep[i] = unweighted * weights["fpWeight"]
        if i < probation:
            window[i] = PROBATIONARY
    scorable_windows = len(set(window[window >= 0].tolist()))
    return ScoredFile(np.asarray(anomaly, dtype=float), sweep, window, scorable_windows)


def score_by_threshold(files: list[ScoredFile], fn_weight: float) -> list[tuple[float, float]]:
    """(threshold, raw score) for every distinct anomaly score, highest threshold first, each
    threshold detecting the rows at or above it; the first entry (threshold 1.1) is "detect
    nothing". The same pairs as NAB's ``Sweeper.calcScoreByThreshold``, computed with numpy: the
    corpus is sorted once by anomaly score, false positives add up along that order, and each
    window counts its best (earliest) row seen so far."""
    anomaly = np.concatenate([f.anomaly for f in files])
    sweep = np.concatenate([f.sweep for f in files])
    window = np.concatenate([f.window for f in files])
    keep = window != PROBATIONARY
    anomaly, sweep, window = anomaly[keep], sweep[keep], window[keep]
    order = np.argsort(-anomaly, kind="stable")
    anomaly, sweep, window = anomaly[order], sweep[order], window[order]
    gain = np.where(window == NO_WINDOW, sweep, 0.0)
    windows = np.unique(window[window >= 0])
    for k in windows:
        at = np.flatnonzero(window == k)
        best = np.maximum.accumulate(np.concatenate([[-fn_weight], sweep[at]]))
        gain[at] = np.diff(best)  # how much this row raises its window's best so far
    total = -fn_weight * len(windows) + np.cumsum(gain)
    if anomaly.size == 0:
        return [(1.1, -fn_weight * len(windows))]
    last_of_value = np.flatnonzero(np.append(anomaly[1:] != anomaly[:-1], True))
    pairs = [(1.1, -fn_weight * len(windows))]
    pairs += [(float(anomaly[i]), float(total[i])) for i in last_of_value]
    return pairs


def raw_score_at(files: list[ScoredFile], fn_weight: float, threshold: float) -> float:
    """Raw score when every row with anomaly >= threshold is a detection."""
    total = 0.0
    for f in files:
        scorable = f.window != PROBATIONARY
        detected = scorable & (f.anomaly >= threshold)
        total += float(f.sweep[detected & (f.window == NO_WINDOW)].sum())
        for k in np.unique(f.window[f.window >= 0]):
            hits = f.sweep[detected & (f.window == k)]
            total += float(hits.max()) if hits.size else -fn_weight
    return total


@dataclass(frozen=True)
class ProfileResult:
    profile: str
    threshold: float
    raw: float
    null: float
    perfect: float

    @property
    def normalized(self) -> float:
        if self.perfect == self.null:  # a corpus without labelled windows
            return float("nan")
        return 100.0 * (self.raw - self.null) / (self.perfect - self.null)


def score_corpus(
    corpus: list[tuple[list[str], np.ndarray, list[tuple[str, str]]]],
    weights: dict[str, float],
    profile: str,
    threshold: float | None,
) -> ProfileResult:
    """Score a corpus of (timestamps, anomaly scores, windows). ``threshold=None`` picks the best
    threshold with the labels, as NAB's optimiser does; otherwise the given one is used as-is."""
    files: list[ScoredFile] = []
    offset = 0
    for timestamps, anomaly, windows in corpus:
        files.append(sweep_file(timestamps, anomaly, windows, weights, offset))
        offset += len(windows)
    n_windows = sum(f.n_windows for f in files)
    null = -weights["fnWeight"] * n_windows
    perfect = weights["tpWeight"] * n_windows
    if threshold is None:
        # NAB keeps the first of equal scores in this order (the highest threshold); so does max().
        threshold, raw = max(score_by_threshold(files, weights["fnWeight"]), key=lambda pair: pair[1])
    else:
        raw = raw_score_at(files, weights["fnWeight"], threshold)
    return ProfileResult(profile, threshold, raw, null, perfect)

"""Raw IsolationForest scores → calibrated tail probabilities from the training distribution.

Below the 95th training percentile the empirical survival function is used; above it an
exponential tail is fitted to the excesses (peaks over threshold), so scores beyond anything seen
in training still get ever smaller tail probabilities instead of all sharing 1/(n+1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TAIL_QUANTILE = 0.95


@dataclass(frozen=True)
class TailCalibration:
    sorted_scores: np.ndarray  # training raw scores, ascending (higher = more anomalous)
    tail_start: float
    tail_scale: float

    @classmethod
    def fit(cls, raw_scores: np.ndarray) -> TailCalibration:
        scores = np.sort(np.asarray(raw_scores, dtype=float)[np.isfinite(raw_scores)])
        if scores.size == 0:
            raise ValueError("no finite training scores to calibrate on")
        tail_start = float(np.quantile(scores, TAIL_QUANTILE))
        excess = scores[scores > tail_start] - tail_start
        # A degenerate tail (ties) still needs a positive scale; fall back to the score spread.
        spread = float(scores[-1] - scores[0])
        scale = float(excess.mean()) if excess.size else 0.0
        if scale <= 0:
            scale = max(spread / 20, 1e-9)
        return cls(scores, tail_start, scale)

    def tail_probability(self, raw_scores: np.ndarray) -> np.ndarray:
        """P(training score >= s); NaN stays NaN."""
        s = np.asarray(raw_scores, dtype=float)
        n = self.sorted_scores.size
        at_or_above = n - np.searchsorted(self.sorted_scores, s, side="left")
        empirical = (at_or_above + 1) / (n + 1)
        tail_mass = 1.0 - TAIL_QUANTILE
        tail = tail_mass * np.exp(-(s - self.tail_start) / self.tail_scale)
        p = np.where(s > self.tail_start, np.minimum(empirical, tail), empirical)
        return np.where(np.isfinite(s), np.clip(p, 0.0, 1.0), np.nan)

    def anomaly_score(self, raw_scores: np.ndarray) -> np.ndarray:
        """1 - tail probability, in [0, 1]."""
        return 1.0 - self.tail_probability(raw_scores)

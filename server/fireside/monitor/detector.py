"""The anomaly detector: one IsolationForest per series over :mod:`features`, calibrated with
:mod:`calibration`. The worker and ``eval/nab.py`` both use exactly this class.

``fit`` trains on the last ``train_points`` feature rows of the values it is given; ``score``
scores points after a given index using only values up to each point (causal), so the evaluation
can stream and the worker can score fresh points with the model trained on older ones.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.ensemble import IsolationForest

from fireside.monitor.calibration import TailCalibration
from fireside.monitor.features import FeatureSpec, choose_spec, describe, feature_matrix

MODEL_VERSION = 1


@dataclass(frozen=True)
class DetectorSettings:
    train_points: int = 2016  # rolling training window, in points (a week at 5-minute steps)
    min_train_points: int = 120  # fewer usable rows: no model, every score is NaN
    n_estimators: int = 100
    max_samples: int = 256
    random_state: int = 0


@dataclass(frozen=True)
class Explanation:
    feature: str
    description: str


@dataclass
class Detector:
    """A trained model for one series. Picklable (persisted with joblib)."""

    step_seconds: float
    settings: DetectorSettings = field(default_factory=DetectorSettings)
    spec: FeatureSpec | None = None
    forest: IsolationForest | None = None
    calibration: TailCalibration | None = None
    constant_row: np.ndarray | None = None  # set when training data never varied
    feature_median: np.ndarray | None = None
    feature_scale: np.ndarray | None = None
    typical_level: float = 0.0
    trained_at: float = 0.0
    n_train: int = 0
    version: int = MODEL_VERSION

    @property
    def ready(self) -> bool:
        return self.spec is not None and (self.forest is not None or self.constant_row is not None)

    def fit(self, values: np.ndarray, now: float | None = None) -> bool:
        """Train on ``values`` (regularly spaced, oldest first). Returns False when there is too
        little usable data; the detector then stays (or becomes) not ready."""
        values = np.asarray(values, dtype=float)
        finite = int(np.isfinite(values).sum())
        spec = choose_spec(self.step_seconds, finite, self.settings.min_train_points)
        rows = feature_matrix(values, spec)
        rows = rows[np.isfinite(rows).all(axis=1)][-self.settings.train_points :]
        if len(rows) < self.settings.min_train_points:
            self.spec, self.forest, self.calibration, self.constant_row = None, None, None, None
            return False
        self.spec = spec
        self.n_train = len(rows)
        self.trained_at = time.time() if now is None else now
        self.feature_median = np.median(rows, axis=0)
        q75, q25 = np.percentile(rows, [75, 25], axis=0)
        mad = np.median(np.abs(rows - self.feature_median), axis=0)
        # Robust spread for "which feature drove it"; a tiny floor keeps flat features finite.
        self.feature_scale = np.maximum(np.maximum((q75 - q25) / 1.349, mad * 1.4826), 1e-9)
        self.typical_level = float(self.feature_median[0])
        if np.ptp(rows, axis=0).max() == 0:
            # A constant series: nothing to learn, and it must never alert by itself.
            self.constant_row, self.forest, self.calibration = rows[0].copy(), None, None
            return True
        self.constant_row = None
        self.forest = IsolationForest(
            n_estimators=self.settings.n_estimators,
            max_samples=min(self.settings.max_samples, len(rows)),
            random_state=self.settings.random_state,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn warns about ties in tiny/quantised data
            self.forest.fit(rows)
            self.calibration = TailCalibration.fit(-self.forest.score_samples(rows))
        return True

    def score(self, values: np.ndarray, start: int = 0) -> np.ndarray:
        """Calibrated anomaly scores in [0, 1] for ``values[start:]``; NaN where the point or its
        context is missing or no model is trained. Earlier values are context only."""
        values = np.asarray(values, dtype=float)
        out = np.full(max(len(values) - start, 0), np.nan)
        if not self.ready or out.size == 0:
            return out
        assert self.spec is not None
        lo = max(0, start - self.spec.context)
        rows = feature_matrix(values[lo:], self.spec)[start - lo :]
        valid = np.isfinite(rows).all(axis=1)
        if not valid.any():
            return out
        if self.constant_row is not None:
            # A departure from a constant is real news; staying constant never is.
            out[valid] = np.where(np.all(rows[valid] == self.constant_row, axis=1), 0.0, 1.0)
            return out
        assert self.forest is not None and self.calibration is not None
        out[valid] = self.calibration.anomaly_score(-self.forest.score_samples(rows[valid]))
        return out

    def explain(self, values: np.ndarray, index: int) -> Explanation:
        """Which feature of point ``values[index]`` is furthest from its training distribution."""
        values = np.asarray(values, dtype=float)
        if not self.ready or self.feature_median is None or self.feature_scale is None:
            return Explanation("none", "no model")
        assert self.spec is not None
        lo = max(0, index - self.spec.context)
        row = feature_matrix(values[lo : index + 1], self.spec)[-1]
        if not np.isfinite(row).all():
            return Explanation("none", "no data")
        z = np.abs(row - self.feature_median) / self.feature_scale
        k = int(np.argmax(z))
        name = self.spec.names[k]
        earlier = None
        lag = {"day_residual": self.spec.day_lag, "week_residual": self.spec.week_lag}.get(name)
        if lag:
            earlier = float(values[index - lag])
        text = describe(name, float(row[k]), float(self.feature_median[k]), self.typical_level,
                        float(values[index]), earlier)
        return Explanation(name, text)

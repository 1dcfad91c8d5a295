"""The anomaly detector behind `fireside monitor` and ``eval/nab.py`` (the same class, unchanged).

One :class:`SeriesDetector` per series, fed points in time order (:meth:`SeriesDetector.update`),
in chunks of any size: the worker feeds each cycle's new points, the evaluation a day at a time,
and both get the same scores, because every piece of state is keyed to absolute point indices.

Two kinds of evidence, on the coarse features of :mod:`features`:

* **Range break.** A feature (the value, a block mean, the spread, the seasonal residual) lies
  outside its range over a long trailing window (``range_window_seconds``, 14 days), by more
  than ``margin`` of that range's width. Strength ``A`` = excess / width / ``margin``.
* **Shape change.** An IsolationForest (scikit-learn) trained on the feature rows of a trailing
  window (``train_window_seconds``) and refitted at a fixed cadence (``refit_interval_seconds``)
  scores each new row; ``B`` = how isolated the row is, where 0 is the median training row and
  1 the most isolated training row.

A point's strength is ``max(min(A, B / shape_gate), A / range_alone, B / shape_alone)``: a range
break counts when the forest confirms that the row is nearly as isolated as anything it trained
on (``shape_gate``); an overwhelming range break (``range_alone`` margins) or a row far more
isolated than any training row (``shape_alone``) counts by itself. The anomaly score is
``strength / (1 + strength)`` in [0, 1): 0.5 is the point where the evidence is enough. Nothing
here needs the series' future, its length, its global min/max or labels; the causality test
checks every feature and the score.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from fireside.monitor.features import DAY, FeatureSpec, SeasonEnvelope, feature_matrix
from fireside.monitor.forest import CompactForest
from fireside.monitor.ranges import RangeTracker

MODEL_VERSION = 2
MAX_STRENGTH = 1e6  # a departure from a constant has an infinite relative excess; keep it finite


@dataclass(frozen=True)
class DetectorSettings:
    """Everything is a duration, converted with the series' step, so one setting works for any
    scrape interval; the point floors keep statistics meaningful on coarse data."""

    range_window_seconds: float = 14 * DAY
    train_window_seconds: float = 3 * DAY
    refit_interval_seconds: float = DAY
    min_refit_points: int = 256  # and at least this many new points between refits
    min_history_seconds: float = DAY  # no scores before a series has this much history…
    min_history_points: int = 150  # …and this many points
    season_days: int = 7
    margin: float = 0.05
    shape_gate: float = 0.8
    range_alone: float = 5.0
    shape_alone: float = 1.4
    n_estimators: int = 25
    max_samples: int = 256
    max_train_rows: int = 1024
    min_train_rows: int = 64
    random_state: int = 0

    def points(self, seconds: float, step_seconds: float, floor: int = 1) -> int:
        return max(floor, int(round(seconds / step_seconds)))


@dataclass(frozen=True)
class Explanation:
    """Why a point scored high, in data and in words."""

    reason: str  # "range_break" or "shape_change"
    feature: str  # e.g. "mean16"
    description: str  # e.g. "mean over the last 80 min 523 above its 14-day range 100–480"
    feature_value: float
    expected_min: float
    expected_max: float


@dataclass
class Scores:
    """Scores of consecutive points ``start``, ``start + 1``, … (absolute point indices), with
    what is needed to explain any of them."""

    start: int
    values: np.ndarray
    score: np.ndarray  # in [0, 1); NaN: not scored (missing point, warm-up)
    range_strength: np.ndarray
    shape_strength: np.ndarray
    features: np.ndarray  # (points, features)
    range_low: np.ndarray  # (points, features): trailing range before each point
    range_high: np.ndarray
    usual_low: np.ndarray  # (points, features): the forest's training 1st–99th percentiles
    usual_high: np.ndarray
    season: SeasonEnvelope | None

    def __len__(self) -> int:
        return len(self.score)


def _empty_scores(start: int, d: int) -> Scores:
    empty = np.zeros(0)
    rows = np.zeros((0, d))
    return Scores(start, empty, empty, empty, empty, rows, rows, rows, rows, rows, None)


@dataclass
class SeriesDetector:
    """Streaming detector for one series. Picklable: persisted with joblib between restarts."""

    step_seconds: float
    settings: DetectorSettings = field(default_factory=DetectorSettings)
    version: int = MODEL_VERSION
    spec: FeatureSpec = field(init=False)
    ranges: RangeTracker = field(init=False)
    first_index: int | None = None  # the first point ever seen
    next_index: int | None = None  # the next point expected
    tail: np.ndarray = field(init=False)  # the last ``spec.context`` values before next_index
    forest: CompactForest | None = None
    fitted_index: int | None = None  # the point before which the forest's training rows end
    next_fit_index: int | None = None
    iso_median: float = 0.0
    iso_max: float = 0.0
    train_median: np.ndarray | None = None
    usual_low: np.ndarray | None = None
    usual_high: np.ndarray | None = None
    n_train: int = 0
    rows: np.ndarray = field(init=False)  # ring of training rows (float32), thinned by ``stride``
    row_index: np.ndarray = field(init=False)
    rows_written: int = 0

    def __post_init__(self) -> None:
        s = self.settings
        self.spec = FeatureSpec.for_step(self.step_seconds, s.season_days)
        d = len(self.spec.names)
        range_points = s.points(s.range_window_seconds, self.step_seconds, 2)
        self.ranges = RangeTracker(d, bucket_points=max(1, math.ceil(range_points / 64)), n_buckets=64)
        self.tail = np.full(self.spec.context, np.nan)
        self.rows = np.full((s.max_train_rows, d), np.nan, dtype=np.float32)
        self.row_index = np.full(s.max_train_rows, -1, dtype=np.int64)

    # -- derived sizes -------------------------------------------------------------------------

    @property
    def names(self) -> tuple[str, ...]:
        return self.spec.names

    @property
    def warm_points(self) -> int:
        s = self.settings
        return s.points(s.min_history_seconds, self.step_seconds, s.min_history_points)

    @property
    def refit_points(self) -> int:
        s = self.settings
        return s.points(s.refit_interval_seconds, self.step_seconds, s.min_refit_points)

    @property
    def train_points(self) -> int:
        s = self.settings
        return s.points(s.train_window_seconds, self.step_seconds, s.min_train_rows)

    @property
    def stride(self) -> int:
        return max(1, math.ceil(self.train_points / self.settings.max_train_rows))

    @property
    def ready(self) -> bool:
        return self.forest is not None

    @property
    def trained_at(self) -> float:
        """Timestamp (data time) up to which the current forest's training rows reach."""
        return float(self.fitted_index * self.step_seconds) if self.fitted_index is not None else 0.0

    @property
    def last_timestamp(self) -> float | None:
        return None if self.next_index is None else (self.next_index - 1) * self.step_seconds

    def index_of(self, timestamp: float) -> int:
        return int(round(timestamp / self.step_seconds))

    # -- streaming -----------------------------------------------------------------------------

    def update(self, first_index: int, values: np.ndarray) -> Scores:
        """Take points ``first_index, first_index + 1, …`` and score the new ones. Points at or
        before the last one taken are ignored; a jump forward is a gap (NaN)."""
        values = np.asarray(values, dtype=float)
        d = len(self.names)
        if self.next_index is None:
            self.first_index = self.next_index = first_index
            self.next_fit_index = first_index + self.warm_points
        skip = self.next_index - first_index
        if skip > 0:
            values, first_index = values[skip:], first_index + skip
        if len(values) == 0:
            return _empty_scores(self.next_index, d)
        gap = first_index - self.next_index
        if gap > self.spec.context:  # nothing before the gap is context any more
            self.tail[:] = np.nan
        elif gap > 0:
            values = np.concatenate([np.full(gap, np.nan), values])
            first_index = self.next_index
        parts = []
        position = 0
        while position < len(values):
            index = first_index + position
            assert self.next_fit_index is not None
            if index >= self.next_fit_index:
                self._fit(index)
            stop = min(len(values), position + (self.next_fit_index - index))
            parts.append(self._score_segment(index, values[position:stop]))
            position = stop
        return _concat(parts)

    def _fit(self, index: int) -> None:
        """(Re)train the forest on the stored rows before ``index``; schedule the next fit."""
        assert self.next_fit_index is not None
        while self.next_fit_index <= index:
            self.next_fit_index += self.refit_points
        keep = (self.row_index >= index - self.train_points) & (self.row_index < index) & (self.row_index >= 0)
        rows = self.rows[keep].astype(float)
        if len(rows) < self.settings.min_train_rows:
            return  # too little data: keep the old forest (or none) until the next fit
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column (a feature still warming up)
            median = np.nanmedian(rows, axis=0)
        median = np.where(np.isfinite(median), median, 0.0)
        rows = np.where(np.isfinite(rows), rows, median)
        s = self.settings
        self.forest = CompactForest.fit(rows, s.n_estimators, s.max_samples, s.random_state)
        iso = self.forest.isolation(rows)
        self.iso_median, self.iso_max = float(np.median(iso)), float(iso.max())
        self.train_median = np.median(rows, axis=0)
        self.usual_low, self.usual_high = np.percentile(rows, [1, 99], axis=0)
        self.fitted_index, self.n_train = index, len(rows)

    def _score_segment(self, first: int, values: np.ndarray) -> Scores:
        s = self.settings
        m, context = len(values), self.spec.context
        buffer = np.concatenate([self.tail, values])
        rows, season = feature_matrix(buffer, self.spec, last=m)
        window = self.ranges.update(first, rows)
        self.tail = buffer[-context:] if context else buffer[:0]
        self.next_index = first + m

        present = np.isfinite(values)
        index = first + np.arange(m)
        warm = (index - (self.first_index or 0)) >= self.warm_points
        span = window.high - window.low
        with np.errstate(invalid="ignore", divide="ignore"):
            excess = np.maximum(rows - window.high, window.low - rows)
            relative = np.where(span > 0, excess / np.where(span > 0, span, 1.0),
                                np.where(excess > 0, MAX_STRENGTH, 0.0))
        usable = np.isfinite(rows) & (window.count >= self.warm_points)
        relative = np.where(usable, np.clip(relative, 0.0, MAX_STRENGTH), 0.0)
        range_strength = relative.max(axis=1) / s.margin

        shape_strength = np.zeros(m)
        usual_low = np.full(rows.shape, np.nan)
        usual_high = np.full(rows.shape, np.nan)
        if self.forest is not None and self.train_median is not None:
            filled = np.where(np.isfinite(rows), rows, self.train_median)
            iso = self.forest.isolation(filled[present]) if present.any() else np.zeros(0)
            spread = self.iso_max - self.iso_median
            shape_strength[present] = (iso - self.iso_median) / spread if spread > 0 else 0.0
            usual_low[:], usual_high[:] = self.usual_low, self.usual_high
        strength = np.maximum.reduce([
            np.minimum(range_strength, shape_strength / s.shape_gate),
            range_strength / s.range_alone,
            shape_strength / s.shape_alone,
        ])
        strength = np.clip(strength, 0.0, MAX_STRENGTH)
        score = strength / (1.0 + strength)
        score[~(present & warm) | (self.forest is None)] = np.nan

        # Training rows: every present point, thinned to ``stride`` by absolute index (features
        # still warming up, e.g. the seasonal one in the first day, are imputed at fit time).
        keep = np.flatnonzero(present & (index % self.stride == 0))
        for k in keep:
            slot = self.rows_written % s.max_train_rows
            self.rows[slot], self.row_index[slot] = rows[k], index[k]
            self.rows_written += 1
        return Scores(first, values, score, range_strength, shape_strength, rows, window.low, window.high,
                      usual_low, usual_high, season)

    # -- words -----------------------------------------------------------------------------------

    def explain(self, scores: Scores, offset: int) -> Explanation:
        """Which rule and feature made point ``scores.start + offset`` score high."""
        s = self.settings
        row = scores.features[offset]
        a, b = scores.range_strength[offset], scores.shape_strength[offset]
        by_range = max(min(a, b / s.shape_gate), a / s.range_alone) >= b / s.shape_alone and a > 0
        names = self.names
        if by_range:
            low, high = scores.range_low[offset], scores.range_high[offset]
            span = np.where(high - low > 0, high - low, 1.0)
            excess = np.where(np.isfinite(row), np.maximum(row - high, low - row) / span, -np.inf)
            # Name what an operator sees first: the value, then the levels, the season, the spread.
            broken = [k for k in self._explain_order if excess[k] >= s.margin]
            k = broken[0] if broken else int(np.argmax(excess))
            value, lo, hi = float(row[k]), float(low[k]), float(high[k])
            if names[k] == "season" and scores.season is not None:
                level = float(scores.season.level[offset])
                lo, hi = float(scores.season.low[offset]), float(scores.season.high[offset])
                side = "above" if level > hi else "below"
                text = (f"{self._what('season')} {_num(level)} {side} the {_num(lo)}–{_num(hi)} seen at this time "
                        f"of day in the last {self.spec.season_days} days")
                return Explanation("range_break", "season", text, level, lo, hi)
            side = "above" if value > hi else "below"
            window = self.spec.span_words(s.points(s.range_window_seconds, self.step_seconds, 2))
            text = f"{self._what(names[k])} {_num(value)} {side} its {window} range {_num(lo)}–{_num(hi)}"
            return Explanation("range_break", names[k], text, value, lo, hi)
        low, high = scores.usual_low[offset], scores.usual_high[offset]
        median = self.train_median if self.train_median is not None else np.zeros(len(row))
        scale = np.where(high - low > 0, high - low, 1.0)
        distance = np.where(np.isfinite(row), np.abs(row - median) / scale, -np.inf)
        outside = [k for k in self._explain_order if distance[k] >= 1.0]
        k = outside[0] if outside else int(np.argmax(distance))
        value, lo, hi = float(row[k]), float(low[k]), float(high[k])
        text = (f"unusual shape: {self._what(names[k])} {_num(value)}, usually {_num(lo)}–{_num(hi)} "
                f"(isolation {b:.2f} of the training maximum)")
        return Explanation("shape_change", names[k], text, value, lo, hi)

    @property
    def _explain_order(self) -> list[int]:
        rank = {"value": 0, "season": 2}
        names = self.names
        return sorted(range(len(names)), key=lambda k: (rank.get(names[k], 1 if names[k].startswith("mean") else 3),
                                                        k))

    def _what(self, name: str) -> str:
        if name == "value":
            return "value"
        if name.startswith("mean"):
            return f"mean over the last {self.spec.span_words(int(name[4:]))}"
        if name.startswith("spread"):
            return f"spread (std) over the last {self.spec.span_words(int(name[6:]))}"
        if name == "season":
            return f"mean over the last {self.spec.span_words(self.spec.season_scale)}"
        return name


def _num(x: float) -> str:
    return f"{x:.4g}"


def _concat(parts: list[Scores]) -> Scores:
    if len(parts) == 1:
        return parts[0]
    seasons = [p.season for p in parts]
    season = None
    if all(e is not None for e in seasons):
        season = SeasonEnvelope(*(np.concatenate([getattr(e, k) for e in seasons])  # type: ignore[union-attr]
                                  for k in ("level", "low", "high")))
    return Scores(
        parts[0].start,
        *(np.concatenate([getattr(p, k) for p in parts]) for k in (
            "values", "score", "range_strength", "shape_strength", "features", "range_low", "range_high",
            "usual_low", "usual_high")),
        season,
    )

"""Causal features of one series on a regular grid (gaps are NaN).

Row ``t`` of :func:`feature_matrix` uses values at ``t`` and before, never after: the detector that
reads these rows is streamed over live data and over NAB with the same code, and a test changes
every value after ``t`` and checks that no row up to ``t`` moves.

The features are coarse on purpose; NAB's anomalies (and most production incidents) are level
shifts, values outside the range seen so far, and changes of shape over tens of points:

* ``value`` and block means over the last 4, 16 and 64 points (``mean4`` …): levels at several
  time scales, tied to the data's resolution (a block is a number of points, not of seconds);
* ``spread16``: the standard deviation of the last 16 points;
* ``season``: how far the 16-point mean lies outside the envelope of the same time of day (± a
  few points) on each of the last 7 days; 0 inside it. Only when one day holds enough points.

A block with fewer than half of its points present is NaN; a missing point makes its whole row
NaN, so a gap is never scored, let alone mistaken for an anomaly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter1d, minimum_filter1d

DAY = 86_400.0


@dataclass(frozen=True)
class FeatureSpec:
    """Which features a detector computes; fixed for the life of a detector."""

    step_seconds: float
    scales: tuple[int, ...] = (1, 4, 16, 64)  # block-mean widths, in points (1: the value itself)
    spread_points: int = 16
    season_points: int = 0  # points in one day; 0: no seasonal feature
    season_days: int = 7
    season_tolerance: int = 6  # points either side of "the same time of day"
    season_scale: int = 16  # the block mean compared with earlier days

    @classmethod
    def for_step(cls, step_seconds: float, season_days: int = 7) -> FeatureSpec:
        day = int(round(DAY / step_seconds))
        # The seasonal envelope needs a day several tolerance-widths long (hourly data: 24 points).
        season = day if season_days > 0 and day >= 4 * cls.season_tolerance else 0
        return cls(step_seconds, season_points=season, season_days=season_days if season else 0)

    @property
    def names(self) -> tuple[str, ...]:
        names = ["value" if k == 1 else f"mean{k}" for k in self.scales]
        names.append(f"spread{self.spread_points}")
        if self.season_points:
            names.append("season")
        return tuple(names)

    @property
    def context(self) -> int:
        """How many points before ``t`` a row at ``t`` may read."""
        plain = max(max(self.scales), self.spread_points) - 1
        if not self.season_points:
            return plain
        return max(plain, self.season_days * self.season_points + self.season_tolerance + self.season_scale - 1)

    def span_words(self, points: int) -> str:
        """``points`` as a duration, for people: "80 min", "5.3 h"."""
        seconds = points * self.step_seconds
        if seconds < 2 * 3600:
            return f"{seconds / 60:.3g} min"
        if seconds < 2 * DAY:
            return f"{seconds / 3600:.3g} h"
        return f"{seconds / DAY:.3g} days"


def block_mean(x: np.ndarray, width: int) -> np.ndarray:
    """Mean of the finite values among ``x[t-width+1 .. t]``; NaN with fewer than half present.
    Each window is summed on its own (not by differences of a running sum), so a point's value
    does not depend on where the buffer it was computed in started: streamed in chunks of any
    size, the features are bit-identical."""
    if width == 1:
        return x.astype(float, copy=True)
    out = np.full(len(x), np.nan)
    if len(x) < width:
        return out
    finite = np.isfinite(x)
    sums = np.lib.stride_tricks.sliding_window_view(np.where(finite, x, 0.0), width).sum(axis=1)
    counts = np.lib.stride_tricks.sliding_window_view(finite, width).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[width - 1 :] = np.where(counts >= math.ceil(width / 2), sums / np.maximum(counts, 1), np.nan)
    return out


def block_spread(x: np.ndarray, width: int) -> np.ndarray:
    """Standard deviation over the same blocks as :func:`block_mean` (at least 2 points present).
    Two-pass per window (deviations from the window's own mean), so large levels that move by
    small amounts keep their precision, unlike a running sum of squares."""
    out = np.full(len(x), np.nan)
    if len(x) < width:
        return out
    finite = np.isfinite(x)
    windows = np.lib.stride_tricks.sliding_window_view(np.where(finite, x, 0.0), width)
    present = np.lib.stride_tricks.sliding_window_view(finite, width)
    counts = present.sum(axis=1)
    mean = windows.sum(axis=1) / np.maximum(counts, 1)
    deviation = np.where(present, windows - mean[:, None], 0.0)
    spread = np.sqrt((deviation * deviation).sum(axis=1) / np.maximum(counts, 1))
    out[width - 1 :] = np.where(counts >= max(2, math.ceil(width / 2)), spread, np.nan)
    return out


@dataclass(frozen=True)
class SeasonEnvelope:
    """The seasonal feature's inputs, kept to explain it: the block mean and its envelope."""

    level: np.ndarray
    low: np.ndarray
    high: np.ndarray


def season_envelope(x: np.ndarray, spec: FeatureSpec, first: int = 0) -> SeasonEnvelope:
    """The seasonal envelope of rows ``first`` … ``len(x) - 1``: for each row ``t`` and each earlier
    day ``d``, the min and max of the block mean around ``t - d*day`` (± the tolerance). Only the
    stretches of ``x`` that those rows read are computed, so a worker cycle with one new point does
    not recompute a week of history; the result equals computing everything."""
    n, tol, day, width = len(x), spec.season_tolerance, spec.season_points, spec.season_scale
    level = block_mean(x[max(0, first - width + 1) :], width)[-(n - first) :] if n > first else np.zeros(0)
    high = np.full(n - first, -np.inf)
    low = np.full(n - first, np.inf)
    for d in range(1, spec.season_days + 1):
        lag = d * day
        centre_lo, centre_hi = max(0, first - lag), n - 1 - lag  # the rows' "same time, d days ago"
        if centre_hi < centre_lo:
            continue
        lo_idx, hi_idx = max(0, centre_lo - tol), centre_hi + tol  # hi_idx < n - 1: lag > tol
        earlier = block_mean(x[max(0, lo_idx - width + 1) : hi_idx + 1], width)[-(hi_idx - lo_idx + 1) :]
        finite = np.isfinite(earlier)
        # Centred filters: at u they cover u - tol .. u + tol, read at u = t - lag: at most
        # t - lag + tol < t, so the envelope only ever looks back.
        hi = maximum_filter1d(np.where(finite, earlier, -np.inf), size=2 * tol + 1, mode="constant", cval=-np.inf)
        lo = minimum_filter1d(np.where(finite, earlier, np.inf), size=2 * tol + 1, mode="constant", cval=np.inf)
        rows = np.arange(centre_lo + lag, n) - first  # the rows that have a day d
        centres = np.arange(centre_lo, centre_hi + 1) - lo_idx
        high[rows] = np.maximum(high[rows], hi[centres])
        low[rows] = np.minimum(low[rows], lo[centres])
    high[~np.isfinite(high)] = np.nan
    low[~np.isfinite(low)] = np.nan
    return SeasonEnvelope(level, low, high)


def feature_matrix(values: np.ndarray, spec: FeatureSpec, last: int | None = None
                   ) -> tuple[np.ndarray, SeasonEnvelope | None]:
    """One row per input point (columns: ``spec.names``), or per each of the ``last`` points; a
    missing point gives a NaN row, a feature without enough history a NaN entry. Rows are
    bit-identical whichever ``last`` is asked for (each window is computed on its own)."""
    x = np.asarray(values, dtype=float)
    x = np.where(np.isfinite(x), x, np.nan)
    n = len(x)
    first = 0 if last is None else max(0, n - last)
    reach = max(max(spec.scales), spec.spread_points) - 1
    recent = x[max(0, first - reach) :]
    columns = [block_mean(recent, k)[-(n - first) :] if n > first else np.zeros(0) for k in spec.scales]
    columns.append(block_spread(recent, spec.spread_points)[-(n - first) :] if n > first else np.zeros(0))
    envelope = None
    if spec.season_points:
        envelope = season_envelope(x, spec, first)
        level, low, high = envelope.level, envelope.low, envelope.high
        with np.errstate(invalid="ignore"):
            outside = np.where(level > high, level - high, np.where(level < low, level - low, 0.0))
        outside[~(np.isfinite(level) & np.isfinite(high))] = np.nan
        columns.append(outside)
    matrix = np.column_stack(columns) if n > first else np.zeros((0, len(spec.names)))
    matrix[~np.isfinite(x[first:])] = np.nan
    return matrix, envelope

"""Feature vectors for one series, in the spirit of Netdata's ML: differences, smoothing, lags,
plus the residual against the same time one day / one week earlier when history allows.

Everything works on a regularly spaced array of values (gaps are NaN); a row whose inputs touch a
NaN is NaN itself, so gaps are never mistaken for anomalies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DAY = 86_400.0
WEEK = 7 * DAY


@dataclass(frozen=True)
class FeatureSpec:
    """Which features a model uses; fixed when the model is trained."""

    step_seconds: float
    smoothing: int = 3
    lags: int = 5
    day_lag: int = 0  # points back to the same time one day earlier; 0 = not used
    week_lag: int = 0

    @property
    def names(self) -> tuple[str, ...]:
        names = ["level", "diff", "smoothed_diff"]
        names += [f"smoothed_diff_lag{k}" for k in range(1, self.lags + 1)]
        if self.day_lag:
            names.append("day_residual")
        if self.week_lag:
            names.append("week_residual")
        return tuple(names)

    @property
    def context(self) -> int:
        """How many earlier points a row needs."""
        return max(1 + self.smoothing - 1 + self.lags, self.day_lag, self.week_lag)


def choose_spec(step_seconds: float, available_points: int, min_train_points: int) -> FeatureSpec:
    """Use the seasonal residuals only when the history holds enough rows that have them."""
    day_lag = int(round(DAY / step_seconds))
    week_lag = int(round(WEEK / step_seconds))
    use_day = day_lag >= 2 and available_points >= day_lag + min_train_points
    use_week = week_lag >= 2 and available_points >= week_lag + min_train_points
    return FeatureSpec(step_seconds, day_lag=day_lag if use_day else 0, week_lag=week_lag if use_week else 0)


def history_points(train_points: int, step_seconds: float) -> int:
    """Points to keep for a series: the training window plus the week-ago residual of its oldest row."""
    return train_points + int(round(WEEK / step_seconds)) + 16


def _shift(x: np.ndarray, k: int) -> np.ndarray:
    out = np.full_like(x, np.nan)
    if k < len(x):
        out[k:] = x[: len(x) - k]
    return out


def _rolling_mean(x: np.ndarray, width: int) -> np.ndarray:
    if width <= 1:
        return x.copy()
    out = np.full_like(x, np.nan)
    if len(x) >= width:
        # A windowed view keeps NaN propagating (a cumulative sum would smear one NaN forever).
        out[width - 1 :] = np.lib.stride_tricks.sliding_window_view(x, width).mean(axis=1)
    return out


def feature_matrix(values: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """One row per input point; rows without full context or touching a gap are NaN."""
    x = np.asarray(values, dtype=float)
    diff = x - _shift(x, 1)
    smooth = _rolling_mean(diff, spec.smoothing)
    columns = [x, diff, smooth]
    columns += [_shift(smooth, k) for k in range(1, spec.lags + 1)]
    if spec.day_lag:
        columns.append(x - _shift(x, spec.day_lag))
    if spec.week_lag:
        columns.append(x - _shift(x, spec.week_lag))
    matrix = np.column_stack(columns)
    matrix[~np.isfinite(matrix).all(axis=1)] = np.nan
    return matrix


def describe(
    feature: str, value: float, reference: float, typical_level: float, current: float, earlier: float | None
) -> str:
    """Human words for "this feature drove the score".

    ``reference`` is the feature's usual value in training; ``typical_level`` the usual level;
    ``earlier`` the value the seasonal residual compares against.
    """
    if feature == "level":
        return _ratio_words(current, typical_level, "the usual")
    if feature in ("diff", "smoothed_diff"):
        direction = "jump" if value > reference else "drop"
        return f"sudden {direction} ({value:+.4g} per step, usually {reference:+.4g})"
    if feature.startswith("smoothed_diff_lag"):
        return f"unusual movement over the last few points ({value:+.4g} per step)"
    if feature in ("day_residual", "week_residual") and earlier is not None:
        period = "one day" if feature == "day_residual" else "one week"
        return _ratio_words(current, earlier, f"the same time {period} earlier")
    return f"{feature} = {value:.4g} (usually {reference:.4g})"


def _ratio_words(current: float, usual: float, what: str) -> str:
    if usual != 0 and np.sign(usual) == np.sign(current) and current != 0:
        ratio = current / usual
        if ratio >= 1:
            return f"level {ratio:.1f}x {what} ({current:.4g} vs {usual:.4g})"
        return f"level {1 / ratio:.1f}x below {what} ({current:.4g} vs {usual:.4g})"
    return f"level {current:.4g}, {what} was {usual:.4g}"

"""The range of each feature over a long trailing window, kept in constant memory.

The window is made of whole buckets of ``bucket_points`` points, aligned to absolute point indices
(``timestamp // step``): for a point in bucket ``b`` it holds the ``n_buckets`` complete buckets
before ``b`` plus the points of ``b`` already seen. Only each bucket's min, max and count are
kept, so a 14-day window at a 1-minute step (20,160 points) costs 64 buckets per feature.
Because buckets are aligned to absolute indices, the answer for a point does not depend on how
the stream was cut into calls: the worker's one-minute cycles and the evaluation's day-sized
chunks see the same ranges.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class WindowRanges:
    """Per point and feature: the trailing window's min, max and number of values."""

    low: np.ndarray
    high: np.ndarray
    count: np.ndarray


@dataclass
class RangeTracker:
    n_features: int
    bucket_points: int
    n_buckets: int = 64
    ids: np.ndarray = field(init=False)  # absolute bucket id held by each ring slot (-1: empty)
    low: np.ndarray = field(init=False)
    high: np.ndarray = field(init=False)
    count: np.ndarray = field(init=False)
    current: int = -1  # absolute id of the bucket being filled
    cur_low: np.ndarray = field(init=False)
    cur_high: np.ndarray = field(init=False)
    cur_count: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        d = self.n_features
        self.ids = np.full(self.n_buckets, -1, dtype=np.int64)
        self.low = np.full((self.n_buckets, d), np.inf)
        self.high = np.full((self.n_buckets, d), -np.inf)
        self.count = np.zeros((self.n_buckets, d), dtype=np.int64)
        self._reset_current(-1)

    def _reset_current(self, bucket: int) -> None:
        d = self.n_features
        self.current = bucket
        self.cur_low = np.full(d, np.inf)
        self.cur_high = np.full(d, -np.inf)
        self.cur_count = np.zeros(d, dtype=np.int64)

    def _close_current(self) -> None:
        if self.current >= 0 and self.cur_count.any():
            slot = self.current % self.n_buckets
            self.ids[slot] = self.current
            self.low[slot], self.high[slot], self.count[slot] = self.cur_low, self.cur_high, self.cur_count

    def update(self, first_index: int, rows: np.ndarray) -> WindowRanges:
        """Ranges seen before each of ``rows`` (points ``first_index``, ``first_index + 1``, …),
        then take the rows in. NaN entries are skipped."""
        m, d = rows.shape
        low = np.empty((m, d))
        high = np.empty((m, d))
        count = np.empty((m, d), dtype=np.int64)
        start = 0
        while start < m:
            index = first_index + start
            bucket = index // self.bucket_points
            stop = min(m, start + (bucket + 1) * self.bucket_points - index)
            if bucket != self.current:
                self._close_current()
                self._reset_current(bucket)
            live = (self.ids >= bucket - self.n_buckets) & (self.ids < bucket)
            base_low = np.min(self.low[live], axis=0, initial=np.inf)
            base_high = np.max(self.high[live], axis=0, initial=-np.inf)
            base_count = self.count[live].sum(axis=0)
            seg = rows[start:stop]
            finite = np.isfinite(seg)
            # Exclusive running extremes inside the bucket: row k sees the rows before it.
            seg_low = np.minimum.accumulate(np.where(finite, seg, np.inf), axis=0)
            seg_high = np.maximum.accumulate(np.where(finite, seg, -np.inf), axis=0)
            seg_count = np.cumsum(finite, axis=0)
            prev_low = np.vstack([np.full((1, d), np.inf), seg_low[:-1]])
            prev_high = np.vstack([np.full((1, d), -np.inf), seg_high[:-1]])
            prev_count = np.vstack([np.zeros((1, d), dtype=np.int64), seg_count[:-1]])
            low[start:stop] = np.minimum(np.minimum(base_low, self.cur_low), prev_low)
            high[start:stop] = np.maximum(np.maximum(base_high, self.cur_high), prev_high)
            count[start:stop] = base_count + self.cur_count + prev_count
            self.cur_low = np.minimum(self.cur_low, seg_low[-1])
            self.cur_high = np.maximum(self.cur_high, seg_high[-1])
            self.cur_count = self.cur_count + seg_count[-1]
            start = stop
        return WindowRanges(low, high, count)

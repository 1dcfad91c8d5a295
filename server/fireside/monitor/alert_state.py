"""The per-series alert state machine: inactive → pending → firing → (resolved) inactive.

* inactive → pending: the score reaches ``threshold``.
* pending → firing: the score stayed at or above ``threshold`` for ``for_seconds``
  (``for_seconds = 0`` fires on the first such point, like Prometheus' ``for: 0``).
* pending → inactive: the score drops below ``threshold`` before that.
* firing → inactive (resolved): the score stayed below ``resolve_threshold`` (lower than
  ``threshold``: hysteresis) for ``resolve_for_seconds``.
* Suppression: for ``suppress_seconds`` after an alert fires, the series does not go pending
  again, so one episode (a level shift that keeps moving, a burst of spikes) is one alert.
* A missing score (gap, NaN, no model) changes nothing: silence is not evidence either way.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass


class Phase(enum.Enum):
    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"


class Transition(enum.Enum):
    FIRED = "fired"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class AlertRule:
    threshold: float = 0.5
    resolve_threshold: float = 0.4
    for_seconds: float = 0.0
    resolve_for_seconds: float = 0.0
    error_threshold: float = 0.9  # at or above: severity "error", else "warning"
    suppress_seconds: float = 0.0

    def severity(self, score: float) -> str:
        return "error" if score >= self.error_threshold else "warning"


@dataclass
class AlertState:
    rule: AlertRule
    phase: Phase = Phase.INACTIVE
    pending_since: float | None = None
    firing_since: float | None = None
    below_since: float | None = None
    peak_score: float = 0.0
    suppressed_until: float = float("-inf")

    def observe(self, timestamp: float, score: float | None) -> Transition | None:
        if score is None or not math.isfinite(score):
            return None
        rule = self.rule
        if self.phase is Phase.INACTIVE:
            if score >= rule.threshold and timestamp >= self.suppressed_until:
                self.phase, self.pending_since, self.peak_score = Phase.PENDING, timestamp, score
                return self._maybe_fire(timestamp)
            return None
        if self.phase is Phase.PENDING:
            if score < rule.threshold:
                self.phase, self.pending_since = Phase.INACTIVE, None
                return None
            self.peak_score = max(self.peak_score, score)
            return self._maybe_fire(timestamp)
        # FIRING
        if score >= rule.resolve_threshold:
            self.below_since = None
            self.peak_score = max(self.peak_score, score)
            return None
        if self.below_since is None:
            self.below_since = timestamp
        if timestamp - self.below_since >= rule.resolve_for_seconds:
            self.reset()
            return Transition.RESOLVED
        return None

    def _maybe_fire(self, timestamp: float) -> Transition | None:
        assert self.pending_since is not None
        if timestamp - self.pending_since >= self.rule.for_seconds:
            self.phase, self.firing_since, self.below_since = Phase.FIRING, timestamp, None
            self.suppressed_until = timestamp + self.rule.suppress_seconds
            return Transition.FIRED
        return None

    def reset(self) -> None:
        self.phase = Phase.INACTIVE
        self.pending_since = self.firing_since = self.below_since = None
        self.peak_score = 0.0

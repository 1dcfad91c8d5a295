"""Scores → alert transitions: the one path shared by `fireside monitor` and ``eval/nab.py``, so
the event an operator is sent is exactly the event the benchmark scores."""

from __future__ import annotations

import math
from dataclasses import dataclass

from fireside.monitor.alert_state import AlertState, Phase, Transition
from fireside.monitor.detector import Scores


@dataclass(frozen=True)
class AlertEvent:
    offset: int  # the point within the scores
    timestamp: float
    transition: Transition
    score: float


def alert_events(state: AlertState, scores: Scores, step_seconds: float) -> list[AlertEvent]:
    """Run the state machine over every scored point, in order; return its transitions."""
    events: list[AlertEvent] = []
    low = min(state.rule.threshold, state.rule.resolve_threshold)
    values = scores.score
    for k in range(len(values)):
        score = float(values[k])
        if state.phase is Phase.INACTIVE and not score >= low:  # the common case, NaN included
            continue
        timestamp = (scores.start + k) * step_seconds
        transition = state.observe(timestamp, score if math.isfinite(score) else None)
        if transition is not None:
            events.append(AlertEvent(k, timestamp, transition, score))
    return events

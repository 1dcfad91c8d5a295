"""When to ask the model, and where each request's time went.

A keystroke asks at once (after ``debounceMs``, 0 by default): the request before it is superseded
and stops within one graph node of the model (``KvContext``'s abort callback), a prefetch gives way
the same way, so nothing piles up on the model thread and there is nothing to wait for. (An earlier
debounce grew towards the typing interval while the model was slower than the typing; with
superseded work stopping at once it only added latency.)

``RequestClock`` stamps a request as it goes: it arrived, its debounce ended, the model thread
took it, the model thread finished. Queue time is everything before the model thread took it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

PAUSE_MS = 400.0  # no keystroke for this long: the user paused, prefetch at the cursor


def _now() -> float:
    return time.perf_counter()


@dataclass
class RequestClock:
    arrived: float = field(default_factory=_now)
    debounced: float | None = None
    started: float | None = None  # on the model thread
    finished: float | None = None  # on the model thread

    def mark_debounced(self) -> None:
        self.debounced = _now()

    def mark_started(self) -> None:
        self.started = _now()

    def mark_finished(self) -> None:
        self.finished = _now()

    @staticmethod
    def _ms(start: float | None, end: float | None) -> float:
        return 0.0 if start is None or end is None else max(0.0, (end - start) * 1000)

    @property
    def debounce_ms(self) -> float:
        return self._ms(self.arrived, self.debounced)

    @property
    def queue_ms(self) -> float:
        """From arrival until the model thread took the request: the debounce, and any work the
        model thread had to finish or give up first."""
        return self._ms(self.arrived, self.started)

    @property
    def worker_ms(self) -> float:
        """On the model thread: syntax, prompt, model, clean-up."""
        return self._ms(self.started, self.finished)

    def round_trip_ms(self) -> float:
        return self._ms(self.arrived, _now())

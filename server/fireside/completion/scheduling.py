"""When to ask the model: debounce that adapts to typing speed and to how long the model takes."""

from __future__ import annotations

from dataclasses import dataclass, field

EMA_WEIGHT = 0.3
MAX_DEBOUNCE_MS = 1000.0
PAUSE_MS = 400.0  # no keystroke for this long: the user paused, prefetch at the cursor
TYPING_GAP_MS = 2000.0  # longer gaps are pauses, not typing speed


def _ema(old: float | None, new: float) -> float:
    return new if old is None else (1 - EMA_WEIGHT) * old + EMA_WEIGHT * new


@dataclass
class TypingTracker:
    """Keystroke intervals and model latency, as exponential moving averages."""

    typing_interval_ms: float | None = None
    model_latency_ms: float | None = None
    _last_change: dict[str, float] = field(default_factory=dict)

    def keystroke(self, uri: str, now_ms: float) -> None:
        last = self._last_change.get(uri)
        self._last_change[uri] = now_ms
        if last is not None and 0 < now_ms - last < TYPING_GAP_MS:
            self.typing_interval_ms = _ema(self.typing_interval_ms, now_ms - last)

    def completed(self, latency_ms: float) -> None:
        self.model_latency_ms = _ema(self.model_latency_ms, latency_ms)

    def forget(self, uri: str) -> None:
        self._last_change.pop(uri, None)

    def debounce_ms(self, base_ms: float) -> float:
        """``base_ms`` while the model keeps up with the typing; longer while it cannot, so that
        requests go out when the user pauses instead of piling up behind each other."""
        if base_ms <= 0 or self.typing_interval_ms is None or self.model_latency_ms is None:
            return base_ms
        if self.model_latency_ms <= self.typing_interval_ms:
            return base_ms
        return min(max(base_ms, 1.5 * self.typing_interval_ms), max(base_ms, MAX_DEBOUNCE_MS))

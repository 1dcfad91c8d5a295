"""The model as the actions see it: text in, text out, stoppable between tokens."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from fireside.completion.engine import Engine

DEFAULT_CONTEXT_SIZE = 4096


class Cancelled(Exception):
    """The user cancelled the action (``$/cancelRequest``); no edit is wanted any more."""


class TextModel(Protocol):
    def generate(self, prompt: str, *, max_tokens: int, stop: Sequence[str] = ()) -> str: ...


def generate_with_engine(
    engine: Engine, prompt: str, *, max_tokens: int, stop: Sequence[str], cancelled: Callable[[], bool]
) -> str:
    """``engine.generate`` that stops at the next token once ``cancelled()`` (raising :class:`Cancelled`)."""

    def stop_at(text: str) -> int | None:
        hits = [text.find(marker) for marker in stop if marker in text]
        return min(hits) if hits else None

    start = engine.start_tokens
    tokens = start + engine.tokenize(prompt)
    budget = max(16, int(getattr(engine, "context_size", DEFAULT_CONTEXT_SIZE)) - max_tokens - 1)
    if len(tokens) > budget:  # keep the start tokens, drop the oldest text
        tokens = start + tokens[len(tokens) - budget + len(start) :]
    generation = engine.run(tokens, max_tokens=max_tokens, stop_at=stop_at, cancelled=cancelled)
    if generation.stopped_by == "cancelled":
        raise Cancelled("cancelled")
    return generation.text


class EngineModel:
    """A :class:`TextModel` over an engine used directly on the calling thread (the eval, the CLI)."""

    def __init__(self, engine: Engine, cancelled: Callable[[], bool] = lambda: False) -> None:
        self._engine = engine
        self._cancelled = cancelled
        self.calls = 0

    def generate(self, prompt: str, *, max_tokens: int, stop: Sequence[str] = ()) -> str:
        self.calls += 1
        return generate_with_engine(self._engine, prompt, max_tokens=max_tokens, stop=stop, cancelled=self._cancelled)

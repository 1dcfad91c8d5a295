"""The model as the actions see it: text in, text out, stoppable between tokens."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from fireside.completion.engine import Engine, generate_text
from fireside.completion.types import StopReason

DEFAULT_CONTEXT_SIZE = 4096


class Cancelled(Exception):
    """The user cancelled the action (``$/cancelRequest``); no edit is wanted any more."""


class TextModel(Protocol):
    def generate(self, prompt: str, *, max_tokens: int, stop: Sequence[str] = ()) -> str: ...


def generate_with_engine(
    engine: Engine, prompt: str, *, max_tokens: int, stop: Sequence[str], cancelled: Callable[[], bool]
) -> str:
    """``engine.generate`` that stops at the next token once ``cancelled()`` (raising :class:`Cancelled`)."""
    context_size = int(getattr(engine, "context_size", DEFAULT_CONTEXT_SIZE))
    generation = generate_text(engine, prompt, max_tokens=max_tokens, stop=stop, context_size=context_size, cancelled=cancelled)
    if generation.stopped_by == StopReason.CANCELLED:
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

"""A scripted stand-in for the model, for the code-action domain tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence


class ScriptedModel:
    """Answers with ``answer(prompt)`` (or a fixed text) and records every prompt."""

    def __init__(self, answer: str | Callable[[str], str] = "") -> None:
        self._answer = answer
        self.prompts: list[str] = []

    def generate(self, prompt: str, *, max_tokens: int, stop: Sequence[str] = ()) -> str:
        self.prompts.append(prompt)
        text = self._answer(prompt) if callable(self._answer) else self._answer
        hits = [text.find(marker) for marker in stop if marker in text]
        return text[: min(hits)] if hits else text


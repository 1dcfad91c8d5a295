"""A deterministic stand-in for the model, for protocol-level tests (never used to judge quality).

It "generates" a fixed text one character per token, optionally slowly, so tests can check
cancellation, superseding and the LSP plumbing without depending on what a real model says.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from fireside.completion.engine import Generation, ModelInfo
from fireside.completion.prompt import FimTokens

FAKE_COMPLETION = "fake_completion(42)"
# Special tokens sit above every code point, so a prompt of characters reads back unambiguously.
_SPECIAL = 0x110000
FAKE_FIM = FimTokens(_SPECIAL, _SPECIAL + 1, _SPECIAL + 2)
FAKE_REPOSITORY_FIM = FimTokens(_SPECIAL, _SPECIAL + 1, _SPECIAL + 2, _SPECIAL + 3, _SPECIAL + 4)
_SPECIAL_TEXTS = ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|repo_name|>", "<|file_sep|>")


class FakeEngine:
    def __init__(
        self,
        *,
        token_delay_s: float = 0.0,
        text: str = FAKE_COMPLETION,
        context_size: int = 4096,
        fim: FimTokens | None = None,  # FAKE_FIM or FAKE_REPOSITORY_FIM: a model with those tokens
    ) -> None:
        self.info = ModelInfo(path="<fake>", name="fake", architecture="fake", context_length=context_size, fim=fim)
        self.context_size = context_size
        self._token_delay_s = token_delay_s
        self._text = text
        self._last_prompt: list[int] = []
        self.last_prompt_text = ""  # tokens are characters, so tests can read the exact prompt

    @property
    def start_tokens(self) -> list[int]:
        return [1]

    def tokenize(self, text: str) -> list[int]:
        return [ord(char) for char in text]

    def run(
        self,
        prompt_tokens: Sequence[int],
        *,
        max_tokens: int,
        stop_at: Callable[[str], int | None],
        cancelled: Callable[[], bool],
    ) -> Generation:
        started = time.perf_counter()
        reused = 0
        for old, new in zip(self._last_prompt, prompt_tokens):
            if old != new:
                break
            reused += 1
        self._last_prompt = list(prompt_tokens)
        self.last_prompt_text = "".join(
            _SPECIAL_TEXTS[token - _SPECIAL] if token >= _SPECIAL else chr(token)
            for token in prompt_tokens[len(self.start_tokens) :]
        )
        text = ""
        stopped_by = "eos"
        count = 0
        for char in self._text:
            if cancelled():
                stopped_by = "cancelled"
                break
            if count >= max_tokens:
                stopped_by = "limit"
                break
            time.sleep(self._token_delay_s)
            text += char
            count += 1
            cut = stop_at(text)
            if cut is not None:
                text, stopped_by = text[:cut], "stop"
                break
        return Generation(text, len(prompt_tokens), reused, count, stopped_by, time.perf_counter() - started)

    def generate(self, prompt: str, *, max_tokens: int, stop: Sequence[str] = ()) -> str:
        return self._text[:max_tokens]

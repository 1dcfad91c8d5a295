"""The local model: loading a GGUF with llama-cpp-python, tokenising, generating with KV reuse.

One ``LlamaEngine`` owns one llama context and must only be used from one thread at a time (the
completion service's worker). ``generate`` reuses the KV cache for the longest prompt prefix shared
with the previous call (llama-cpp-python's ``Llama.generate`` does the prefix match), so a keystroke
only evaluates the tokens that changed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from fireside.completion.prompt import FimTokens

logger = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
# Prompt tokens evaluated between two looks at the cancel flag: a new keystroke or $/cancelRequest
# never waits for a whole long prompt (~1k tokens, seconds on 2 cores) to be evaluated first.
PROMPT_CHUNK_TOKENS = 64


class ModelLoadError(Exception):
    """The model file is missing, not a GGUF, or llama.cpp refused it. The message is for users."""


@dataclass(frozen=True)
class ModelInfo:
    path: str
    name: str
    architecture: str
    context_length: int  # what the model was trained with
    fim: FimTokens | None
    vocab_size: int = 0  # 0: unknown (remote and fake engines)


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    reused_tokens: int
    generated_tokens: int
    stopped_by: str  # "eos", "limit", "stop", "cancelled", "unavailable" (no remote engine, no fall-back)
    seconds: float


class Engine(Protocol):
    """What the completion service needs from a model. ``LlamaEngine`` and ``FakeEngine`` provide it."""

    info: ModelInfo

    @property
    def start_tokens(self) -> list[int]: ...

    def tokenize(self, text: str) -> list[int]: ...

    def run(
        self,
        prompt_tokens: Sequence[int],
        *,
        max_tokens: int,
        stop_at: Callable[[str], int | None],
        cancelled: Callable[[], bool],
    ) -> Generation: ...

    def generate(self, prompt: str, *, max_tokens: int, stop: Sequence[str] = ()) -> str: ...


def nothing_to_generate(
    prompt_count: int, max_tokens: int, reused: int, cancelled: Callable[[], bool]
) -> Generation | None:
    """The answer of ``Engine.run`` when there is nothing to generate (cancelled already, or no room
    left: ``max_tokens`` already clamped with ``room_for``), else None."""
    if cancelled():
        return Generation("", prompt_count, reused, 0, "cancelled", 0.0)
    if max_tokens == 0:
        return Generation("", prompt_count, reused, 0, "limit", 0.0)
    return None


def room_for(max_tokens: int, context_size: int, prompt_count: int) -> int:
    """``max_tokens`` clamped to what fits in the context after the prompt (one slot kept free)."""
    return max(0, min(max_tokens, context_size - prompt_count - 1))


def check_gguf_file(path: Path) -> None:
    """Fail early with a clear message; llama.cpp's own errors for these cases are cryptic."""
    if not path.exists():
        raise ModelLoadError(f"model file not found: {path}")
    if not path.is_file():
        raise ModelLoadError(f"model path is not a file: {path}")
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic != GGUF_MAGIC:
        raise ModelLoadError(f"not a GGUF model file (bad header): {path}")


def _fim_tokens(llama) -> FimTokens | None:  # noqa: ANN001 - llama_cpp.Llama
    """FIM token ids from the GGUF (llama.cpp reads them from metadata or known token texts)."""
    import llama_cpp

    vocab = llama_cpp.llama_model_get_vocab(llama.model)
    ids = (
        llama_cpp.llama_vocab_fim_pre(vocab),
        llama_cpp.llama_vocab_fim_suf(vocab),
        llama_cpp.llama_vocab_fim_mid(vocab),
    )
    if any(token < 0 for token in ids):
        return None
    # Repository tokens (<|repo_name|>, <|file_sep|>), found by llama.cpp the same way: the prompt puts
    # other files in the layout the model was trained on when it has both.
    repository = (llama_cpp.llama_vocab_fim_rep(vocab), llama_cpp.llama_vocab_fim_sep(vocab))
    return FimTokens(*ids, *(token if token >= 0 and min(repository) >= 0 else None for token in repository))


class LlamaEngine:
    def __init__(self, path: Path, *, context_size: int, threads: int) -> None:
        import llama_cpp

        check_gguf_file(path)
        try:
            self._llama = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=context_size,
                n_threads=threads,
                n_threads_batch=threads,
                n_batch=512,
                verbose=False,
            )
        except Exception as error:  # llama.cpp reports every load failure as a ValueError
            raise ModelLoadError(f"llama.cpp could not load {path}: {error}") from error
        metadata = self._llama.metadata
        self._vocab = llama_cpp.llama_model_get_vocab(self._llama.model)
        self.info = ModelInfo(
            path=str(path),
            name=metadata.get("general.name", path.stem),
            architecture=metadata.get("general.architecture", "unknown"),
            context_length=int(metadata.get(f"{metadata.get('general.architecture')}.context_length", 0) or 0),
            fim=_fim_tokens(self._llama),
            vocab_size=int(llama_cpp.llama_vocab_n_tokens(self._vocab)),
        )
        self._context_size = context_size
        self._add_bos = bool(llama_cpp.llama_vocab_get_add_bos(self._vocab))

    @property
    def context_size(self) -> int:
        return self._context_size

    @property
    def start_tokens(self) -> list[int]:
        return [self._llama.token_bos()] if self._add_bos else []

    def tokenize(self, text: str) -> list[int]:
        return self._llama.tokenize(text.encode("utf-8", "surrogatepass"), add_bos=False, special=False)

    def _is_end(self, token: int) -> bool:
        import llama_cpp

        return bool(llama_cpp.llama_vocab_is_eog(self._vocab, token))

    def _greedy_next(self) -> int:
        """The most likely next token after everything evaluated so far."""
        import llama_cpp
        import numpy

        logits = numpy.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self._llama.ctx, -1), shape=(self.info.vocab_size,))
        return int(numpy.argmax(logits))

    def _shared_prefix(self, tokens: Sequence[int]) -> int:
        cached = self._llama._input_ids[: self._llama.n_tokens]
        shared = 0
        for old, new in zip(cached, tokens):
            if old != new:
                break
            shared += 1
        return shared

    def _evaluate_prompt(self, tokens: Sequence[int], reused: int, cancelled: Callable[[], bool]) -> bool:
        """Evaluate all but the last prompt token in cancellable chunks (``generate`` then finds
        them cached and decodes only the last one). False when cancelled midway."""
        llama = self._llama
        # eval() drops the KV cache beyond n_tokens; the last prompt token is always decoded again so
        # that the logits are for this prompt, never left over from an earlier generation.
        reused = min(reused, len(tokens) - 1)
        llama.n_tokens = reused
        end = len(tokens) - 1
        for start in range(reused, end, PROMPT_CHUNK_TOKENS):
            if cancelled():
                return False
            llama.eval(list(tokens[start : min(end, start + PROMPT_CHUNK_TOKENS)]))
        return True

    def run(
        self,
        prompt_tokens: Sequence[int],
        *,
        max_tokens: int,
        stop_at: Callable[[str], int | None],
        cancelled: Callable[[], bool],
    ) -> Generation:
        started = time.perf_counter()
        max_tokens = room_for(max_tokens, self._context_size, len(prompt_tokens))
        reused = self._shared_prefix(prompt_tokens)
        generated: list[int] = []
        text = ""
        stopped_by = "limit"
        if (early := nothing_to_generate(len(prompt_tokens), max_tokens, reused, cancelled)) is not None:
            return early
        if not self._evaluate_prompt(prompt_tokens, reused, cancelled):
            return Generation("", len(prompt_tokens), reused, 0, "cancelled", time.perf_counter() - started)
        # Greedy decoding (completions must be deterministic for the same context) with our own loop:
        # llama-cpp-python's generate() runs its sampler chain over Gemma's 262k-entry vocabulary in
        # Python for every token, which measured 5-10x slower per token than eval() + argmax here.
        self._llama.eval(list(prompt_tokens[-1:]))
        while True:
            token = self._greedy_next()
            if self._is_end(token):
                stopped_by = "eos"
                break
            generated.append(token)
            text = self._llama.detokenize(generated).decode("utf-8", "ignore")
            cut = stop_at(text)
            if cut is not None:
                text = text[:cut]
                stopped_by = "stop"
                break
            if cancelled():
                stopped_by = "cancelled"
                break
            if len(generated) >= max_tokens or self._llama.n_tokens >= self._context_size:
                break
            self._llama.eval([token])
        return Generation(text, len(prompt_tokens), reused, len(generated), stopped_by, time.perf_counter() - started)

    def generate(self, prompt: str, *, max_tokens: int, stop: Sequence[str] = ()) -> str:
        """Plain text in, text out (used by test generation); stops at any of ``stop``."""

        def stop_at(text: str) -> int | None:
            hits = [text.find(marker) for marker in stop if marker in text]
            return min(hits) if hits else None

        tokens = self.start_tokens + self.tokenize(prompt)
        budget = max(16, self._context_size - max_tokens - 1)
        if len(tokens) > budget:  # keep the start tokens, drop the oldest text
            tokens = self.start_tokens + tokens[len(tokens) - budget + len(self.start_tokens) :]
        return self.run(tokens, max_tokens=max_tokens, stop_at=stop_at, cancelled=lambda: False).text

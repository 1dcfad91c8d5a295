"""The local model: loading a GGUF with llama-cpp-python, tokenising, generating with KV reuse.

One ``LlamaEngine`` owns one llama context and must only be used from one thread at a time (the
completion service's worker). A new prompt keeps the KV cache of the prefix it shares with the
previous one, so a keystroke evaluates only the tokens from the first change on (``kv_context``;
moving later chunks is possible but off, see ``LlamaEngine``); generation is greedy, with
prompt-lookup drafts verified several tokens per model call (``decoding``).
"""

from __future__ import annotations

import ctypes
import dataclasses
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy

from fireside.completion.decoding import Drafter, GreedyChooser, NoDrafts, PromptLookupDrafter, TokenChooser, decode
from fireside.completion.guidance import GuidedChooser, NameGuide, VocabText
from fireside.completion.kv_context import ContextError, KvContext
from fireside.completion.kv_reuse import common_prefix
from fireside.completion.thread_policy import ThreadPolicy
from fireside.completion.prompt import FimTokens
from fireside.completion.types import StopReason

logger = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
TOKENIZE_CACHE_ENTRIES = 8
TOKENIZE_CACHE_MIN_CHARS = 512


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
    stopped_by: StopReason
    seconds: float
    # What the local engine did (zero for the others): prompt tokens evaluated and, of the reused
    # ones, moved to a new position; model calls after the prompt; draft tokens verified and kept;
    # close calls decoded again on their own; batched cache entries evaluated again one by one.
    evaluated_tokens: int = 0
    moved_tokens: int = 0
    prompt_seconds: float = 0.0
    steps: int = 0
    drafted_tokens: int = 0
    accepted_tokens: int = 0
    rechecked: int = 0
    recomputed: int = 0
    tokens: tuple[int, ...] = ()
    # Name guidance (issue 18): positions decided in a name slot the oracle knew, how many of them
    # differ from the model's best token, and the time spent choosing them (waits not included).
    guided_tokens: int = 0
    guided_changes: int = 0
    guidance_ms: float = 0.0
    threads: int = 0  # the thread count at the end (the local engine; it may follow the machine's load)


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
        return Generation("", prompt_count, reused, 0, StopReason.CANCELLED, 0.0)
    if max_tokens == 0:
        return Generation("", prompt_count, reused, 0, StopReason.LIMIT, 0.0)
    return None


def stop_at_any(stop: Sequence[str]) -> Callable[[str], int | None]:
    """A ``stop_at`` for ``Engine.run`` that cuts the text at the first of the ``stop`` strings."""

    def stop_at(text: str) -> int | None:
        hits = [text.find(marker) for marker in stop if marker in text]
        return min(hits) if hits else None

    return stop_at


def generate_text(
    engine: Engine,
    prompt: str,
    *,
    max_tokens: int,
    stop: Sequence[str] = (),
    context_size: int,
    cancelled: Callable[[], bool] = lambda: False,
) -> Generation:
    """``Engine.generate`` for every engine: plain text in (the oldest text dropped when it does not fit
    next to ``max_tokens``; the start tokens kept), generation out, cut at the first of ``stop``."""
    start = engine.start_tokens
    tokens = start + engine.tokenize(prompt)
    budget = max(16, context_size - max_tokens - 1)
    if len(tokens) > budget:
        tokens = start + tokens[len(tokens) - budget + len(start) :]
    return engine.run(tokens, max_tokens=max_tokens, stop_at=stop_at_any(stop), cancelled=cancelled)


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


def _fim_tokens(vocab) -> FimTokens | None:  # noqa: ANN001 - llama_vocab_p
    """FIM token ids from the GGUF (llama.cpp reads them from metadata or known token texts)."""
    import llama_cpp

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


def _amx_kernels_in_use() -> bool:
    """Whether this llama.cpp build would run its AMX matrix kernels here. They crash (a segfault in
    ggml_backend_amx_mul_mat, for every model) inside the virtual machines this project runs on,
    whose CPUs advertise AMX; with the extra buffer types off, the AVX kernels run instead (and the
    weight repacking, which rides on the same switch, is lost: a build without AMX keeps it)."""
    import llama_cpp

    return b"AMX_INT8 = 1" in llama_cpp.llama_print_system_info()


_backend_ready = False


def _init_backend() -> None:
    global _backend_ready
    import llama_cpp

    if not _backend_ready:
        # llama.cpp's log lines go to stderr through llama-cpp-python's callback unless its logger
        # says otherwise; only errors are worth the server's log.
        logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)
        llama_cpp.llama_backend_init()
        _backend_ready = True


class LlamaEngine:
    """A GGUF model and one llama context with KV reuse (``KvContext``) and speculative greedy
    decoding (``decoding.decode``).

    ``move_chunks`` (off by default) also keeps cached chunks that reappear later in a new prompt,
    moved to their new positions. Their cells keep what they computed in the old context, and for
    the text right after the cursor that is decisive: measured on real holes (eval/kv_reuse_eval.py),
    a FIM suffix moved past one typed character makes the model repeat its previous completion,
    typed character included. Prefix reuse is exact, so the prompt's layout decides what a
    keystroke costs.

    ``speculative`` (off by default) drafts tokens by prompt lookup and verifies them in batches.
    Measured on 2 cores (eval/speculation.py, eval/latency.py) it keeps about half the drafted
    tokens yet runs at 0.8-0.9x plain greedy: a batch costs ~3 one-token calls here, and llama.cpp's
    batched numbers differ from one-token ones enough that exact greedy output needs close calls
    decided again one token at a time. It is there for hardware where batches are cheap."""

    supports_guidance = True  # ``run`` takes a ``NameGuide`` (identifier-aware decoding, issue 18)

    def __init__(
        self, path: Path, *, context_size: int, threads: int, adaptive_threads: bool = False, speculative: bool = False,
        move_chunks: bool = False,
    ) -> None:
        import llama_cpp
        from llama_cpp import _internals

        check_gguf_file(path)
        _init_backend()
        params = llama_cpp.llama_model_default_params()
        params.use_extra_bufts = not _amx_kernels_in_use()
        try:
            self._model = _internals.LlamaModel(path_model=str(path), params=params, verbose=False)
        except Exception as error:  # llama.cpp reports every load failure as a ValueError
            raise ModelLoadError(f"llama.cpp could not load {path}: {error}") from error
        try:
            self._context = KvContext(self._model.model, context_size=context_size, threads=threads)
        except ContextError as error:
            self._model.close()
            raise ModelLoadError(f"llama.cpp could not load {path}: {error}") from error
        self._llama_cpp = llama_cpp
        self._threads = threads
        # With adaptive threads, ``threads`` is only where it starts: then all the cores other processes leave idle.
        self.thread_policy = ThreadPolicy.for_this_machine(threads) if adaptive_threads else None
        self._vocab = self._model.vocab
        metadata = self._model.metadata()
        architecture = metadata.get("general.architecture", "unknown")
        self.info = ModelInfo(
            path=str(path),
            name=metadata.get("general.name", path.stem),
            architecture=architecture,
            context_length=int(metadata.get(f"{architecture}.context_length", 0) or 0),
            fim=_fim_tokens(self._vocab),
            vocab_size=int(llama_cpp.llama_vocab_n_tokens(self._vocab)),
        )
        self._context_size = context_size
        self._add_bos = bool(llama_cpp.llama_vocab_get_add_bos(self._vocab))
        self._pieces: dict[int, bytes] = {}
        self._vocab_texts: VocabText | None = None
        self._tokenized: OrderedDict[str, tuple[int, ...]] = OrderedDict()
        self.speculative = speculative
        self.move_chunks = move_chunks
        self.draft_options: dict[str, int] = {}  # PromptLookupDrafter's n-gram sizes and draft length
        self.make_drafter: Callable[[], Drafter] | None = None  # another source of drafts (eval/draft_model.py)
        self.chooser: TokenChooser = GreedyChooser()
        fim = self.info.fim
        self._never_drafted = frozenset((fim.prefix, fim.suffix, fim.middle) if fim else ())
        self.last_run: Generation | None = None  # for logs and benchmarks

    @property
    def context_size(self) -> int:
        return self._context_size

    @property
    def start_tokens(self) -> list[int]:
        return [int(self._llama_cpp.llama_vocab_bos(self._vocab))] if self._add_bos else []

    @property
    def cached_tokens(self) -> list[int]:
        """What the KV cache holds, position by position (a copy)."""
        return list(self._context.tokens)

    def tokenize(self, text: str) -> list[int]:
        # Successive keystrokes tokenize the same long texts again (the lines above the cursor's, the
        # suffix): ~2 ms each for a 6k-character window, so the last few are remembered.
        cached = self._tokenized.get(text)
        if cached is not None:
            self._tokenized.move_to_end(text)
            return list(cached)
        tokens = self._tokenize(text)
        if len(text) >= TOKENIZE_CACHE_MIN_CHARS:
            self._tokenized[text] = tuple(tokens)
            if len(self._tokenized) > TOKENIZE_CACHE_ENTRIES:
                self._tokenized.popitem(last=False)
        return tokens

    def _tokenize(self, text: str) -> list[int]:
        # llama_tokenize directly: llama-cpp-python's helper allocates a buffer of the model's whole
        # training context (32k tokens) on every call. A token is never shorter than a byte.
        data = text.encode("utf-8", "surrogatepass")
        size = len(data) + 8
        buffer = (self._llama_cpp.llama_token * size)()
        count = self._llama_cpp.llama_tokenize(self._vocab, data, len(data), buffer, size, False, False)
        if count < 0:  # cannot happen with a byte per token, but llama.cpp says how many it needs
            buffer = (self._llama_cpp.llama_token * -count)()
            count = self._llama_cpp.llama_tokenize(self._vocab, data, len(data), buffer, -count, False, False)
        return list(buffer[:count])

    def detokenize(self, tokens: Sequence[int]) -> str:
        return b"".join(self._piece(token) for token in tokens).decode("utf-8", "ignore")

    def _piece(self, token: int) -> bytes:
        piece = self._pieces.get(token)
        if piece is None:
            buffer = ctypes.create_string_buffer(64)
            size = self._llama_cpp.llama_token_to_piece(self._vocab, token, buffer, len(buffer), 0, False)
            piece = buffer.raw[: max(0, size)]
            self._pieces[token] = piece
        return piece

    def is_end(self, token: int) -> bool:
        return bool(self._llama_cpp.llama_vocab_is_eog(self._vocab, token))

    def set_threads(self, threads: int) -> None:
        self._context.set_threads(threads)
        self._threads = threads

    def _follow_thread_policy(self) -> None:
        if self.thread_policy is not None and (threads := self.thread_policy.choose()) != self._threads:
            self.set_threads(threads)

    def _checking_threads(self, cancelled: Callable[[], bool]) -> Callable[[], bool]:
        """``cancelled``, asked between model steps, which is also when the thread count may change."""
        if self.thread_policy is None:
            return cancelled

        def check() -> bool:
            self._follow_thread_policy()
            return cancelled()

        return check

    def reset(self) -> None:
        """Forget the KV cache: the next prompt is evaluated from scratch (benchmarks, tests)."""
        self._context.clear()

    def close(self) -> None:
        self._context.close()
        self._model.close()

    def logits_after(self, tokens: Sequence[int]) -> numpy.ndarray:
        """The logits for the token after ``tokens`` (a copy), with the KV cache reused."""
        self._context.prepare(tokens, cancelled=lambda: False, move_chunks=self.move_chunks)
        return numpy.array(self._context.logits(-1))

    def run(
        self,
        prompt_tokens: Sequence[int],
        *,
        max_tokens: int,
        stop_at: Callable[[str], int | None],
        cancelled: Callable[[], bool],
        guide: NameGuide | None = None,
    ) -> Generation:
        """Greedy completion after ``prompt_tokens``; with ``guide``, names are chosen among the
        valid ones where its oracle knows them (``guidance.GuidedChooser``)."""
        started = time.perf_counter()
        cancelled = self._checking_threads(cancelled)
        max_tokens = room_for(max_tokens, self._context_size, len(prompt_tokens))
        shared = common_prefix(self._context.tokens, prompt_tokens)
        if (early := nothing_to_generate(len(prompt_tokens), max_tokens, shared, cancelled)) is not None:
            return early
        prepared = self._context.prepare(prompt_tokens, cancelled, move_chunks=self.move_chunks)
        prompt_seconds = time.perf_counter() - started
        if prepared is None:
            generation = Generation("", len(prompt_tokens), shared, 0, StopReason.CANCELLED, prompt_seconds, prompt_seconds=prompt_seconds)
            self.last_run = generation
            return generation
        drafter = self._new_drafter()
        drafter.start(prompt_tokens)
        chooser: TokenChooser = self.chooser
        if guide is not None:
            chooser = GuidedChooser(guide, self._vocab_text(), self.is_end)
        decoded = decode(
            self._context,
            chooser=chooser,
            drafter=drafter,
            max_tokens=max_tokens,
            is_end=self.is_end,
            detokenize=self.detokenize,
            stop_at=stop_at,
            cancelled=cancelled,
        )
        generation = Generation(
            decoded.text,
            len(prompt_tokens),
            prepared.reused,
            len(decoded.tokens),
            decoded.stopped_by,
            time.perf_counter() - started,
            evaluated_tokens=prepared.evaluated,
            moved_tokens=prepared.moved,
            prompt_seconds=prompt_seconds,
            steps=decoded.steps,
            drafted_tokens=decoded.drafted,
            accepted_tokens=decoded.accepted,
            rechecked=decoded.rechecked,
            recomputed=decoded.recomputed,
            tokens=tuple(decoded.tokens),
            threads=self._threads,
        )
        if isinstance(chooser, GuidedChooser):
            generation = dataclasses.replace(
                generation,
                guided_tokens=chooser.guided_positions,
                guided_changes=len(chooser.changes),
                guidance_ms=chooser.seconds * 1000,
            )
            if chooser.changes:
                logger.info(
                    "name guidance changed %d token(s): %s",
                    len(chooser.changes),
                    ", ".join(f"{change.model!r} -> {change.chosen!r}" for change in chooser.changes[:8]),
                )
        self.last_run = generation
        return generation

    def prepare_guidance(self) -> None:
        """Build what guided decoding needs from the vocabulary (safe on another thread: it only
        reads the vocabulary)."""
        self._vocab_text().build()

    def _vocab_text(self) -> VocabText:
        if self._vocab_texts is None:
            self._vocab_texts = VocabText(self._piece, self.info.vocab_size)
        return self._vocab_texts

    def _new_drafter(self) -> Drafter:
        if not self.speculative:
            return NoDrafts()
        if self.make_drafter is not None:
            return self.make_drafter()
        return PromptLookupDrafter(never=self._never_drafted, **self.draft_options)

    def generate(self, prompt: str, *, max_tokens: int, stop: Sequence[str] = ()) -> str:
        """Plain text in, text out (used by test generation); stops at any of ``stop``."""
        return generate_text(self, prompt, max_tokens=max_tokens, stop=stop, context_size=self._context_size).text

"""One llama.cpp context and an exact record of what its KV cache holds.

``KvContext.tokens`` is always the token at each position 0..n-1 of sequence 0, so a new prompt can
be compared with it: the common prefix stays, chunks that reappear later are moved there
(``plan_reuse``), only the rest is evaluated. Every decode, trim, move or abort updates the record
in the same step.

Why a second sequence: llama.cpp requires a sequence's new tokens to come right after its last
cached position, but a typed character inserts tokens *before* the suffix's cells. So the kept
chunks after the first gap are parked in sequence 1 while the gaps before them are evaluated, and
copied back (the same cells, no copy of data in a unified cache) as the evaluation reaches them.

A decode is aborted between two graph nodes when its request is cancelled (``abort.AbortSwitch``),
so a new keystroke never waits for a prompt batch, a verification batch or even a token to finish.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy

from fireside.completion.abort import AbortSwitch
from fireside.completion.kv_reuse import ReusePlan, plan_reuse, shift_order

logger = logging.getLogger(__name__)

MAIN, PARKED = 0, 1  # sequence ids
BATCH_TOKENS = 512
DECODE_ABORTED = 2  # llama_decode's return code when the abort callback said stop


class ContextError(RuntimeError):
    """llama.cpp refused a decode for another reason than cancellation."""


@dataclass(frozen=True)
class Prepared:
    """What preparing a prompt cost: tokens kept from the cache (in place or moved) and evaluated."""

    reused: int
    moved: int  # of ``reused``, the tokens kept at a new position
    evaluated: int


class KvContext:
    def __init__(self, model, *, context_size: int, threads: int, batch_tokens: int = BATCH_TOKENS) -> None:  # noqa: ANN001 - llama_model_p
        import llama_cpp

        params = llama_cpp.llama_context_default_params()
        params.n_ctx = context_size
        params.n_batch = params.n_ubatch = min(batch_tokens, context_size)
        params.n_threads = params.n_threads_batch = threads
        params.n_seq_max = 2  # MAIN and PARKED
        params.kv_unified = True  # one cache for both: PARKED shares MAIN's cells, and MAIN gets all of n_ctx
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        params.no_perf = True
        self._llama_cpp = llama_cpp
        self._ctx = llama_cpp.llama_init_from_model(model, params)
        if not self._ctx:
            raise ContextError("llama.cpp could not create a context (out of memory?)")
        self._memory = llama_cpp.llama_get_memory(self._ctx)
        self._batch_tokens = params.n_batch
        self._batch = llama_cpp.llama_batch_init(self._batch_tokens, 0, 2)
        self._vocab_size = int(llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(model)))
        self.context_size = context_size
        self.can_move = bool(llama_cpp.llama_memory_can_shift(self._memory))
        self.tokens: list[int] = []
        self._abort = AbortSwitch(llama_cpp, self._ctx)
        self.decoding = False  # inside a decode (cancel checks may look), of this many tokens:
        self.batch_size = 0
        self.aborted_batches = 0

    # ----- life cycle ------------------------------------------------------------------------
    def close(self) -> None:
        """Free the context; only from the thread that uses it (the model thread)."""
        if self._ctx:
            self._abort.close()
            self._llama_cpp.llama_batch_free(self._batch)
            self._llama_cpp.llama_free(self._ctx)
            self._ctx = None

    def set_threads(self, threads: int) -> None:
        self._llama_cpp.llama_set_n_threads(self._ctx, threads, threads)

    def clear(self) -> None:
        """Forget everything cached (the next prompt is evaluated from scratch)."""
        self._llama_cpp.llama_memory_clear(self._memory, True)
        self.tokens = []

    def snapshot(self) -> tuple[list[int], bytes]:
        """The cache's content, to put back later with ``restore`` (benchmarks compare several ways
        of answering from the same state)."""
        llama_cpp = self._llama_cpp
        size = llama_cpp.llama_state_seq_get_size(self._ctx, MAIN)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(self._ctx, buffer, size, MAIN)
        return list(self.tokens), bytes(buffer)[:written]

    def restore(self, snapshot: tuple[list[int], bytes]) -> None:
        tokens, data = snapshot
        self.clear()
        buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        if self._llama_cpp.llama_state_seq_set_data(self._ctx, buffer, len(data), MAIN) != len(data):
            self.clear()
            raise ContextError("llama.cpp could not restore a KV snapshot")
        self.tokens = list(tokens)

    def truncate(self, length: int) -> None:
        """Drop the cached positions from ``length`` on."""
        if length < len(self.tokens):
            self._remove(length, -1)
            del self.tokens[length:]

    def _remove(self, start: int, end: int) -> bool:
        if self._llama_cpp.llama_memory_seq_rm(self._memory, MAIN, start, end):
            return True
        # Only caches that cannot drop part of a sequence (recurrent models) say no: start over.
        logger.info("the KV cache cannot drop positions %d-%d; clearing it", start, end)
        self.clear()
        return False

    def consistent(self) -> bool:
        """Whether llama.cpp's memory agrees with the record: MAIN holds positions 0..n-1 exactly
        and nothing is left parked (for tests and debugging)."""
        llama_cpp, memory = self._llama_cpp, self._memory
        low, high = llama_cpp.llama_memory_seq_pos_min(memory, MAIN), llama_cpp.llama_memory_seq_pos_max(memory, MAIN)
        parked = llama_cpp.llama_memory_seq_pos_max(memory, PARKED)
        expected = (0, len(self.tokens) - 1) if self.tokens else (-1, -1)
        return (low, high) == expected and parked == -1

    # ----- logits ----------------------------------------------------------------------------
    def logits(self, index: int) -> numpy.ndarray:
        """The logits after the ``index``-th token of the last decode's batch (one that asked for
        them). A view into llama.cpp's buffer: valid until the next decode."""
        pointer = self._llama_cpp.llama_get_logits_ith(self._ctx, index)
        if not pointer:
            raise ContextError(f"no logits for batch index {index}")
        return numpy.ctypeslib.as_array(pointer, shape=(self._vocab_size,))

    # ----- decoding --------------------------------------------------------------------------
    def decode(
        self, tokens: Sequence[int], *, outputs: Sequence[int] = (-1,), cancelled: Callable[[], bool] = lambda: False
    ) -> bool:
        """Evaluate ``tokens`` at the next positions of MAIN, with logits for the batch indices in
        ``outputs`` (-1: the last). False when ``cancelled`` stopped it: what was evaluated before
        stays cached and recorded."""
        if not tokens:
            return True
        wanted = {index % len(tokens) for index in outputs}
        for start in range(0, len(tokens), self._batch_tokens):
            part = tokens[start : start + self._batch_tokens]
            indices = [index - start for index in wanted if start <= index < start + len(part)]
            if indices and start + len(part) < len(tokens):
                raise ValueError("logits can only be asked for in the last batch")
            if not self._decode_batch(part, indices, cancelled):
                return False
        return True

    def _decode_batch(self, tokens: Sequence[int], outputs: Sequence[int], cancelled: Callable[[], bool]) -> bool:
        llama_cpp = self._llama_cpp
        if not self._ctx:
            raise ContextError("the model was closed")
        batch = self._batch
        position = len(self.tokens)
        if position + len(tokens) > self.context_size:
            raise ContextError(f"{position + len(tokens)} tokens do not fit in a context of {self.context_size}")
        batch.n_tokens = len(tokens)
        for index, token in enumerate(tokens):
            batch.token[index] = token
            batch.pos[index] = position + index
            batch.n_seq_id[index] = 1
            batch.seq_id[index][0] = MAIN
            batch.logits[index] = 0
        for index in outputs:
            batch.logits[index] = 1
        self.decoding, self.batch_size = True, len(tokens)
        try:
            with self._abort.watching(cancelled):
                code = llama_cpp.llama_decode(self._ctx, batch)
        finally:
            self.decoding = False
        if code == 0:
            self.tokens.extend(tokens)
            return True
        # Aborted or failed: llama.cpp removed the positions of the batch it was working on; the
        # record follows what MAIN really holds.
        kept = llama_cpp.llama_memory_seq_pos_max(self._memory, MAIN) + 1
        self.tokens = (self.tokens + list(tokens))[: max(0, kept)]
        if code == DECODE_ABORTED:
            self.aborted_batches += 1
            return False
        raise ContextError(f"llama_decode returned {code}")

    # ----- reuse -----------------------------------------------------------------------------
    def plan(self, prompt: Sequence[int], *, move_chunks: bool = True) -> ReusePlan:
        """What of the cache ``prompt`` can keep. The last prompt token is never kept: it is
        evaluated again so that its logits belong to this prompt."""
        head = prompt[: len(prompt) - 1]
        if move_chunks and self.can_move:
            return plan_reuse(self.tokens, head)
        return plan_reuse(self.tokens, head, min_chunk=0)

    def prepare(self, prompt: Sequence[int], cancelled: Callable[[], bool], *, move_chunks: bool = True) -> Prepared | None:
        """Make the cache hold exactly ``prompt`` and leave the logits after its last token at
        batch index -1. None when cancelled (the record stays exact)."""
        if not prompt:
            raise ValueError("empty prompt")
        if len(prompt) > self.context_size:
            raise ContextError(f"a prompt of {len(prompt)} tokens does not fit in a context of {self.context_size}")
        plan = self.plan(prompt, move_chunks=move_chunks)
        plan = self._rearrange(plan)
        evaluated = 0
        try:
            for kept, start, end in plan.segments(len(prompt)):
                if kept:
                    # Back from PARKED: positions [start, end) of MAIN are the chunk's cells again.
                    self._llama_cpp.llama_memory_seq_cp(self._memory, PARKED, MAIN, start, end)
                    self.tokens.extend(prompt[start:end])
                    continue
                last = end == len(prompt)
                if not self.decode(prompt[start:end], outputs=(-1,) if last else (), cancelled=cancelled):
                    return None
                evaluated += end - start
        finally:
            self._llama_cpp.llama_memory_seq_rm(self._memory, PARKED, -1, -1)
        moved = sum(move.length for move in plan.moves)
        return Prepared(plan.reused, moved, evaluated)

    def _rearrange(self, plan: ReusePlan) -> ReusePlan:
        """Drop the cells the plan does not keep, move the kept chunks to their new positions and
        park them in PARKED; MAIN then holds the prefix only. Returns the plan carried out."""
        llama_cpp, memory = self._llama_cpp, self._memory
        for start, end in plan.dropped(len(self.tokens)):
            if not self._remove(start, end):
                return ReusePlan(0, ())  # cleared: nothing is kept after all
        for move in shift_order(plan.moves):
            llama_cpp.llama_memory_seq_add(memory, MAIN, move.source, move.source + move.length, move.shift)
        if plan.moves:
            llama_cpp.llama_memory_seq_cp(memory, MAIN, PARKED, plan.prefix, -1)
            llama_cpp.llama_memory_seq_rm(memory, MAIN, plan.prefix, -1)
        del self.tokens[plan.prefix :]
        return plan


"""Which parts of the KV cache a new prompt can keep: the common prefix, and chunks of the old
cache that reappear later in the new prompt (llama.cpp server's ``--cache-reuse``, generalised to
chunks that move forward as well as backward).

In fill-in-the-middle order (``<fim_prefix> prefix <fim_suffix> suffix <fim_middle>``) a typed
character changes a token near the end of the prefix; everything after it — the whole suffix —
is the same text at a shifted position. Keeping those cells and moving them (a RoPE shift) instead
of evaluating them again turns a keystroke's ~250 prompt tokens into the few that changed.

The plan is pure: token lists in, positions out. ``fireside.completion.kv_context`` applies it.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Sequence
from dataclasses import dataclass

# Shorter runs are evaluated again: a chunk move costs a little bookkeeping and, more to the point,
# a short run of common tokens (``self.``, an indentation) found far away is rarely the same text.
MIN_CHUNK_TOKENS = 16


@dataclass(frozen=True)
class Move:
    """``length`` cached tokens at ``source`` reappear in the prompt at ``target``."""

    source: int
    target: int
    length: int

    @property
    def shift(self) -> int:
        return self.target - self.source


@dataclass(frozen=True)
class ReusePlan:
    prefix: int  # prompt tokens whose cells stay where they are
    moves: tuple[Move, ...]  # ascending ``target`` (and ``source``), all at or after ``prefix``

    @property
    def reused(self) -> int:
        return self.prefix + sum(move.length for move in self.moves)

    def segments(self, prompt_length: int) -> list[tuple[bool, int, int]]:
        """(kept, start, end) runs of prompt positions after the prefix, in order: ``kept`` runs
        come from the cache, the others must be evaluated."""
        runs: list[tuple[bool, int, int]] = []
        position = self.prefix
        for move in self.moves:
            if move.target > position:
                runs.append((False, position, move.target))
            runs.append((True, move.target, move.target + move.length))
            position = move.target + move.length
        if position < prompt_length:
            runs.append((False, position, prompt_length))
        return runs

    def dropped(self, cached_length: int) -> list[tuple[int, int]]:
        """Ranges of cached positions that no part of the new prompt keeps."""
        ranges: list[tuple[int, int]] = []
        position = self.prefix
        for move in sorted(self.moves, key=lambda move: move.source):
            if move.source > position:
                ranges.append((position, move.source))
            position = move.source + move.length
        if position < cached_length:
            ranges.append((position, cached_length))
        return ranges


def common_prefix(cached: Sequence[int], prompt: Sequence[int]) -> int:
    """How many tokens the two start with in common."""
    return len(os.path.commonprefix([list(cached), list(prompt)]))  # any sequences, not only paths


def plan_reuse(cached: Sequence[int], prompt: Sequence[int], *, min_chunk: int = MIN_CHUNK_TOKENS) -> ReusePlan:
    """The cells of ``cached`` (the tokens at positions 0..n-1 of the KV cache) that ``prompt`` can
    keep. Chunks keep their order (sources and targets both ascend), so they never cross.

    Greedy: after the common prefix, each prompt position that starts a run of ``min_chunk`` tokens
    found in the unused rest of the cache takes the longest such run; other positions are gaps.
    """
    prefix = common_prefix(cached, prompt)
    moves: list[Move] = []
    if min_chunk < 1 or len(cached) - prefix < min_chunk or len(prompt) - prefix < min_chunk:
        return ReusePlan(prefix, ())
    starts: dict[tuple[int, ...], list[int]] = {}
    for start in range(prefix, len(cached) - min_chunk + 1):
        starts.setdefault(tuple(cached[start : start + min_chunk]), []).append(start)
    target, unused_from = prefix, prefix
    while target + min_chunk <= len(prompt):
        candidates = starts.get(tuple(prompt[target : target + min_chunk]), [])
        best_source, best_length = -1, 0
        for source in candidates[bisect.bisect_left(candidates, unused_from) :]:
            length = min_chunk
            while (
                source + length < len(cached)
                and target + length < len(prompt)
                and cached[source + length] == prompt[target + length]
            ):
                length += 1
            if length > best_length:
                best_source, best_length = source, length
        if best_length == 0:
            target += 1
            continue
        moves.append(Move(best_source, target, best_length))
        target += best_length
        unused_from = best_source + best_length
    return ReusePlan(prefix, tuple(moves))


def shift_order(moves: Sequence[Move]) -> list[Move]:
    """The order in which to shift the chunks so that a chunk never lands on cells another chunk
    still occupies: backward moves first, from the front; then forward moves, from the back."""
    backward = [move for move in moves if move.shift < 0]
    forward = [move for move in moves if move.shift > 0]
    return sorted(backward, key=lambda move: move.source) + sorted(forward, key=lambda move: -move.source)

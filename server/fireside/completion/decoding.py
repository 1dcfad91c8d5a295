"""The decoding loop: one token chosen per position, several positions verified per model call.

Three small parts, each replaceable:
- a ``TokenChooser`` picks the token at one position from its logits and the text so far (greedy
  today; issue 18's identifier-aware choice plugs in here, and drafts are checked by the same rule);
- a ``Drafter`` guesses the next few tokens without the model (prompt lookup: what followed the
  last n-gram the last time it occurred in the prompt or the completion);
- ``decode`` runs the loop: it evaluates the last chosen token together with the draft in one
  batch, with logits on every position, keeps the drafted tokens the chooser would have picked
  anyway and trims the rest from the KV cache.

Greedy output is the same with and without drafts. llama.cpp is not batch-invariant (a batch's
logits differ from one-token decodes by up to a few tenths here), so a drafted token is only
taken when the chooser's choice leads the runner-up by ``margin`` or more; at a closer call that
position is decoded again on its own, exactly as plain decoding would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy

# Logit lead above which a batched verification's choice is trusted to be the one-token choice.
# Measured (eval/speculation.py): batched and one-token logits of the same position differ by at
# most ~0.5 in the lead of the best token over any other, so 1.5 leaves a wide safety band.
VERIFY_MARGIN = 1.5
MAX_DRAFT_TOKENS = 8


@dataclass(frozen=True)
class Choice:
    token: int
    margin: float  # logit lead over the best other token the chooser would allow


class TokenChooser(Protocol):
    def choose(self, logits: numpy.ndarray, generated: Sequence[int], text: str) -> Choice:
        """The token for the next position, given its logits, the tokens chosen so far and their text."""
        ...


class GreedyChooser:
    """The most likely token."""

    def choose(self, logits: numpy.ndarray, generated: Sequence[int], text: str) -> Choice:
        best = int(numpy.argmax(logits))
        below = logits[:best].max(initial=-numpy.inf)
        above = logits[best + 1 :].max(initial=-numpy.inf)
        return Choice(best, float(logits[best] - max(below, above)))


class Drafter(Protocol):
    def start(self, prompt: Sequence[int]) -> None:
        """A new completion for ``prompt`` begins."""
        ...

    def draft(self, generated: Sequence[int], limit: int) -> list[int]:
        """Up to ``limit`` guesses for the tokens after ``generated``."""
        ...


class NoDrafts:
    def start(self, prompt: Sequence[int]) -> None:
        pass

    def draft(self, generated: Sequence[int], limit: int) -> list[int]:
        return []


class PromptLookupDrafter:
    """Draft what followed the longest recent n-gram (``max_ngram`` down to ``min_ngram`` tokens)
    that ends the text so far, looked up in the prompt and the completion itself.

    Code repeats itself: the rest of a line often continues like the line above, a name typed once
    is typed again, and in FIM the suffix holds the text that follows. The latest occurrence wins.
    """

    def __init__(
        self, *, max_ngram: int = 3, min_ngram: int = 2, max_tokens: int = MAX_DRAFT_TOKENS, never: frozenset[int] = frozenset()
    ) -> None:
        self._sizes = range(max_ngram, min_ngram - 1, -1)
        self._max_tokens = max_tokens
        self._never = never  # tokens a draft stops before (the FIM markers)
        self._history: list[int] = []  # the prompt, then the tokens generated so far
        self._prompt_length = 0
        self._follows: dict[tuple[int, ...], int] = {}  # n-gram → index after its latest occurrence

    def start(self, prompt: Sequence[int]) -> None:
        self._history = list(prompt)
        self._prompt_length = len(self._history)
        self._follows = {}
        for end in range(1, len(self._history)):
            self._index_ending_at(end)

    def _index_ending_at(self, end: int) -> None:
        """Record the n-grams that end at ``end`` (they are followed by ``history[end]``)."""
        for size in self._sizes:
            if end >= size:
                self._follows[tuple(self._history[end - size : end])] = end

    def draft(self, generated: Sequence[int], limit: int) -> list[int]:
        history = self._history
        for token in generated[len(history) - self._prompt_length :]:
            history.append(token)
            self._index_ending_at(len(history) - 1)
        limit = min(limit, self._max_tokens)
        for size in self._sizes:
            if limit <= 0 or len(history) < size:
                break
            follow = self._follows.get(tuple(history[-size:]))
            if follow is None:
                continue
            guess: list[int] = []
            for token in history[follow : follow + limit]:
                if token in self._never:
                    break
                guess.append(token)
            if guess:
                return guess
        return []


class DecodeTarget(Protocol):
    """What the loop needs from a model context (``KvContext``)."""

    tokens: list[int]
    context_size: int

    def decode(self, tokens: Sequence[int], *, outputs: Sequence[int], cancelled: Callable[[], bool]) -> bool: ...

    def logits(self, index: int) -> numpy.ndarray: ...

    def truncate(self, length: int) -> None: ...


@dataclass
class Decoded:
    tokens: list[int] = field(default_factory=list)
    text: str = ""
    stopped_by: str = "limit"  # "eos", "limit", "stop", "cancelled"
    steps: int = 0  # model calls after the prompt (one per verified batch or single token)
    drafted: int = 0  # draft tokens sent to the model
    accepted: int = 0  # of those, kept
    rechecked: int = 0  # close calls decoded again on their own


def decode(
    target: DecodeTarget,
    *,
    chooser: TokenChooser,
    drafter: Drafter,
    max_tokens: int,
    is_end: Callable[[int], bool],
    detokenize: Callable[[Sequence[int]], str],
    stop_at: Callable[[str], int | None],
    cancelled: Callable[[], bool],
    margin: float = VERIFY_MARGIN,
) -> Decoded:
    """Generate after a prompt whose last token's logits are at batch index -1 of ``target``.

    Afterwards the cache holds what plain decoding leaves: the prompt and the generated tokens, the
    last one only when the model said "end" after it; drafted tokens past that are dropped."""
    prompt_length = len(target.tokens)
    out = Decoded()
    try:
        _decode_into(out, target, chooser, drafter, max_tokens, is_end, detokenize, stop_at, cancelled, margin)
    finally:
        evaluated = len(out.tokens) if out.stopped_by == "eos" else max(0, len(out.tokens) - 1)
        target.truncate(prompt_length + evaluated)
    return out


def _decode_into(
    out: Decoded,
    target: DecodeTarget,
    chooser: TokenChooser,
    drafter: Drafter,
    max_tokens: int,
    is_end: Callable[[int], bool],
    detokenize: Callable[[Sequence[int]], str],
    stop_at: Callable[[str], int | None],
    cancelled: Callable[[], bool],
    margin: float,
) -> None:
    choice = chooser.choose(target.logits(-1), out.tokens, out.text)
    while True:
        # ``choice`` is the token for the next position; it is not in the KV cache yet.
        if _finished(out, choice.token, max_tokens, is_end, detokenize, stop_at, cancelled):
            return
        if len(target.tokens) + 1 >= target.context_size:
            return  # "limit": the context is full
        room = min(max_tokens - len(out.tokens), target.context_size - len(target.tokens) - 2)
        draft = drafter.draft(out.tokens, room) if room > 0 else []
        batch = [choice.token, *draft]
        base = len(target.tokens)
        out.steps += 1
        out.drafted += len(draft)
        if not target.decode(batch, outputs=range(len(batch)), cancelled=cancelled):
            out.stopped_by = "cancelled"
            return
        if not draft:
            choice = chooser.choose(target.logits(0), out.tokens, out.text)
            continue
        for index in range(len(batch)):
            choice = chooser.choose(target.logits(index), out.tokens, out.text)
            if choice.margin < margin:
                # Too close to trust a batched answer: this position again, on its own.
                out.rechecked += 1
                target.truncate(base + index)
                if not target.decode(batch[index : index + 1], outputs=(0,), cancelled=cancelled):
                    out.stopped_by = "cancelled"
                    return
                choice = chooser.choose(target.logits(0), out.tokens, out.text)
                break
            if index == len(draft) or choice.token != draft[index]:
                target.truncate(base + index + 1)  # the rest of the draft is wrong
                break
            out.accepted += 1
            if _finished(out, choice.token, max_tokens, is_end, detokenize, stop_at, cancelled):
                return


def _finished(
    out: Decoded,
    token: int,
    max_tokens: int,
    is_end: Callable[[int], bool],
    detokenize: Callable[[Sequence[int]], str],
    stop_at: Callable[[str], int | None],
    cancelled: Callable[[], bool],
) -> bool:
    """Take ``token`` as the next one; True when the completion ends here."""
    if is_end(token):
        out.stopped_by = "eos"
        return True
    out.tokens.append(token)
    out.text = detokenize(out.tokens)
    cut = stop_at(out.text)
    if cut is not None:
        out.text = out.text[:cut]
        out.stopped_by = "stop"
        return True
    if cancelled():
        out.stopped_by = "cancelled"
        return True
    if len(out.tokens) >= max_tokens:
        out.stopped_by = "limit"
        return True
    return False

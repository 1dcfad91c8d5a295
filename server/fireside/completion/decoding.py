"""The decoding loop: one token chosen per position, several positions verified per model call.

Three small parts, each replaceable:
- a ``TokenChooser`` picks the token at one position from its logits and the text so far (greedy
  today; issue 18's identifier-aware choice plugs in here, and drafts are checked by the same rule);
- a ``Drafter`` guesses the next few tokens without the model (prompt lookup: what followed the
  last n-gram the last time it occurred in the prompt or the completion);
- ``decode`` runs the loop: each chosen token is evaluated on its own, as in plain decoding; when
  the model's next choice is the draft's first token, that token and the rest of the draft are
  evaluated in one batch with logits on every position, and the drafted tokens the chooser picks
  anyway are kept; the rest is trimmed from the KV cache. A wrong draft is never evaluated.

Greedy output is the same with and without drafts. llama.cpp is not batch-invariant: a batch's
logits differ from one-token decodes (by a few tenths in the lead of the best token here), and so
do the cache entries a batch leaves, a little. So a choice made in a batch is only trusted when it
leads the runner-up by ``Margins.batch``, else that position is decoded again on its own; and a
choice made after batched cache entries is only trusted when it leads by ``Margins.after_batch``,
else those entries are evaluated again one by one first, exactly as plain decoding had them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy

# Logit leads above which a choice is trusted to be plain decoding's: in a batch, and one token at a
# time after batched cache entries. Measured with Qwen2.5-Coder 0.5B (eval/speculation.py, 692
# positions): the lead of the one-token choice changed by at most 0.39 in a batch and 0.73 one
# token at a time after a batch of 8, so both bounds are twice that or more.
VERIFY_MARGIN = 1.0
AFTER_BATCH_MARGIN = 1.5
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
    rechecked: int = 0  # close calls in a batch, decoded again on their own
    recomputed: int = 0  # batched cache entries evaluated again one by one before a close call


@dataclass(frozen=True)
class Margins:
    """How far ahead a choice must be to be trusted where llama.cpp's numbers differ from plain
    decoding's: at a position of a batch (batched kernels), and at a position decoded on its own
    after tokens whose cache entries came from a batch (they differ a little too)."""

    batch: float = VERIFY_MARGIN
    after_batch: float = AFTER_BATCH_MARGIN


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
    margins: Margins = Margins(),
) -> Decoded:
    """Generate after a prompt whose last token's logits are at batch index -1 of ``target``.

    Each chosen token is evaluated on its own, as in plain decoding. When the model's next token is
    the first token of the draft, that token and the rest of the draft are evaluated in one call,
    with logits at every position: the draft's tokens are kept as long as they are the model's
    choices. A wrong draft costs nothing (it is never evaluated); a right one saves calls.

    Afterwards the cache holds what plain decoding leaves: the prompt and the generated tokens, the
    last one only when the model said "end" after it; drafted tokens past that are dropped."""
    prompt_length = len(target.tokens)
    out = Decoded()
    loop = _Loop(out, target, chooser, max_tokens, is_end, detokenize, stop_at, cancelled, margins)
    try:
        loop.run(drafter)
    finally:
        evaluated = len(out.tokens) if out.stopped_by == "eos" else max(0, len(out.tokens) - 1)
        target.truncate(prompt_length + evaluated)
    return out


class _Cancelled(Exception):
    pass


class _Loop:
    def __init__(
        self,
        out: Decoded,
        target: DecodeTarget,
        chooser: TokenChooser,
        max_tokens: int,
        is_end: Callable[[int], bool],
        detokenize: Callable[[Sequence[int]], str],
        stop_at: Callable[[str], int | None],
        cancelled: Callable[[], bool],
        margins: Margins,
    ) -> None:
        self.out, self.target, self.chooser = out, target, chooser
        self.max_tokens, self.is_end, self.detokenize = max_tokens, is_end, detokenize
        self.stop_at, self.cancelled, self.margins = stop_at, cancelled, margins
        self.batched_from: int | None = None  # first cached position evaluated in a batch (kept)

    def run(self, drafter: Drafter) -> None:
        out, target = self.out, self.target
        choice = self.chooser.choose(target.logits(-1), out.tokens, out.text)
        try:
            while True:
                # ``choice`` is the next token; it is not in the KV cache yet.
                if self.take(choice.token):
                    return
                draft = drafter.draft(out.tokens, self.room() + 1)
                choice = self.single(choice.token)
                if draft and choice.token == draft[0]:
                    # The model's next token is the draft's first: evaluate it with the rest.
                    if self.take(choice.token):
                        return
                    choice = self.verify(draft[: self.room() + 1])
        except _Finished:
            return
        except _Cancelled:
            out.stopped_by = "cancelled"

    def room(self) -> int:
        """How many more tokens may be evaluated beyond the next one."""
        return min(self.max_tokens - len(self.out.tokens), self.target.context_size - len(self.target.tokens) - 2)

    def take(self, token: int) -> bool:
        """Append ``token`` to the completion; True when the completion ends here."""
        return _finished(self.out, token, self.max_tokens, self.is_end, self.detokenize, self.stop_at, self.cancelled) or (
            len(self.target.tokens) + 1 >= self.target.context_size
        )

    def call(self, tokens: Sequence[int]) -> None:
        self.out.steps += 1
        if not self.target.decode(tokens, outputs=range(len(tokens)), cancelled=self.cancelled):
            raise _Cancelled

    def single(self, token: int) -> Choice:
        """Evaluate ``token`` on its own; the choice after it, as plain decoding would make it."""
        self.call([token])
        choice = self.chooser.choose(self.target.logits(0), self.out.tokens, self.out.text)
        if self.batched_from is not None and choice.margin < self.margins.after_batch:
            choice = self.evaluate_again_one_by_one()
        return choice

    def evaluate_again_one_by_one(self) -> Choice:
        """A close call after batched cache entries: evaluate them again one token at a time, so
        that this choice is made on exactly what plain decoding would have cached."""
        assert self.batched_from is not None
        target = self.target
        again = target.tokens[self.batched_from :]
        target.truncate(self.batched_from)
        self.batched_from = None
        self.out.recomputed += len(again)
        for token in again:
            self.call([token])
        return self.chooser.choose(target.logits(0), self.out.tokens, self.out.text)

    def verify(self, batch: list[int]) -> Choice:
        """``batch[0]`` is taken already (the model chose it), the rest is the draft: evaluate them in
        one call and keep the drafted tokens the model would choose. Returns the next choice."""
        out, target = self.out, self.target
        if len(batch) == 1:
            return self.single(batch[0])
        base = len(target.tokens)
        self.call(batch)
        out.drafted += len(batch) - 1
        if self.batched_from is None:
            self.batched_from = base
        for index in range(len(batch)):
            choice = self.chooser.choose(target.logits(index), out.tokens, out.text)
            if choice.margin < self.margins.batch:
                # Too close to trust a batched answer: this position again, on its own.
                out.rechecked += 1
                target.truncate(base + index)
                if self.batched_from >= base + index:
                    self.batched_from = None
                return self.single(batch[index])
            if index + 1 == len(batch) or choice.token != batch[index + 1]:
                target.truncate(base + index + 1)  # the rest of the draft is wrong
                return choice
            out.accepted += 1
            if self.take(choice.token):
                raise _Finished
        raise AssertionError("the last position of a batch always returns")


class _Finished(Exception):
    pass


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

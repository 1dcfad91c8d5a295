"""The decoding loop on a deterministic stand-in model: drafts never change greedy output, rejected
drafts leave the KV record, close calls are decoded again on their own, the token choice is pluggable."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import numpy
import pytest

from fireside.completion.decoding import (
    Choice,
    GreedyChooser,
    Margins,
    NoDrafts,
    PromptLookupDrafter,
    decode,
)

VOCAB = 12
END = 11


class FakeTarget:
    """A model whose logits are a fixed pseudo-random function of the last three tokens. A batch of
    more than one token adds ``batch_noise`` to its logits, as llama.cpp's batched kernels do, and
    the cache entries a batch leaves add ``drift`` to every later one-token decode."""

    def __init__(self, context_size: int = 512, batch_noise: float = 0.0, drift: float = 0.0, scale: float = 5.0) -> None:
        self.scale = scale
        self.tokens: list[int] = []
        self.batched: list[bool] = []  # per cached position: evaluated in a batch
        self.context_size = context_size
        self.batch_noise, self.drift = batch_noise, drift
        self.calls: list[int] = []  # batch sizes
        self._rows: dict[int, numpy.ndarray] = {}

    def clean_logits(self, history: Sequence[int]) -> numpy.ndarray:
        seed = hash(tuple(history[-3:])) & 0xFFFFFFFF
        logits = numpy.random.default_rng(seed).normal(0, self.scale, VOCAB).astype(numpy.float32)
        logits[END] -= 1.6 * self.scale  # ends are rare
        return logits

    @staticmethod
    def _noise(history: Sequence[int], salt: int, size: float) -> numpy.ndarray:
        seed = hash((tuple(history[-3:]), salt)) & 0xFFFFFFFF
        return numpy.random.default_rng(seed).uniform(-size, size, VOCAB)

    def decode(self, tokens: Sequence[int], *, outputs: Sequence[int], cancelled: Callable[[], bool]) -> bool:
        if cancelled():
            return False
        self.calls.append(len(tokens))
        wanted = {index % len(tokens) for index in outputs}
        self._rows = {}
        for index, token in enumerate(tokens):
            self.tokens.append(token)
            self.batched.append(len(tokens) > 1)
            if index in wanted:
                row = self.clean_logits(self.tokens)
                if len(tokens) > 1 and self.batch_noise:
                    row = row + self._noise(self.tokens, len(tokens), self.batch_noise)
                elif self.drift and any(self.batched[:-1]):
                    row = row + self._noise(self.tokens, self.batched.index(True), self.drift)
                self._rows[index] = row.astype(numpy.float32)
        self._last = len(tokens) - 1
        return True

    def logits(self, index: int) -> numpy.ndarray:
        return self._rows[index % (self._last + 1)]

    def truncate(self, length: int) -> None:
        del self.tokens[length:]
        del self.batched[length:]


def plain_continuation(prompt: list[int], count: int, batch_noise: float = 0.4, scale: float = 5.0) -> list[int]:
    """What plain decoding generates, ends ignored (the prompt's own logits come from a batch)."""
    target = FakeTarget(batch_noise=batch_noise, scale=scale)
    target.decode(prompt, outputs=(-1,), cancelled=lambda: False)
    out = [int(numpy.argmax(target.logits(-1)))]
    while len(out) < count:
        target.decode(out[-1:], outputs=(0,), cancelled=lambda: False)
        out.append(int(numpy.argmax(target.logits(0))))
    return out


class OracleDrafter:
    """Drafts the true continuation, with every ``wrong_every``-th token replaced."""

    def __init__(self, truth: list[int], wrong_every: int = 0) -> None:
        self.truth, self.wrong_every = truth, wrong_every

    def start(self, prompt: Sequence[int]) -> None:
        pass

    def draft(self, generated: Sequence[int], limit: int) -> list[int]:
        guess = self.truth[len(generated) : len(generated) + min(limit, 6)]
        if self.wrong_every:
            guess = [(t + 1) % (VOCAB - 1) if (len(generated) + i) % self.wrong_every == 0 else t for i, t in enumerate(guess)]
        return guess


class RandomDrafter:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def start(self, prompt: Sequence[int]) -> None:
        pass

    def draft(self, generated: Sequence[int], limit: int) -> list[int]:
        return [self.rng.randrange(VOCAB - 1) for _ in range(min(limit, self.rng.randrange(0, 5)))]


def run(prompt: list[int], drafter, *, batch_noise: float = 0.0, drift: float = 0.0, margins: Margins = Margins(1.5, 0.5),
        max_tokens: int = 40, chooser=None, stop_at=lambda text: None, cancelled=lambda: False, scale: float = 5.0):
    target = FakeTarget(batch_noise=batch_noise, drift=drift, scale=scale)
    target.decode(prompt, outputs=(-1,), cancelled=lambda: False)
    target.batched = [False] * len(prompt)  # the prompt is a batch in both ways alike
    drafter.start(prompt)
    result = decode(
        target,
        chooser=chooser or GreedyChooser(),
        drafter=drafter,
        max_tokens=max_tokens,
        is_end=lambda token: token == END,
        detokenize=lambda tokens: "".join(chr(97 + token) for token in tokens),
        stop_at=stop_at,
        cancelled=cancelled,
        margins=margins,
    )
    return result, target


def prompts(count: int) -> list[list[int]]:
    rng = random.Random(5)
    return [[rng.randrange(VOCAB - 1) for _ in range(rng.randrange(3, 30))] for _ in range(count)]


@pytest.mark.parametrize("drafter_kind", ["oracle", "oracle-with-errors", "random", "prompt-lookup"])
@pytest.mark.parametrize("scale", [5.0, 25.0])  # many close calls; few (as with a real model)
def test_drafts_never_change_the_greedy_output_and_rejected_drafts_leave_the_cache(drafter_kind, scale):
    plain_calls = fast_calls = accepted = 0
    for prompt in prompts(40):
        plain, plain_target = run(prompt, NoDrafts(), batch_noise=0.4, drift=0.15, scale=scale)
        truth = plain_continuation(prompt, 60, scale=scale)
        drafter = {
            "oracle": lambda: OracleDrafter(truth),
            "oracle-with-errors": lambda: OracleDrafter(truth, wrong_every=3),
            "random": lambda: RandomDrafter(len(prompt)),
            "prompt-lookup": lambda: PromptLookupDrafter(min_ngram=1),
        }[drafter_kind]()
        fast, target = run(prompt, drafter, batch_noise=0.4, drift=0.15, scale=scale)
        assert fast.tokens == plain.tokens and fast.stopped_by == plain.stopped_by
        # The cache ends as after plain decoding: no rejected draft, nothing past the completion.
        assert target.tokens == plain_target.tokens
        assert target.tokens == prompt + (fast.tokens if fast.stopped_by == "eos" else fast.tokens[:-1])
        plain_calls, fast_calls, accepted = plain_calls + plain.steps, fast_calls + fast.steps, accepted + fast.accepted
    if drafter_kind == "oracle" and scale > 5:
        assert fast_calls < 0.8 * plain_calls and accepted > 0  # fewer model calls


def test_a_wrong_draft_is_never_evaluated():
    for prompt in prompts(10):
        plain, _ = run(prompt, NoDrafts())
        always_wrong = OracleDrafter([(token + 1) % (VOCAB - 1) for token in plain_continuation(prompt, 60, 0.0)])
        fast, target = run(prompt, always_wrong)
        assert fast.tokens == plain.tokens
        assert fast.drafted == 0 and set(target.calls[1:]) <= {1}  # one token per call, as plain decoding


def test_without_the_margin_rules_llama_cpp_s_batch_differences_change_the_output():
    """The reason for both rules: trusting a close call in a batch, or after batched cache entries,
    picks another token than plain decoding now and then."""
    batch_differs = drift_differs = 0
    for prompt in prompts(40):
        truth = plain_continuation(prompt, 60, batch_noise=0.8)
        plain, _ = run(prompt, NoDrafts(), batch_noise=0.8, drift=0.6)
        careless_batch, _ = run(prompt, OracleDrafter(truth), batch_noise=0.8, drift=0.6, margins=Margins(0.0, 1.3))
        careless_drift, _ = run(prompt, OracleDrafter(truth), batch_noise=0.8, drift=0.6, margins=Margins(1.7, 0.0))
        careful, _ = run(prompt, OracleDrafter(truth), batch_noise=0.8, drift=0.6, margins=Margins(1.7, 1.3))
        batch_differs += careless_batch.tokens != plain.tokens
        drift_differs += careless_drift.tokens != plain.tokens
        assert careful.tokens == plain.tokens
    assert batch_differs > 0 and drift_differs > 0


def test_close_calls_are_decoded_again_on_their_own():
    prompt = prompts(1)[0]
    truth = plain_continuation(prompt, 60)
    plain, _ = run(prompt, NoDrafts(), batch_noise=0.4, drift=0.15)
    # Every batched position is a close call: each batch's first position is decoded again alone.
    result, target = run(prompt, OracleDrafter(truth), batch_noise=0.4, drift=0.15, margins=Margins(100.0, 0.5))
    batches = sum(size > 1 for size in target.calls[1:])  # after the prompt
    assert result.tokens == plain.tokens
    assert batches > 0 and result.rechecked == batches and result.accepted == 0
    # Every position after batched cache entries is a close call: they are evaluated again one by one.
    result, target = run(prompt, OracleDrafter(truth), batch_noise=0.4, drift=0.15, margins=Margins(1.5, 100.0))
    assert result.tokens == plain.tokens
    assert result.accepted > 0 and result.recomputed >= result.accepted


def test_limits_stops_and_cancellation_end_the_loop_at_the_same_token_as_plain_decoding():
    for prompt in prompts(20):
        truth = plain_continuation(prompt, 60, batch_noise=0.0)
        for max_tokens in (1, 2, 5, 9):
            plain, _ = run(prompt, NoDrafts(), max_tokens=max_tokens)
            fast, _ = run(prompt, OracleDrafter(truth), max_tokens=max_tokens)
            assert fast.tokens == plain.tokens and len(fast.tokens) <= max_tokens

        def stop_at(text: str) -> int | None:
            return text.index("c") if "c" in text else None

        plain, _ = run(prompt, NoDrafts(), stop_at=stop_at)
        fast, _ = run(prompt, OracleDrafter(truth), stop_at=stop_at)
        assert (fast.text, fast.stopped_by) == (plain.text, plain.stopped_by)
    calls = iter(range(1000))
    stopped, target = run(prompts(1)[0], OracleDrafter(truth), cancelled=lambda: next(calls) >= 3)
    assert stopped.stopped_by == "cancelled"


class NoTokenThree:
    """A constrained choice (issue 18's kind): the best token other than 3."""

    def choose(self, logits: numpy.ndarray, generated: Sequence[int], text: str) -> Choice:
        allowed = logits.copy()
        allowed[3] = -numpy.inf
        return GreedyChooser().choose(allowed, generated, text)


def test_a_constrained_choice_applies_to_drafts_too():
    for prompt in prompts(20):
        plain, _ = run(prompt, NoDrafts(), chooser=NoTokenThree())
        always_three = OracleDrafter([3] * 60)
        fast, _ = run(prompt, always_three, chooser=NoTokenThree(), batch_noise=0.4)
        assert 3 not in fast.tokens
        assert fast.tokens == plain.tokens


def test_prompt_lookup_drafts_what_followed_the_latest_occurrence():
    drafter = PromptLookupDrafter(max_ngram=3, min_ngram=1, max_tokens=4, never=frozenset({99}))
    drafter.start([1, 2, 3, 4, 5, 6, 1, 2, 3, 7, 8, 99, 5])
    assert drafter.draft([1, 2, 3], limit=10) == [7, 8]  # the later "1 2 3" wins; stops before a marker
    assert drafter.draft([1, 2, 3, 7, 8, 4], limit=10) == [5, 6, 1, 2]  # "4" → what followed it, up to max_tokens
    assert drafter.draft([1, 2, 3, 7, 8, 4], limit=2) == [5, 6]
    assert drafter.draft([1, 2, 3, 7, 8, 4, 42], limit=10) == []  # nothing ever followed 42

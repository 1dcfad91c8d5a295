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
    NoDrafts,
    PromptLookupDrafter,
    decode,
)

VOCAB = 12
END = 11


class FakeTarget:
    """A model whose logits are a fixed pseudo-random function of the last three tokens. A batch of
    more than one token adds ``batch_noise`` to its logits, as llama.cpp's batched kernels do."""

    def __init__(self, context_size: int = 512, batch_noise: float = 0.0) -> None:
        self.tokens: list[int] = []
        self.context_size = context_size
        self.batch_noise = batch_noise
        self.calls: list[int] = []  # batch sizes
        self._rows: dict[int, numpy.ndarray] = {}

    @staticmethod
    def clean_logits(history: Sequence[int]) -> numpy.ndarray:
        seed = hash(tuple(history[-3:])) & 0xFFFFFFFF
        logits = numpy.random.default_rng(seed).normal(0, 5, VOCAB).astype(numpy.float32)
        logits[END] -= 8  # ends are rare
        return logits

    def decode(self, tokens: Sequence[int], *, outputs: Sequence[int], cancelled: Callable[[], bool]) -> bool:
        if cancelled():
            return False
        self.calls.append(len(tokens))
        wanted = {index % len(tokens) for index in outputs}
        self._rows = {}
        for index, token in enumerate(tokens):
            self.tokens.append(token)
            if index in wanted:
                row = self.clean_logits(self.tokens)
                if len(tokens) > 1 and self.batch_noise:
                    noise_seed = hash((tuple(self.tokens[-3:]), len(tokens))) & 0xFFFFFFFF
                    row = row + numpy.random.default_rng(noise_seed).uniform(-self.batch_noise, self.batch_noise, VOCAB)
                self._rows[index] = row.astype(numpy.float32)
        self._last = len(tokens) - 1
        return True

    def logits(self, index: int) -> numpy.ndarray:
        return self._rows[index % (self._last + 1)]

    def truncate(self, length: int) -> None:
        del self.tokens[length:]


def plain_continuation(prompt: list[int], count: int, batch_noise: float = 0.4) -> list[int]:
    """What plain decoding generates, ends ignored (the prompt's own logits come from a batch)."""
    target = FakeTarget(batch_noise=batch_noise)
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


def run(prompt: list[int], drafter, *, batch_noise: float = 0.0, margin: float = 1.5, max_tokens: int = 40, chooser=None,
        stop_at=lambda text: None, cancelled=lambda: False):
    target = FakeTarget(batch_noise=batch_noise)
    target.decode(prompt, outputs=(-1,), cancelled=lambda: False)
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
        margin=margin,
    )
    return result, target


def prompts(count: int) -> list[list[int]]:
    rng = random.Random(5)
    return [[rng.randrange(VOCAB - 1) for _ in range(rng.randrange(3, 30))] for _ in range(count)]


@pytest.mark.parametrize("drafter_kind", ["oracle", "oracle-with-errors", "random", "prompt-lookup"])
def test_drafts_never_change_the_greedy_output_and_rejected_drafts_leave_the_cache(drafter_kind):
    for prompt in prompts(40):
        plain, plain_target = run(prompt, NoDrafts(), batch_noise=0.4)
        truth = plain_continuation(prompt, 60)
        drafter = {
            "oracle": lambda: OracleDrafter(truth),
            "oracle-with-errors": lambda: OracleDrafter(truth, wrong_every=3),
            "random": lambda: RandomDrafter(len(prompt)),
            "prompt-lookup": lambda: PromptLookupDrafter(min_ngram=1),
        }[drafter_kind]()
        fast, target = run(prompt, drafter, batch_noise=0.4)
        assert fast.tokens == plain.tokens and fast.stopped_by == plain.stopped_by
        # The cache ends as after plain decoding: no rejected draft, nothing past the completion.
        assert target.tokens == plain_target.tokens
        assert target.tokens == prompt + (fast.tokens if fast.stopped_by == "eos" else fast.tokens[:-1])
        if drafter_kind == "oracle":
            assert fast.steps < plain.steps  # fewer model calls
            assert fast.accepted > 0


def test_without_the_margin_rule_batch_noise_changes_the_output():
    """The reason for the rule: trusting a batched argmax at a close call picks another token."""
    differs = 0
    for prompt in prompts(40):
        truth = plain_continuation(prompt, 60, batch_noise=0.8)
        plain, _ = run(prompt, NoDrafts(), batch_noise=0.8)
        careless, _ = run(prompt, OracleDrafter(truth), batch_noise=0.8, margin=0.0)
        careful, _ = run(prompt, OracleDrafter(truth), batch_noise=0.8, margin=1.7)
        differs += careless.tokens != plain.tokens
        assert careful.tokens == plain.tokens
    assert differs > 0


def test_close_calls_are_decoded_again_on_their_own():
    prompt = prompts(1)[0]
    truth = plain_continuation(prompt, 60)
    result, target = run(prompt, OracleDrafter(truth), batch_noise=0.4, margin=100.0)  # every call is close
    plain, _ = run(prompt, NoDrafts(), batch_noise=0.4)
    assert result.tokens == plain.tokens
    batches = sum(size > 1 for size in target.calls[1:])  # after the prompt
    assert batches > 0 and result.rechecked == batches  # each batch's first position decoded again alone
    assert result.accepted == 0


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

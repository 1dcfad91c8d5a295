"""The local engine with the real model: KV reuse with moved chunks, speculative decoding and
cancellation keep the KV cache and its record exact, and drafts never change greedy output.

The model is the server's default (``FIRESIDE_TEST_MODEL`` names another GGUF, e.g. the 1.5B).
Prompts are kept small (256 tokens): what is tested does not depend on their length.
"""

from __future__ import annotations

import inspect
import os
import textwrap as stdlib_textwrap
from pathlib import Path

import pytest

from fireside.completion.default_model import default_model_path
from fireside.completion.engine import LlamaEngine
from fireside.completion.pipeline import complete
from fireside.completion.types import CompletionRequest

pytestmark = pytest.mark.model

REAL_SOURCE = Path(inspect.getsourcefile(stdlib_textwrap)).read_text()
PROMPT_TOKENS = 256


@pytest.fixture(scope="module")
def engine() -> LlamaEngine:
    path = Path(os.environ["FIRESIDE_TEST_MODEL"]) if os.environ.get("FIRESIDE_TEST_MODEL") else default_model_path()
    loaded = LlamaEngine(path, context_size=2048, threads=1)
    yield loaded
    loaded.close()


def holes(count: int) -> list[CompletionRequest]:
    """Cursors in textwrap.py: mid-line (the rest of the line cut away) and on a new empty line."""
    lines = REAL_SOURCE.split("\n")
    candidates = [i for i, line in enumerate(lines) if line.startswith("        ") and len(line.strip()) > 15]
    out = []
    for index in candidates[5 :: max(1, len(candidates) // count)][:count]:
        line = lines[index]
        if len(out) % 2:
            cut = lines[: index + 1] + [line[: len(line) - len(line.lstrip())]] + lines[index + 1 :]
            row, column = index + 1, len(line) - len(line.lstrip())
        else:
            column = len(line) - len(line.lstrip()) + len(line.strip()) // 2
            cut = lines[:index] + [line[:column]] + lines[index + 1 :]
            row = index
        text = "\n".join(cut)
        offset = sum(len(part) + 1 for part in cut[:row]) + column
        out.append(CompletionRequest("file:///textwrap.py", "python", text, offset, 1, 48, "textwrap.py"))
    return out


def pipeline_prompt(engine: LlamaEngine, request: CompletionRequest) -> tuple[list[int], dict]:
    """The server's prompt and stop rule for ``request``; the completion leaves it cached."""
    captured = {}
    run = engine.run

    def spy(prompt_tokens, **kwargs):  # noqa: ANN001, ANN003, ANN202
        captured.update(prompt=list(prompt_tokens), kwargs=kwargs)
        return run(prompt_tokens, **kwargs)

    engine.run = spy
    try:
        complete(engine, request, max_prompt_tokens=PROMPT_TOKENS, context_size=engine.context_size, cancelled=lambda: False)
    finally:
        del engine.run
    return captured["prompt"], captured["kwargs"]


def test_speculative_decoding_gives_the_plain_greedy_tokens_on_real_code(engine: LlamaEngine):
    accepted = 0
    for request in holes(12):
        engine.speculative = False
        prompt, kwargs = pipeline_prompt(engine, request)
        state = engine._context.snapshot()
        plain = engine.run(prompt, **kwargs)
        after_plain = engine.cached_tokens
        engine._context.restore(state)
        engine.speculative = True
        fast = engine.run(prompt, **kwargs)
        assert fast.tokens == plain.tokens, (engine.detokenize(plain.tokens), engine.detokenize(fast.tokens))
        assert fast.text == plain.text and fast.stopped_by == plain.stopped_by
        # The cache and its record end as after plain decoding: no rejected draft, nothing extra.
        assert engine._context.consistent()
        assert engine.cached_tokens == after_plain
        accepted += fast.accepted_tokens
    assert accepted > 0, "no draft was ever kept: the comparison above proves nothing"


@pytest.fixture
def moving(engine: LlamaEngine) -> LlamaEngine:
    engine.move_chunks = True
    yield engine
    engine.move_chunks = False


def test_moved_chunks_keep_their_content_and_the_gap_before_them_never_sees_them(moving: LlamaEngine):
    engine = moving

    def stop(text: str) -> int | None:
        return text.index("'") if "'" in text else None

    start = engine.start_tokens
    secret = engine.tokenize("\nSECRET = 'kiwi'\nprint('the value of FRUIT is', repr(FRUIT), 'and SECRET is', repr(SECRET))\n" * 3)
    question = engine.tokenize("assert SECRET == '")
    for old, new in (("apple", "zebra"), ("zebra", "strawberry"), ("strawberry", "fig")):
        # The fruit changes (a different number of tokens each time); the text after it is kept, moved.
        prompt = start + engine.tokenize(f"FRUIT = '{new}'") + secret + engine.tokenize("# FRUIT is '")
        engine.speculative = False
        engine.reset()
        engine.run(start + engine.tokenize(f"FRUIT = '{old}'") + secret + engine.tokenize("# FRUIT is '"),
                   max_tokens=8, stop_at=stop, cancelled=lambda: False)
        moved = engine.run(prompt, max_tokens=8, stop_at=stop, cancelled=lambda: False)
        assert moved.moved_tokens >= len(secret) and moved.evaluated_tokens < len(prompt) // 2
        assert engine._context.consistent()
        assert moved.text == new, "the last token sees the new text before the moved chunk"
        # The moved chunk still says what it said.
        assert engine.run(prompt[:-len(engine.tokenize("# FRUIT is '"))] + question, max_tokens=8, stop_at=stop,
                          cancelled=lambda: False).text == "kiwi"
    # Tokens evaluated in a gap cannot see the parked chunk that comes after them.
    engine.reset()
    animals = engine.tokenize("animals = []\n")
    zebras = engine.tokenize("animals.append('zebra')\n" * 12)
    gap = engine.tokenize("animals.append('")
    engine.logits_after(start + animals + zebras)
    engine.logits_after(start + animals + gap + zebras)  # the gap is evaluated while the zebras are parked
    assert engine._context.consistent()
    zebra = engine.tokenize("zebra")[0]
    with_gap = engine.logits_after(start + animals + gap)  # only the gap's last token evaluated again
    engine.reset()
    fresh = engine.logits_after(start + animals + gap)
    seen = engine.logits_after(start + animals + zebras + gap)
    assert abs(with_gap[zebra] - fresh[zebra]) < abs(seen[zebra] - fresh[zebra]) / 4


def test_cancelling_inside_a_prompt_batch_leaves_an_exact_record_and_the_same_answer_after(engine: LlamaEngine):
    request = holes(2)[1]
    engine.speculative = True
    prompt, kwargs = pipeline_prompt(engine, request)
    engine.reset()
    reference = engine.run(prompt, **kwargs)
    engine.reset()
    context = engine._context
    aborted = context.aborted_batches
    # True only inside a model call: the prompt's batch is stopped inside llama.cpp (at its first
    # graph node: the check is asked as the call starts), not before it.
    stopped = engine.run(prompt, **{**kwargs, "cancelled": lambda: context.decoding})
    assert stopped.stopped_by == "cancelled" and stopped.generated_tokens == 0
    assert context.aborted_batches == aborted + 1
    assert context.consistent() and engine.cached_tokens == []  # the whole batch was taken back
    again = engine.run(prompt, **kwargs)
    assert again.tokens == reference.tokens


def test_cancelling_inside_a_verification_batch_keeps_the_record_exact(engine: LlamaEngine):
    context = engine._context
    engine.speculative = True
    for request in holes(6):
        prompt, kwargs = pipeline_prompt(engine, request)
        state = context.snapshot()
        reference = engine.run(prompt, **kwargs)
        if reference.drafted_tokens == 0:
            continue
        context.restore(state)
        aborted = context.aborted_batches
        # True only inside a model call with drafts in it, after the first generated token: llama.cpp
        # stops that batch; the loop's own checks between calls see False.
        in_verification = lambda: context.decoding and context.batch_size > 1 and len(context.tokens) > len(prompt)  # noqa: E731
        stopped = engine.run(prompt, **{**kwargs, "cancelled": in_verification})
        if context.aborted_batches == aborted:
            continue  # this hole's only verification came first, before any token was cached
        assert stopped.stopped_by == "cancelled"
        assert context.consistent()
        cached = engine.cached_tokens
        assert cached[: len(prompt)] == prompt
        assert list(reference.tokens[: len(cached) - len(prompt)]) == cached[len(prompt) :], "a draft stayed cached"
        return
    pytest.skip("no hole gave a draft to verify")


def test_an_exact_repeat_evaluates_one_token_and_answers_the_same(engine: LlamaEngine):
    request = holes(1)[0]
    engine.speculative = True
    prompt, kwargs = pipeline_prompt(engine, request)
    first = engine.run(prompt, **kwargs)
    second = engine.run(prompt, **kwargs)
    assert second.evaluated_tokens == 1 and second.reused_tokens == len(prompt) - 1
    assert second.tokens == first.tokens

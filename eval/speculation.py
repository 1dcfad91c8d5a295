"""Speculative decoding with prompt-lookup drafts: is it safe, and does it pay?

    .venv/bin/python eval/speculation.py [--model PATH] [--holes-per-package N] [--seed S] [--threads T]

On the holes of completion_eval.py (single-line holes as they are, plus the same number of
multi-line ones: the cursor on an empty line opened inside a block), through the server's pipeline
(its prompt and stopping rules), in this process:

1. Batch invariance. From the same cached prompt, the greedy tokens are decoded one at a time, then
   the same positions are evaluated in batches of up to 9 (a verification batch). For every
   position: does the batch pick the same argmax, and by how much does the lead of the one-token
   choice over each of the next 9 candidates change? The largest change decides
   ``decoding.VERIFY_MARGIN``. Then the first 8 tokens are evaluated as one batch and the rest one
   at a time: how much do the batched cache entries change the later one-token leads? That decides
   ``decoding.AFTER_BATCH_MARGIN``.
2. Identity and speed. Plain greedy and speculative decoding (each draft configuration) from the
   same cached prompt: same tokens? model calls, draft tokens sent and kept, generation time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy
from completion_eval import find_holes
from corpus import corpus_roots
from kv_reuse_eval import DEFAULT_MODEL

from fireside.completion import decoding
from fireside.completion.engine import LlamaEngine
from fireside.completion.pipeline import complete
from fireside.completion.types import CompletionRequest
from fireside.config import FiresideConfig

VERIFY_BATCH = 9
CONFIGS = {  # name → PromptLookupDrafter arguments
    "ngram 3-2, 8 drafts": {"max_ngram": 3, "min_ngram": 2, "max_tokens": 8},
    "ngram 3-1, 8 drafts": {"max_ngram": 3, "min_ngram": 1, "max_tokens": 8},
    "ngram 3-1, 4 drafts": {"max_ngram": 3, "min_ngram": 1, "max_tokens": 4},
    "ngram 4-2, 16 drafts": {"max_ngram": 4, "min_ngram": 2, "max_tokens": 16},
}


def requests(holes, config: FiresideConfig) -> list[CompletionRequest]:  # noqa: ANN001
    out = []
    for hole in holes:
        lines = hole.text.split("\n")
        offset = sum(len(line) + 1 for line in lines[: hole.line]) + hole.column
        out.append(CompletionRequest(hole.path.as_uri(), "python", hole.text, offset, 1, config.max_tokens, hole.path.name))
        # A multi-line hole: an empty line opened after the hole's line, at its indentation.
        line = lines[hole.line]
        indent = line[: len(line) - len(line.lstrip())]
        original = hole.text[:offset] + hole.target
        split = offset + len(hole.target)
        text = original[:split] + "\n" + indent + original[split:]
        out.append(CompletionRequest(hole.path.as_uri(), "python", text, split + 1 + len(indent), 1, config.max_tokens, hole.path.name))
    return out


def capture_prompt(engine: LlamaEngine, request: CompletionRequest, config: FiresideConfig) -> tuple[list[int], object]:
    """The pipeline's prompt tokens and stop rule for ``request`` (one real completion, which also
    leaves the prompt cached)."""
    captured = {}
    run = engine.run

    def spy(prompt_tokens, **kwargs):  # noqa: ANN001, ANN003, ANN202
        captured["prompt"] = list(prompt_tokens)
        captured["kwargs"] = kwargs
        return run(prompt_tokens, **kwargs)

    engine.run = spy  # type: ignore[method-assign]
    try:
        complete(engine, request, max_prompt_tokens=config.max_prompt_tokens, context_size=config.context_size, cancelled=lambda: False)
    finally:
        del engine.run
    return captured["prompt"], captured["kwargs"]


def lead_changes(single: numpy.ndarray, batched: numpy.ndarray) -> tuple[bool, float, float]:
    """(same argmax, one-token margin, largest change of the lead of the one-token choice over the
    next 9 candidates)."""
    order = numpy.argsort(single)[::-1][:10]
    best = order[0]
    margin = float(single[best] - single[order[1]])
    change = max(abs(float((batched[best] - batched[other]) - (single[best] - single[other]))) for other in order[1:])
    return int(numpy.argmax(batched)) == int(best), margin, change


def invariance(engine: LlamaEngine, prompt: list[int], tokens: list[int]) -> tuple[list[tuple[bool, float, float]], list[float]]:
    """(per batched position: same argmax, one-token margin, lead change), and the lead changes of
    one-token positions after a batch of 8."""
    context = engine._context  # noqa: SLF001 - measuring the context itself
    context.prepare(prompt, cancelled=lambda: False, move_chunks=False)
    state = context.snapshot()
    single = []
    for token in tokens:
        context.decode([token], outputs=(0,))
        single.append(numpy.array(context.logits(0)))
    context.restore(state)
    rows = []
    for start in range(0, len(tokens), VERIFY_BATCH):
        part = tokens[start : start + VERIFY_BATCH]
        context.decode(part, outputs=range(len(part)))
        rows.extend(lead_changes(single[start + index], numpy.array(context.logits(index))) for index in range(len(part)))
    after = []
    if len(tokens) > VERIFY_BATCH:
        context.restore(state)
        context.decode(tokens[:8], outputs=())
        for index in range(8, len(tokens)):
            context.decode([tokens[index]], outputs=(0,))
            after.append(lead_changes(single[index], numpy.array(context.logits(0)))[2])
    return rows, after


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--holes-per-package", type=int, default=10)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    config = FiresideConfig()
    engine = LlamaEngine(args.model, context_size=config.context_size, threads=args.threads)
    cases = requests(find_holes(corpus_roots(), args.holes_per_package, args.seed), config)
    positions: list[tuple[bool, float, float]] = []
    after_batch: list[float] = []
    stats: dict[str, dict[str, list[float]]] = {
        name: {"ms": [], "steps": [], "drafted": [], "accepted": [], "rechecked": [], "recomputed": []} for name in ["plain", *CONFIGS]
    }
    identical = {name: 0 for name in CONFIGS}
    generated_total = 0
    for number, request in enumerate(cases, 1):
        engine.speculative = False
        prompt, kwargs = capture_prompt(engine, request, config)
        state = engine._context.snapshot()  # noqa: SLF001 - every way starts from the same cached prompt
        results = {}
        for name in ["plain", *CONFIGS]:
            engine._context.restore(state)  # noqa: SLF001
            engine.speculative = name != "plain"
            engine.draft_options = CONFIGS.get(name, {})
            generation = engine.run(prompt, **kwargs)
            results[name] = generation
            stats[name]["ms"].append((generation.seconds - generation.prompt_seconds) * 1000)
            for key, value in (("steps", generation.steps), ("drafted", generation.drafted_tokens),
                               ("accepted", generation.accepted_tokens), ("rechecked", generation.rechecked),
                               ("recomputed", generation.recomputed)):
                stats[name][key].append(value)
        plain = results["plain"]
        generated_total += plain.generated_tokens
        for name in CONFIGS:
            identical[name] += results[name].tokens == plain.tokens
        engine._context.restore(state)  # noqa: SLF001
        rows, after = invariance(engine, prompt, list(plain.tokens))
        positions.extend(rows)
        after_batch.extend(after)
        flags = " ".join("=" if results[name].tokens == plain.tokens else "DIFFERS" for name in CONFIGS)
        print(f"[{number}/{len(cases)}] {plain.generated_tokens} tokens {plain.text[:50]!r} {flags}", flush=True)
    same = sum(flag for flag, _, _ in positions)
    changes = [change for _, _, change in positions]
    margins = [margin for _, margin, _ in positions]
    print(f"\n{len(cases)} completions, {generated_total} generated tokens, model {args.model.name}, {args.threads} thread(s)")
    print(f"batch invariance over {len(positions)} positions (batches of up to {VERIFY_BATCH}): "
          f"same argmax {same}/{len(positions)}; change of the lead: p50 {statistics.median(changes):.3f}, "
          f"p99 {percentile(changes, 0.99):.3f}, max {max(changes):.3f}")
    if after_batch:
        print(f"one-token positions after a batch of 8 ({len(after_batch)}): change of the lead p50 "
              f"{statistics.median(after_batch):.3f}, p99 {percentile(after_batch, 0.99):.3f}, max {max(after_batch):.3f}")
    flips = [(margin, change) for flag, margin, change in positions if not flag]
    print(f"  argmax flips at one-token margins {[round(m, 3) for m, _ in flips]}; "
          f"positions with a margin under {decoding.VERIFY_MARGIN}: {sum(m < decoding.VERIFY_MARGIN for m in margins) / len(margins):.1%}")
    plain_ms = sum(stats["plain"]["ms"])
    print(f"{'decoding':<22} {'identical':>9} {'calls':>6} {'drafted':>8} {'kept':>6} {'tokens/call':>11} {'rechecked':>9} "
          f"{'recomputed':>10} {'gen ms':>8} {'speed-up':>8}")
    for name in ["plain", *CONFIGS]:
        row = stats[name]
        calls, drafted, accepted = sum(row["steps"]), sum(row["drafted"]), sum(row["accepted"])
        same_text = "-" if name == "plain" else f"{identical[name]}/{len(cases)}"
        print(f"{name:<22} {same_text:>9} {calls:>6.0f} {drafted:>8.0f} {accepted:>6.0f} {generated_total / max(1, calls):>11.2f} "
              f"{sum(row['rechecked']):>9.0f} {sum(row['recomputed']):>10.0f} {sum(row['ms']):>8.0f} {plain_ms / max(1.0, sum(row['ms'])):>7.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

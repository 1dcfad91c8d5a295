"""Qwen2.5-Coder 0.5B as the draft model of the 1.5B (they share one vocabulary): does it pay here?

    .venv/bin/python eval/draft_model.py [--target PATH] [--draft PATH] [--holes-per-package N] [--draft-tokens K]

On the holes of completion_eval.py, with the server's pipeline prompt (built for the 1.5B), from the
same cached prompt each time: the 1.5B decoding greedily alone, with prompt-lookup drafts, and with
the 0.5B drafting K tokens greedily that the 1.5B verifies in one batch (``decoding.decode``, the
same loop and margin rule as the server's). Reported: identical outputs, model calls of the 1.5B,
drafted and kept tokens, and generation time including the 0.5B's own time.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy
from completion_eval import find_holes
from corpus import corpus_roots
from speculation import capture_prompt, requests

from fireside.completion.decoding import NoDrafts, PromptLookupDrafter
from fireside.completion.engine import LlamaEngine
from fireside.config import FiresideConfig


class ModelDrafter:
    """Greedy tokens of a smaller model with the same vocabulary, from its own KV cache."""

    def __init__(self, engine: LlamaEngine, tokens: int) -> None:
        self.engine, self.tokens = engine, tokens
        self.prompt: list[int] = []
        self.seconds = 0.0

    def start(self, prompt: Sequence[int]) -> None:
        self.prompt = list(prompt)

    def draft(self, generated: Sequence[int], limit: int) -> list[int]:
        started = time.perf_counter()
        context = self.engine._context  # noqa: SLF001 - driving the draft model's context directly
        context.prepare([*self.prompt, *generated], cancelled=lambda: False, move_chunks=False)
        out: list[int] = []
        logits = context.logits(-1)
        while len(out) < min(limit, self.tokens):
            token = int(numpy.argmax(logits))
            if self.engine.is_end(token):
                break
            out.append(token)
            context.decode([token], outputs=(0,))
            logits = context.logits(0)
        self.seconds += time.perf_counter() - started
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", type=Path, default=Path("/work/models/qwen2.5-coder-1.5b.gguf"))
    parser.add_argument("--draft", type=Path, default=Path("/work/models/qwen2.5-coder-0.5b.gguf"))
    parser.add_argument("--holes-per-package", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--draft-tokens", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-prompt-tokens", type=int, default=512)
    args = parser.parse_args()
    config = FiresideConfig(max_prompt_tokens=args.max_prompt_tokens)
    target = LlamaEngine(args.target, context_size=config.context_size, threads=args.threads)
    drafter_engine = LlamaEngine(args.draft, context_size=config.context_size, threads=args.threads)
    ways = {
        "1.5B plain": lambda: NoDrafts(),
        "1.5B + prompt lookup": lambda: PromptLookupDrafter(never=target._never_drafted),  # noqa: SLF001
        f"1.5B + 0.5B drafts ({args.draft_tokens})": lambda: ModelDrafter(drafter_engine, args.draft_tokens),
    }
    totals = {name: {"ms": 0.0, "calls": 0, "drafted": 0, "kept": 0, "identical": 0, "draft_ms": 0.0} for name in ways}
    cases = requests(find_holes(corpus_roots(), args.holes_per_package, args.seed), config)
    generated = 0
    for number, request in enumerate(cases, 1):
        target.speculative = False
        prompt, kwargs = capture_prompt(target, request, config)
        state = target._context.snapshot()  # noqa: SLF001
        outputs = {}
        for name, make in ways.items():
            target._context.restore(state)  # noqa: SLF001
            drafter = make()
            target.speculative = True
            target.make_drafter = lambda: drafter  # noqa: B023 - used within this iteration
            generation = target.run(prompt, **kwargs)
            outputs[name] = generation.tokens
            row = totals[name]
            row["ms"] += (generation.seconds - generation.prompt_seconds) * 1000
            row["calls"] += generation.steps
            row["drafted"] += generation.drafted_tokens
            row["kept"] += generation.accepted_tokens
            row["draft_ms"] += getattr(drafter, "seconds", 0.0) * 1000
        base = outputs["1.5B plain"]
        generated += len(base)
        for name in ways:
            totals[name]["identical"] += outputs[name] == base
        print(f"[{number}/{len(cases)}] {len(base)} tokens " + " ".join("=" if outputs[n] == base else "DIFFERS" for n in ways), flush=True)
    plain_ms = totals["1.5B plain"]["ms"]
    print(f"\n{len(cases)} completions, {generated} tokens, {args.threads} thread(s), prompt budget {args.max_prompt_tokens}")
    print(f"{'decoding':<28} {'identical':>9} {'1.5B calls':>10} {'drafted':>8} {'kept':>6} {'gen ms':>8} {'of which draft':>14} {'speed-up':>8}")
    for name, row in totals.items():
        print(f"{name:<28} {row['identical']:>6}/{len(cases):<2} {row['calls']:>10} {row['drafted']:>8} {row['kept']:>6} "
              f"{row['ms']:>8.0f} {row['draft_ms']:>14.0f} {plain_ms / max(1.0, row['ms']):>7.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

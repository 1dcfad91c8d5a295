"""Keeping the suffix's KV cache across a keystroke: quality and latency against the alternatives.

    .venv/bin/python eval/kv_reuse_eval.py [--model PATH] [--holes-per-package N] [--seed S] [--typed K]

On the holes of completion_eval.py (the same ``find_holes``, 10 per package and seed 11 by
default), through the server's own pipeline (``fireside.completion.pipeline.complete``: its prompt,
stopping and clean-up), in this process with 1 thread. For each hole the previous keystroke's state
is computed first (the line one character shorter; for a hole at the line start, the line before
its indentation was typed), then the hole is completed from that cached state in each way:

  moved    KV reuse with moved chunks: the suffix's cells shifted to their new positions
  exact    prefix reuse only: everything after the first changed token evaluated again
  short    the suffix cut to the rest of the cursor's line and SHORT_SUFFIX_LINES lines below,
           prefix reuse only (a short suffix costs little to evaluate again)
  line     the prompt's prefix ends at the start of the cursor's line and the line's text before the
           cursor follows <fim_middle>, as if the model had written it: typing appends to the very end
           of the prompt, so prefix reuse keeps everything before, exactly (the suffix only changes
           when the cursor leaves the line)
  block    (with --block N) the same, but the middle starts at the line whose number is a multiple of
           N at or above the cursor's: a new line (Enter) then appends to the middle too, and the
           suffix is evaluated again only when the cursor crosses such a line
  spm      (with --spm) the same prompt in suffix-prefix-middle order (<fim_suffix> S <fim_prefix> P <fim_middle>):
           a keystroke only changes the end, so prefix reuse keeps everything else, exactly
  fresh    (with --fresh) an empty cache: what a cold server answers, to show how much two exact
           evaluations with different batch splits differ

With ``--typed K`` the last K characters before the cursor are typed one by one, a completion at
each keystroke, before the hole is completed with moved chunks ("typed"): the suffix's cells then
carry K keystrokes of staleness instead of one.

Reported per way: exact match and edit similarity of the completed line against the original,
how often the completion equals the exact one, prompt tokens evaluated, and model time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from completion_eval import Hole, find_holes, similarity
from corpus import corpus_roots

from fireside.completion import prompt
from fireside.completion.engine import LlamaEngine
from fireside.completion.pipeline import complete
from fireside.completion.types import CompletionRequest
from fireside.config import FiresideConfig

SHORT_SUFFIX_LINES = 3
DEFAULT_MODEL = Path("/work/models/qwen2.5-coder-0.5b.gguf")


class SuffixFirst:
    """The engine, given prompts in suffix-prefix-middle order instead of prefix-suffix-middle."""

    def __init__(self, engine: LlamaEngine) -> None:
        self._engine = engine
        self.info = engine.info

    def __getattr__(self, name: str):  # noqa: ANN204 - tokenize, start_tokens, ...
        return getattr(self._engine, name)

    def run(self, prompt_tokens, **kwargs):  # noqa: ANN001, ANN003, ANN201
        fim = self.info.fim
        start = prompt_tokens.index(fim.prefix)
        split = prompt_tokens.index(fim.suffix)
        head, prefix, suffix = prompt_tokens[:start], prompt_tokens[start + 1 : split], prompt_tokens[split + 1 : -1]
        reordered = [*head, fim.suffix, *suffix, fim.prefix, *prefix, fim.middle]
        return self._engine.run(reordered, **kwargs)


@dataclass
class Outcome:
    text: str
    model_ms: float
    evaluated: int


def request_at(hole: Hole, line_text: str, *, short: bool = False) -> CompletionRequest:
    lines = hole.text.split("\n")
    lines[hole.line] = line_text
    if short:
        lines = lines[: hole.line + 1 + SHORT_SUFFIX_LINES]
    text = "\n".join(lines)
    offset = sum(len(line) + 1 for line in lines[: hole.line]) + len(line_text)
    config = FiresideConfig()
    return CompletionRequest(hole.path.as_uri(), "python", text, offset, 1, config.max_tokens, hole.path.name)


PROMPT_TOKENS = FiresideConfig().max_prompt_tokens


def run(engine: LlamaEngine, request: CompletionRequest, *, order: str = "psm", middle_step: int = 1) -> Outcome:
    """``order``: "psm" (everything before the cursor in the prefix), "line" (the cursor's line after
    <fim_middle>, the middle starting at a multiple of ``middle_step`` lines), "spm"."""
    config = FiresideConfig(max_prompt_tokens=PROMPT_TOKENS)
    started = time.perf_counter()
    prompt.FIM_LINE_IN_MIDDLE = order == "line"
    prompt.MIDDLE_STEP_LINES = middle_step
    completion = complete(
        SuffixFirst(engine) if order == "spm" else engine, request, max_prompt_tokens=config.max_prompt_tokens, context_size=config.context_size, cancelled=lambda: False
    )
    elapsed = (time.perf_counter() - started) * 1000
    run_stats = engine.last_run
    model_ms = run_stats.seconds * 1000 if run_stats else elapsed
    return Outcome(completion.text.split("\n", 1)[0], model_ms, run_stats.evaluated_tokens if run_stats else 0)


def previous_line(hole: Hole) -> str:
    line = hole.text.split("\n")[hole.line]
    indent = len(line) - len(line.lstrip())
    return line[: hole.column - 1] if hole.column > indent else ""


def main() -> int:
    global PROMPT_TOKENS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--holes-per-package", type=int, default=10)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--typed", type=int, default=0, help="also type the last K characters before each hole")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--fresh", action="store_true", help="also complete each hole from an empty cache")
    parser.add_argument("--spm", action="store_true", help="also try suffix-prefix-middle order")
    parser.add_argument("--block", type=int, default=0, help="also try the middle starting at every N-th line")
    parser.add_argument("--ways", default="moved,exact,short,line", help="which of moved, exact, short, line to run")
    parser.add_argument("--max-prompt-tokens", type=int, default=FiresideConfig().max_prompt_tokens)
    args = parser.parse_args()
    PROMPT_TOKENS = args.max_prompt_tokens
    holes = find_holes(corpus_roots(), args.holes_per_package, args.seed)
    config = FiresideConfig()
    engine = LlamaEngine(args.model, context_size=config.context_size, threads=args.threads)
    engine.speculative = False  # the prompt side only; decoding is measured in eval/latency.py
    chosen = set(args.ways.split(","))
    ways = [way for way in ("moved", "exact", "short", "line") if way in chosen]
    ways += [way for way in ("block", "spm", "fresh", "typed") if getattr(args, way)]
    results: dict[str, list[Outcome]] = {way: [] for way in ways}
    for number, hole in enumerate(holes, 1):
        line = hole.text.split("\n")[hole.line]
        if {"moved", "exact", "short"} & chosen:
            engine.reset()
            engine.move_chunks = True
            run(engine, request_at(hole, previous_line(hole)))
            state = engine._context.snapshot()  # noqa: SLF001 - the same cached state for each way
            if "moved" in chosen:
                results["moved"].append(run(engine, request_at(hole, line)))
            engine.move_chunks = False
            if "exact" in chosen:
                engine._context.restore(state)  # noqa: SLF001
                results["exact"].append(run(engine, request_at(hole, line)))
            if "short" in chosen:
                engine._context.restore(state)  # noqa: SLF001 - the short suffix's previous state shares the prefix
                run(engine, request_at(hole, previous_line(hole), short=True))
                results["short"].append(run(engine, request_at(hole, line, short=True)))
        engine.move_chunks = False
        if "line" in chosen:
            engine.reset()
            run(engine, request_at(hole, previous_line(hole)), order="line")
            results["line"].append(run(engine, request_at(hole, line), order="line"))
        if args.block:
            engine.reset()
            run(engine, request_at(hole, previous_line(hole)), order="line", middle_step=args.block)
            results["block"].append(run(engine, request_at(hole, line), order="line", middle_step=args.block))
        if args.spm:
            engine.reset()
            run(engine, request_at(hole, previous_line(hole)), order="spm")
            results["spm"].append(run(engine, request_at(hole, line), order="spm"))
        if args.fresh:
            engine.reset()
            results["fresh"].append(run(engine, request_at(hole, line)))
        if args.typed:
            indent = len(line) - len(line.lstrip())
            start = max(indent, hole.column - args.typed)
            engine.reset()
            engine.move_chunks = True
            run(engine, request_at(hole, line[:start] if start > indent else ""))
            for end in range(start + 1, hole.column):
                run(engine, request_at(hole, line[:end]))
            results["typed"].append(run(engine, request_at(hole, line)))
        row = " | ".join(f"{way} {results[way][-1].text!r}" for way in ways)
        print(f"[{number}/{len(holes)}] {hole.path.name}:{hole.line + 1} target {hole.target!r} | {row}", flush=True)
    print(f"\n{len(holes)} holes, model {args.model.name}, {args.threads} thread(s), prompt budget {PROMPT_TOKENS} tokens")
    print(f"{'way':<7} {'exact match':>11} {'edit sim':>8} {'= exact':>8} {'evaluated p50':>13} {'model ms p50':>12} {'p90':>7}")
    for way in ways:
        outcomes = results[way]
        exact = sum(o.text.strip() == h.target.strip() for o, h in zip(outcomes, holes)) / len(holes)
        edit = statistics.mean(similarity(o.text, h.target) for o, h in zip(outcomes, holes))
        reference = results.get("exact") or outcomes
        same = sum(o.text == e.text for o, e in zip(outcomes, reference)) / len(holes)
        times = sorted(o.model_ms for o in outcomes)
        p90 = times[min(len(times) - 1, round(0.9 * (len(times) - 1)))]
        print(
            f"{way:<7} {exact:>10.1%} {edit:>8.3f} {same:>8.1%} {statistics.median(o.evaluated for o in outcomes):>13.0f} "
            f"{statistics.median(times):>12.0f} {p90:>7.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Completion latency through the real LSP path, against the naive use of the same model, in one run.

    .venv/bin/python eval/latency.py [--model PATH] [--threads N] [--naive-every K] [--holes N] [--seed S]

Part 1, a typing session: the first 1,500 lines of argparse.py with one line inside a function
removed; the line is typed back character by character with an inline-completion request after
every keystroke (debounce 0), as an editor does, through `fireside serve` over stdio. Keystrokes are
counted apart:
  typing-through   the typed character continues the suggestion on screen (answered from the cache)
  model            every other keystroke: the model runs
For the model keystrokes the server's own log gives, per request, the queue time (before the model
thread took it) and the model time; the round trip measured here minus the model time is what the
user waits for besides the model.
Baselines, in this process, on the same keystrokes:
  naive            the same pipeline with the llama context reset before each request (the whole
                   prompt evaluated, no cache): every K-th keystroke (--naive-every), to keep the run short
  plain / speculative   generation alone (the prompt cached), greedy one token per model call (the
                   server's default) vs prompt-lookup drafts verified in batches: speed-up, drafts
                   sent and kept, identical outputs
Part 2 (--holes N > 0): N holes in a real file (argparse.py by default): the first request there
(cold), the same again (warm: the completion cache), and one more character typed (a keystroke).

Wall-clock figures move with the machine's load: compare the ratios, which come from one run.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import inspect
import os
import random
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from fireside.models.catalog import resolve_model_path
from fireside.completion.engine import LlamaEngine
from fireside.completion.pipeline import complete
from fireside.completion.types import CompletionRequest
from fireside.config import FiresideConfig
from fireside.editor_session import EditorSession

TYPING_LINES = 1500
OUT = Path(__file__).resolve().parent / "out"
SERVER_LINE = re.compile(
    r"completion .* prompt (?P<prompt>\d+) \(reused (?P<reused>\d+), evaluated (?P<evaluated>\d+)\), (?P<tokens>\d+) tokens "
    r"\(drafts (?P<kept>\d+)/(?P<drafted>\d+) kept\), queue (?P<queue>\d+) ms \(debounce \d+\), model (?P<model>\d+) ms \((?P<threads>\d+) threads\), "
    r"worker (?P<worker>\d+) ms, round trip (?P<server_round_trip>\d+) ms"
)


@dataclass
class Keystroke:
    typed: str
    milliseconds: float
    typing_through: bool  # the typed character continued the suggestion on screen
    server: dict[str, int] | None = None  # the server's log line for it (model keystrokes)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def p50_p90(values: list[float]) -> tuple[float, float]:
    return statistics.median(values), percentile(values, 0.9)


def server_args(model: Path, threads: int | None, log: Path) -> list[str]:
    args = ["--model", str(model), "--debounce-ms", "0", "--log-file", str(log)]
    return args + (["--threads", str(threads)] if threads else [])


# ----- part 1: typing ------------------------------------------------------------------------------
def typing_file() -> tuple[Path, str, int, str]:
    """(path, text without the target line's content, line index, the line to type)."""
    lines = Path(inspect.getsourcefile(argparse)).read_text().split("\n")[:TYPING_LINES]
    index = next(i for i in range(1400, TYPING_LINES) if lines[i].startswith("        ") and len(lines[i].strip()) > 30)
    line = lines[index]
    indent = len(line) - len(line.lstrip())
    lines[index] = line[:indent]
    path = OUT / "typing_1500.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(lines)
    path.write_text(text)
    return path, text, index, line


async def lsp_typing(model: Path, threads: int | None, path: Path, text: str, index: int, line: str) -> list[Keystroke]:
    log = OUT / "latency_server.log"
    log.unlink(missing_ok=True)
    rows = []
    async with EditorSession(*server_args(model, threads, log), root=path.parent) as editor:
        await editor.wait_until_loaded(timeout=600)
        uri = editor.open(path, text)
        column = len(line) - len(line.lstrip())
        shown = (await editor.inline(uri, index, column)).text
        for char in line[column:]:
            editor.insert(uri, index, column, char)
            column += 1
            through = bool(shown) and shown[0] == char and len(shown) > 1
            result = await editor.inline(uri, index, column)
            rows.append(Keystroke(line[:column], result.milliseconds, through))
            shown = result.text
    logged = [match.groupdict() for text_line in log.read_text().splitlines() if (match := SERVER_LINE.search(text_line))]
    model_rows = [row for row in rows if not row.typing_through]
    # The first logged line is the request before the first keystroke; then one per model keystroke.
    for row, entry in zip(model_rows, logged[1:]):
        row.server = {key: int(value) for key, value in entry.items()}
    return rows


def keystroke_requests(path: Path, text: str, index: int, line: str, config: FiresideConfig) -> list[CompletionRequest]:
    lines = text.split("\n")
    before = sum(len(part) + 1 for part in lines[:index])
    column = len(line) - len(line.lstrip())
    requests = []
    for end in range(column + 1, len(line) + 1):
        lines[index] = line[:end]
        requests.append(CompletionRequest(path.as_uri(), "python", "\n".join(lines), before + end, 1, config.max_tokens, path.name))
    return requests


def naive_times(engine: LlamaEngine, requests: list[CompletionRequest], config: FiresideConfig) -> list[float]:
    timings = []
    for request in requests:
        engine.reset()  # the naive server: nothing kept between requests
        started = time.perf_counter()
        complete(engine, request, max_prompt_tokens=config.max_prompt_tokens, context_size=config.context_size, cancelled=lambda: False)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def decoding_comparison(engine: LlamaEngine, requests: list[CompletionRequest], config: FiresideConfig) -> dict[str, dict[str, float]]:
    """Generation alone, plain vs speculative, each from the same cached prompt."""
    totals = {way: {"ms": 0.0, "tokens": 0, "calls": 0, "drafted": 0, "kept": 0, "identical": 0} for way in ("plain", "speculative")}
    for request in requests:
        captured = {}
        run = engine.run

        def spy(prompt_tokens, **kwargs):  # noqa: ANN001, ANN003, ANN202
            captured.update(prompt=list(prompt_tokens), kwargs=kwargs)
            return run(prompt_tokens, **kwargs)

        engine.run = spy  # type: ignore[method-assign]
        try:
            engine.speculative = False
            complete(engine, request, max_prompt_tokens=config.max_prompt_tokens, context_size=config.context_size, cancelled=lambda: False)
        finally:
            del engine.run
        state = engine._context.snapshot()  # noqa: SLF001 - both ways start from the same cache
        outputs = {}
        for way in ("plain", "speculative"):
            engine._context.restore(state)  # noqa: SLF001
            engine.speculative = way == "speculative"
            generation = engine.run(captured["prompt"], **captured["kwargs"])
            outputs[way] = generation.tokens
            row = totals[way]
            row["ms"] += (generation.seconds - generation.prompt_seconds) * 1000
            row["tokens"] += generation.generated_tokens
            row["calls"] += generation.steps
            row["drafted"] += generation.drafted_tokens
            row["kept"] += generation.accepted_tokens
        totals["speculative"]["identical"] += outputs["plain"] == outputs["speculative"]
    engine.speculative = False
    return totals


def report_typing(rows: list[Keystroke], naive: list[float], naive_every: int, decoding: dict, model: Path) -> None:
    keys = [row.milliseconds for row in rows]
    hits = [row.milliseconds for row in rows if row.typing_through]
    model_rows = [row for row in rows if not row.typing_through]
    misses = [row.milliseconds for row in model_rows]
    print(f"typing session: {len(keys)} keystrokes into a {TYPING_LINES}-line file, model {model.name}")
    p50, p90 = p50_p90(keys)
    print(f"  every keystroke            p50 {p50:7.1f} ms  p90 {p90:7.1f} ms")
    if hits:
        print(f"  typing-through ({len(hits):2d})        p50 {statistics.median(hits):7.1f} ms  max {max(hits):7.1f} ms")
    if misses:
        m50, m90 = p50_p90(misses)
        n50, n90 = p50_p90(naive)
        print(f"  model keystrokes ({len(misses):2d})      p50 {m50:7.1f} ms  p90 {m90:7.1f} ms")
        print(f"  naive, every {naive_every} ({len(naive):2d})       p50 {n50:7.1f} ms  p90 {n90:7.1f} ms  (context reset, whole prompt evaluated)")
        print(f"  speed-up over naive        p50 {n50 / m50:7.1f}x    p90 {n90 / m90:7.1f}x")
    logged = [row for row in model_rows if row.server]
    if logged:
        beside = [row.milliseconds - row.server["model"] for row in logged]
        queue = [row.server["queue"] for row in logged]
        model_ms = [row.server["model"] for row in logged]
        evaluated = [row.server["evaluated"] for row in logged]
        thread_counts = collections.Counter(row.server["threads"] for row in logged)
        print(f"  server log ({len(logged)} model keystrokes): model p50 {statistics.median(model_ms):.0f} ms p90 "
              f"{percentile(model_ms, 0.9):.0f}; queue p50 {statistics.median(queue):.0f} ms p90 {percentile(queue, 0.9):.0f}; "
              f"round trip minus model p50 {statistics.median(beside):.0f} ms p90 {percentile(beside, 0.9):.0f}; "
              f"prompt tokens evaluated p50 {statistics.median(evaluated):.0f}; threads "
              + ", ".join(f"{n}: {count}" for n, count in sorted(thread_counts.items())))
    plain, fast = decoding["plain"], decoding["speculative"]
    if plain["tokens"]:
        print(f"  generation, same prompts   plain {plain['ms']:.0f} ms for {plain['tokens']} tokens in {plain['calls']} calls; "
              f"speculative {fast['ms']:.0f} ms in {fast['calls']} calls: speed-up {plain['ms'] / max(1.0, fast['ms']):.2f}x, "
              f"drafts kept {fast['kept']}/{fast['drafted']} ({fast['kept'] / max(1, fast['drafted']):.0%}), "
              f"{fast['tokens'] / max(1, fast['calls']):.2f} tokens per call, identical {fast['identical']}/{len(misses)}")


# ----- part 2: holes -------------------------------------------------------------------------------
def pick_holes(source: str, count: int, seed: int) -> list[tuple[int, int, str]]:
    """(line, column, the line) at indented statement lines, the rest of the line cut away."""
    lines = source.split("\n")
    candidates = [
        index
        for index, line in enumerate(lines)
        if line.startswith("        ") and len(line.strip()) > 12 and not line.strip().startswith(("#", '"', "'"))
    ]
    rng = random.Random(seed)
    holes = []
    for index in sorted(rng.sample(candidates, count)):
        line = lines[index]
        indent = len(line) - len(line.lstrip())
        keep = indent + rng.randint(0, min(8, len(line.strip()) - 2))
        holes.append((index, keep, line))
    return holes


def with_hole(source: str, line: int, column: int) -> str:
    lines = source.split("\n")
    lines[line] = lines[line][:column]
    return "\n".join(lines)


async def lsp_holes(model: Path, threads: int | None, path: Path, source: str, holes) -> list[dict[str, float]]:  # noqa: ANN001
    rows = []
    async with EditorSession(*server_args(model, threads, OUT / "latency_holes.log"), root=path.parent) as editor:
        await editor.wait_until_loaded(timeout=600)
        for line, column, original in holes:
            uri = editor.open(path, with_hole(source, line, column))
            cold = await editor.inline(uri, line, column)
            warm = await editor.inline(uri, line, column)
            editor.insert(uri, line, column, original[column])
            key = await editor.inline(uri, line, column + 1)
            rows.append({"cold": cold.milliseconds, "warm": warm.milliseconds, "key": key.milliseconds})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None, help="GGUF model (default: the server's default model)")
    parser.add_argument("--threads", type=int, default=None, help="model threads (default: the server's policy)")
    parser.add_argument("--naive-every", type=int, default=3, help="measure the naive baseline at every K-th keystroke")
    parser.add_argument("--file", type=Path, default=Path(inspect.getsourcefile(argparse)))
    parser.add_argument("--holes", type=int, default=0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    model = (args.model or resolve_model_path()).resolve()
    config = FiresideConfig()
    threads = args.threads or config.effective_threads
    shown_threads = f"{threads} thread(s)" if args.threads else f"threads following the machine (from {threads})"
    print(f"model {model}, {shown_threads}, load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    path, text, index, line = typing_file()
    rows = asyncio.run(lsp_typing(model, args.threads, path, text, index, line))
    engine = LlamaEngine(model, context_size=config.context_size, threads=threads, adaptive_threads=args.threads is None)
    requests = keystroke_requests(path, text, index, line, config)
    model_requests = [request for request, row in zip(requests, rows) if not row.typing_through]
    naive = naive_times(engine, model_requests[:: max(1, args.naive_every)], config)
    decoding = decoding_comparison(engine, model_requests, config)
    report_typing(rows, naive, args.naive_every, decoding, model)
    if args.holes:
        source = args.file.read_text()
        holes = pick_holes(source, args.holes, args.seed)
        lsp = asyncio.run(lsp_holes(model, args.threads, args.file.resolve(), source, holes))
        print(f"holes: {args.file} ({source.count(chr(10))} lines), {len(holes)} holes, seed {args.seed}")
        for label in ("cold", "warm", "key"):
            values = [row[label] for row in lsp]
            print(f"  {label:<5} LSP p50 {statistics.median(values):7.0f} ms  p90 {percentile(values, 0.9):7.0f} ms")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())

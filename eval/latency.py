"""Completion latency through the real LSP path, next to the raw model time for the same request.

    .venv/bin/python eval/latency.py [--file PATH] [--holes N] [--seed S] [--typing-only]

Part 1, a typing session: the first 1,500 lines of argparse.py with one line inside a function
removed; the line is typed back character by character with a request after every keystroke
(debounce 0), as an editor does. Reported: keystroke p50/p90, the typing-through hits (the typed
character was the first of the suggestion on screen), and the naive baseline: the same requests
in-process with the llama context reset before each one (the whole prompt re-evaluated, no cache).

Part 2, holes:
For N holes (the rest of a line cut away) in a real file — by default the standard library's
argparse.py, code nobody here wrote — it measures, through `fireside serve` over stdio:
  cold:  the first request at that hole (the KV cache holds an unrelated prompt)
  warm:  the same request again (prompt cached)
  key:   one more character typed, then a request (what a keystroke costs)
and then, in this process, the raw model time of the same completion from a reset context and
again warm. The ratio LSP/raw is the server's overhead (protocol, debounce=0, prompt building).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import random
import statistics
import sys
import time
from pathlib import Path

from fireside.models.catalog import resolve_model_path
from fireside.completion.engine import LlamaEngine
from fireside.completion.pipeline import complete
from fireside.completion.types import CompletionRequest
from fireside.config import FiresideConfig
from fireside.editor_session import EditorSession


def pick_holes(source: str, count: int, seed: int) -> list[tuple[int, int, str]]:
    """(line, column, typed-so-far) at indented statement lines, the rest of the line cut away."""
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


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


async def lsp_timings(path: Path, source: str, holes) -> list[dict[str, float]]:  # noqa: ANN001
    rows = []
    async with EditorSession("--debounce-ms", "0", root=path.parent) as editor:
        await editor.wait_until_loaded()
        for line, column, original in holes:
            uri = editor.open(path, with_hole(source, line, column))
            cold = await editor.inline(uri, line, column)
            warm = await editor.inline(uri, line, column)
            editor.insert(uri, line, column, original[column])
            key = await editor.inline(uri, line, column + 1)
            rows.append({"cold": cold.milliseconds, "warm": warm.milliseconds, "key": key.milliseconds})
    return rows


def raw_timings(path: Path, source: str, holes) -> list[dict[str, float]]:  # noqa: ANN001
    config = FiresideConfig()
    engine = LlamaEngine(resolve_model_path(), context_size=config.context_size, threads=config.effective_threads)
    rows = []
    for line, column, _ in holes:
        text = with_hole(source, line, column)
        offset = sum(len(part) + 1 for part in text.split("\n")[:line]) + column
        request = CompletionRequest(path.as_uri(), "python", text, offset, 1, config.max_tokens, path.name)
        timings = {}
        for label in ("cold", "warm"):
            if label == "cold":
                engine._llama.reset()  # noqa: SLF001 - a cold context for the baseline
            started = time.perf_counter()
            complete(engine, request, max_prompt_tokens=config.max_prompt_tokens, context_size=config.context_size, cancelled=lambda: False)
            timings[label] = (time.perf_counter() - started) * 1000
        rows.append(timings)
    return rows


TYPING_LINES = 1500


def typing_file() -> tuple[Path, str, int, str]:
    """(path, text without the target line's content, line index, the line to type)."""
    lines = Path(inspect.getsourcefile(argparse)).read_text().split("\n")[:TYPING_LINES]
    index = next(i for i in range(1400, TYPING_LINES) if lines[i].startswith("        ") and len(lines[i].strip()) > 30)
    line = lines[index]
    indent = len(line) - len(line.lstrip())
    lines[index] = line[:indent]
    path = Path(__file__).resolve().parent / "out" / "typing_1500.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(lines)
    path.write_text(text)
    return path, text, index, line


async def lsp_typing(path: Path, text: str, index: int, line: str) -> list[tuple[str, float, bool]]:
    """(typed so far, ms, expected typing-through hit) per keystroke."""
    rows = []
    async with EditorSession("--debounce-ms", "0", root=path.parent) as editor:
        await editor.wait_until_loaded()
        uri = editor.open(path, text)
        column = len(line) - len(line.lstrip())
        shown = (await editor.inline(uri, index, column)).text
        for char in line[column:]:
            editor.insert(uri, index, column, char)
            column += 1
            hit_expected = bool(shown) and shown[0] == char and len(shown) > 1
            result = await editor.inline(uri, index, column)
            rows.append((line[:column], result.milliseconds, hit_expected))
            shown = result.text
    return rows


def naive_typing(path: Path, text: str, index: int, line: str) -> list[float]:
    config = FiresideConfig()
    engine = LlamaEngine(resolve_model_path(), context_size=config.context_size, threads=config.effective_threads)
    lines = text.split("\n")
    before = sum(len(part) + 1 for part in lines[:index])
    column = len(line) - len(line.lstrip())
    timings = []
    for end in range(column + 1, len(line) + 1):
        lines[index] = line[:end]
        current = "\n".join(lines)
        request = CompletionRequest(path.as_uri(), "python", current, before + end, 1, config.max_tokens, path.name)
        engine._llama.reset()  # noqa: SLF001 - the naive server: nothing kept between requests
        started = time.perf_counter()
        complete(engine, request, max_prompt_tokens=config.max_prompt_tokens, context_size=config.context_size, cancelled=lambda: False)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def report_typing(rows: list[tuple[str, float, bool]], naive: list[float]) -> None:
    keys = [ms for _, ms, _ in rows]
    hits = [ms for _, ms, hit in rows if hit]
    misses = [ms for _, ms, hit in rows if not hit]
    p50, p90 = statistics.median(keys), percentile(keys, 0.9)
    n50, n90 = statistics.median(naive), percentile(naive, 0.9)
    print(f"typing session: {len(keys)} keystrokes into a {TYPING_LINES}-line file")
    print(f"  fireside keystroke   p50 {p50:7.1f} ms  p90 {p90:7.1f} ms")
    print(f"  naive (re-evaluate)  p50 {n50:7.1f} ms  p90 {n90:7.1f} ms")
    print(f"  speed-up             p50 {n50 / p50:7.1f}x    p90 {n90 / p90:7.1f}x")
    if hits:
        print(f"  typing-through hits  {len(hits)}: p50 {statistics.median(hits):.1f} ms, max {max(hits):.1f} ms")
    if misses:
        print(f"  model requests       {len(misses)}: p50 {statistics.median(misses):.1f} ms p90 {percentile(misses, 0.9):.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", type=Path, default=Path(inspect.getsourcefile(argparse)))
    parser.add_argument("--holes", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--typing-only", action="store_true")
    args = parser.parse_args()
    path, text, index, line = typing_file()
    typing_rows = asyncio.run(lsp_typing(path, text, index, line))
    report_typing(typing_rows, naive_typing(path, text, index, line))
    if args.typing_only:
        return 0
    source = args.file.read_text()
    holes = pick_holes(source, args.holes, args.seed)
    print(f"file: {args.file} ({source.count(chr(10))} lines), holes: {len(holes)}, seed {args.seed}")
    lsp = asyncio.run(lsp_timings(args.file.resolve(), source, holes))
    raw = raw_timings(args.file.resolve(), source, holes)
    print(f"{'line':>6} {'LSP cold':>9} {'raw cold':>9} {'LSP warm':>9} {'raw warm':>9} {'LSP key':>8}")
    for (line, _, _), timing, baseline in zip(holes, lsp, raw):
        print(f"{line + 1:>6} {timing['cold']:>9.0f} {baseline['cold']:>9.0f} {timing['warm']:>9.0f} {baseline['warm']:>9.0f} {timing['key']:>8.0f}")
    for label in ("cold", "warm"):
        lsp_values = [row[label] for row in lsp]
        raw_values = [row[label] for row in raw]
        print(
            f"{label}: LSP p50 {statistics.median(lsp_values):.0f} ms p90 {percentile(lsp_values, 0.9):.0f} ms | "
            f"raw model p50 {statistics.median(raw_values):.0f} ms p90 {percentile(raw_values, 0.9):.0f} ms | "
            f"LSP/raw at p50 {statistics.median(lsp_values) / statistics.median(raw_values):.2f}x"
        )
    keys = [row["key"] for row in lsp]
    print(f"keystroke after a completion: LSP p50 {statistics.median(keys):.0f} ms p90 {percentile(keys, 0.9):.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

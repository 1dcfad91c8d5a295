"""Completion latency through the real LSP path, next to the raw model time for the same request.

    .venv/bin/python eval/latency.py [--file PATH] [--holes N] [--seed S]

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

from fireside.completion.default_model import default_model_path
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
    engine = LlamaEngine(default_model_path(), context_size=config.context_size, threads=config.effective_threads)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", type=Path, default=Path(inspect.getsourcefile(argparse)))
    parser.add_argument("--holes", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
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

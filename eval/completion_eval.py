"""Completion quality on real code: holes cut at random positions, filled through the real LSP path.

    .venv/bin/python eval/completion_eval.py [--holes-per-package N] [--seed S]
    .venv/bin/python eval/completion_eval.py --language go --model M.gguf [--holes N]   (see corpus_languages.py)

For each hole (the rest of a line removed, at a line start or mid-line, inside function bodies) in
tabulate, humanize and more-itertools, it compares the completed line with the original:
  prefix-only   the same model given only the text before the cursor (last ~1k tokens), first line
  fireside      `fireside serve` with every context feature
  -definitions, -imports, -scopes, -syntax-check   the server with one feature switched off
Exact match: the completed line equals the original (whitespace-trimmed). Edit similarity:
difflib's ratio between them.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from corpus import corpus_roots
from corpus_languages import CORPORA, run_language

from fireside.completion.default_model import default_model_path
from fireside.completion.engine import LlamaEngine
from fireside.config import CONTEXT_FEATURES, FiresideConfig
from fireside.editor_session import EditorSession


@dataclass(frozen=True)
class Hole:
    root: Path
    path: Path
    line: int
    column: int
    target: str  # the rest of the line that was removed
    text: str  # the file with the hole


def find_holes(roots: list[Path], per_package: int, seed: int) -> list[Hole]:
    rng = random.Random(seed)
    holes = []
    for root in roots:
        candidates = []
        for path in sorted(root.rglob("*.py")):
            lines = path.read_text(encoding="utf-8").split("\n")
            for index, line in enumerate(lines):
                stripped = line.strip()
                if line.startswith("    ") and len(stripped) >= 12 and not stripped.startswith(("#", '"', "'", "@")):
                    candidates.append((path, index))
        for path, index in rng.sample(candidates, per_package):
            lines = path.read_text(encoding="utf-8").split("\n")
            line = lines[index]
            indent = len(line) - len(line.lstrip())
            if rng.random() < 0.5:
                column = indent  # line start
            else:  # mid-line, at a word boundary
                boundaries = [i for i in range(indent + 1, len(line) - 3) if not line[i - 1].isalnum() or not line[i].isalnum()]
                column = rng.choice(boundaries) if boundaries else indent
            target = line[column:]
            lines[index] = line[:column]
            holes.append(Hole(root, path, index, column, target, "\n".join(lines)))
    return holes


def similarity(completed: str, target: str) -> float:
    return difflib.SequenceMatcher(None, completed.strip(), target.strip()).ratio()


async def server_run(holes: list[Hole], features: tuple[str, ...]) -> list[tuple[str, float]]:
    results = []
    by_root: dict[Path, list[Hole]] = {}
    for hole in holes:
        by_root.setdefault(hole.root, []).append(hole)
    for root, group in by_root.items():
        async with EditorSession("--debounce-ms", "0", root=root) as editor:
            from lsprotocol import types

            editor.client.workspace_did_change_configuration(
                types.DidChangeConfigurationParams(settings={"fireside": {"contextFeatures": list(features)}})
            )
            await editor.wait_until_loaded()
            await asyncio.sleep(1.0)  # let the workspace index finish its first scan
            for hole in group:
                uri = editor.open(hole.path, hole.text)
                result = await editor.inline(uri, hole.line, hole.column)
                results.append((result.text.split("\n", 1)[0], result.milliseconds))
    return results


def prefix_only_run(holes: list[Hole]) -> list[tuple[str, float]]:
    config = FiresideConfig()
    engine = LlamaEngine(default_model_path(), context_size=config.context_size, threads=config.effective_threads)
    results = []
    for hole in holes:
        lines = hole.text.split("\n")
        prefix = "\n".join(lines[: hole.line] + [lines[hole.line][: hole.column]])
        tokens = engine.start_tokens + engine.tokenize(prefix[-4000:])[-config.max_prompt_tokens :]
        started = time.perf_counter()
        generation = engine.run(
            tokens, max_tokens=48, stop_at=lambda text: text.find("\n") if "\n" in text else None, cancelled=lambda: False
        )
        results.append((generation.text, (time.perf_counter() - started) * 1000))
    return results


def summarise(name: str, holes: list[Hole], results: list[tuple[str, float]]) -> dict[str, float]:
    exact = sum(completed.strip() == hole.target.strip() for hole, (completed, _) in zip(holes, results))
    sims = [similarity(completed, hole.target) for hole, (completed, _) in zip(holes, results)]
    latencies = [ms for _, ms in results]
    row = {
        "exact": exact / len(holes),
        "similarity": statistics.mean(sims),
        "empty": sum(not completed.strip() for completed, _ in results) / len(holes),
        "p50_ms": statistics.median(latencies),
    }
    print(f"{name:<16} exact {row['exact']:6.1%}  edit-sim {row['similarity']:.3f}  empty {row['empty']:6.1%}  p50 {row['p50_ms']:6.0f} ms", flush=True)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--holes-per-package", type=int, default=15)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--skip-ablation", action="store_true")
    # Other languages (corpus_languages.py): prefix-only, fim-only and the server, on their own corpora.
    parser.add_argument("--language", choices=sorted(CORPORA), help="evaluate another language than Python")
    parser.add_argument("--holes", type=int, default=20, help="holes for --language")
    parser.add_argument("--model", type=Path, default=None, help="GGUF for --language (default: the default model)")
    parser.add_argument("--show-holes", action="store_true", help="with --language: print every hole and answer")
    args = parser.parse_args()
    if args.language:
        model = args.model or default_model_path()
        return run_language(args.language, args.holes, args.seed, model, summarise=summarise, show_holes=args.show_holes)
    holes = find_holes(corpus_roots(), args.holes_per_package, args.seed)
    print(f"{len(holes)} holes in {', '.join(sorted({h.root.name for h in holes}))} (seed {args.seed})", flush=True)
    rows = {"prefix-only": summarise("prefix-only", holes, prefix_only_run(holes))}
    rows["fireside"] = summarise("fireside", holes, asyncio.run(server_run(holes, CONTEXT_FEATURES)))
    if not args.skip_ablation:
        for feature in CONTEXT_FEATURES:
            features = tuple(f for f in CONTEXT_FEATURES if f != feature)
            rows[f"-{feature}"] = summarise(f"-{feature}", holes, asyncio.run(server_run(holes, features)))
    gain = rows["fireside"]["similarity"] / rows["prefix-only"]["similarity"] - 1
    print(f"edit similarity, fireside vs prefix-only: {gain:+.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

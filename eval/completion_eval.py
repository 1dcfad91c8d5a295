"""Completion quality on real code: holes cut out of PyPI packages Fireside does not depend on,
filled by the model the way the server fills them.

    cd eval && ../.venv/bin/python completion_eval.py [--model PATH] [--holes-per-package 10] [--seed 11]
        [--rows prefix-only,fim-only,fireside,ablations] [--ablate FEATURE,...] [--multiline]
        [--budgets 256,512,1024] [--lsp] [--max-prompt-tokens N] [--show-raw] [--json OUT]
    cd eval && ../.venv/bin/python completion_eval.py --guidance [--model PATH] [--holes-per-package 8]
        [--identifier-holes-per-package 10]
    cd eval && ../.venv/bin/python completion_eval.py --language go [--holes 20] [--show-holes]
        (javascript, typescript, go, rust, java, c, cpp: corpora and hole selection in corpus_languages.py)

Single-line holes (the default; seed 11, the same holes in every session): the rest of a line
removed, at a line start or mid-line at a word boundary, inside indented bodies of tabulate, humanize
and more-itertools. The completed line is compared with the original: exact match (whitespace-trimmed)
and edit similarity (difflib's ratio).

Multi-line holes (``--multiline``): a whole small block removed (the body after a line that opens
it: ``if``/``for``/``with``/``try``/…) or the rest of a function body, the cursor at the start of the
block's first line after its indentation. Scored on the whole block (lines right-trimmed): exact
match, edit similarity, whether the file with the completion spliced in parses, and how many lines
were offered against how many were removed.

Rows, all with ``maxPromptTokens`` tokens of prompt (default: the server's):
  prefix-only   the model given only the text before the cursor, greedy, first line
  fim-only      plain FIM: the last 3/4 of the budget before the cursor, the first 1/4 after it,
                greedy, the first line (multi-line holes: everything up to the model's own end)
  fireside      the server's completion pipeline with its default context features
  ±FEATURE      the same with one context feature switched off (or on, for one off by default)
The fireside rows run ``fireside.completion.pipeline.complete`` in this process — the function
``fireside serve`` calls for every completion — so that generations can be replayed from
``eval/out/generations/`` (greedy decoding: the same prompt tokens always give the same tokens); a
re-run after a change to prompts or post-processing pays only for prompts that changed. ``--lsp``
adds the fireside row through a real ``fireside serve`` over stdio, to check that it matches.
``--budgets`` gives the prompt-budget curve: the fireside row at each ``maxPromptTokens``, with the
cold model time per request (measured when each prompt was first evaluated, so on a shared machine
it is noisy: compare it within one run).

``--guidance`` (issue 18) compares the fireside pipeline with name guidance off and on, on the
single-line holes and on identifier holes (after ``receiver.``, in ``from x import``, before a
keyword argument; ``name_metrics.py``): exact match, edit similarity, next-identifier match, the share
of completions that introduce a name that does not exist (checked with jedi), the tokens guidance
changed, and the time: decoding ms per token, the name table's time (computed on its own thread
while the model reads the prompt; only what exceeds the prompt's time is waited for, up to
``NAMES_WAIT_S``), and the p50 of the request's model time. Both settings run on the real engine
(no replay), the same prompt, one right after the other (alternating which goes first).
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import json
import random
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from corpus import corpus_roots
from corpus_languages import CORPORA, find_language_holes, language_roots
from generation_cache import CachedEngine

from fireside.models.catalog import resolve_model_path
from fireside.completion.engine import LlamaEngine
from fireside.completion.pipeline import complete
from fireside.completion.types import CompletionRequest
from fireside.config import CONTEXT_FEATURES, FiresideConfig
from fireside.context.index import WorkspaceIndex
from fireside.context.languages import language_for
from fireside.context.syntax import parse
from fireside.context.workspace import source_files

OUT = Path(__file__).resolve().parent / "out"
SINGLE_LINE_TOKENS = 48
MAX_BLOCK_LINES = 6
MAX_BLOCK_CHARS = 240
# Compound statements whose body is a block worth offering at once.
BLOCK_OWNERS = frozenset({
    "if_statement", "elif_clause", "else_clause", "for_statement", "while_statement", "with_statement",
    "try_statement", "except_clause", "finally_clause",
})


@dataclass(frozen=True)
class Hole:
    root: Path
    path: Path
    line: int
    column: int
    target: str  # what was removed: the rest of the line, or the block (lines right-trimmed)
    text: str  # the file with the hole
    language: str = "python"  # the editor's language id

    @property
    def offset(self) -> int:
        lines = self.text.split("\n")
        return sum(len(line) + 1 for line in lines[: self.line]) + self.column


def find_holes(roots: list[Path], per_package: int, seed: int) -> list[Hole]:
    """Single-line holes. Keep this selection as it is: rows compare across sessions by it."""
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


def _block_candidates(path: Path) -> list[tuple[int, int]]:
    """(first row, last row) of small blocks in function bodies: the body of a compound statement,
    or the rest of a function body from its second statement on."""
    spec = language_for("python")
    source = path.read_bytes()
    tree = parse(spec, source)
    if tree.root_node.has_error:
        return []
    lines = source.decode("utf-8").split("\n")
    found = []

    def small(first: int, last: int) -> bool:
        body = lines[first : last + 1]
        return (
            last - first + 1 <= MAX_BLOCK_LINES
            and len("\n".join(body)) <= MAX_BLOCK_CHARS
            and not body[-1][len(body[-1].rstrip()) :].strip()
        )

    def walk(node, in_function: bool) -> None:  # noqa: ANN001 - tree_sitter.Node
        inside = in_function or node.type == "function_definition"
        if node.type == "block" and in_function and node.parent is not None:
            first, last = node.start_point[0], node.end_point[0]
            starts_line = not lines[first][: node.start_point[1]].strip()
            statements = node.named_children
            is_string = statements and statements[0].type == "expression_statement" and statements[0].named_children[0].type == "string"
            if node.parent.type in BLOCK_OWNERS and starts_line and first > node.parent.start_point[0] and not is_string:
                if small(first, last):
                    found.append((first, last))
            if node.parent.type == "function_definition" and len(statements) >= 3:
                for statement in statements[2:]:  # the rest of the body, from a statement past the first two
                    row = statement.start_point[0]
                    if not lines[row][: statement.start_point[1]].strip() and small(row, last):
                        found.append((row, last))
                        break
        for child in node.children:
            walk(child, inside)

    walk(tree.root_node, False)
    return sorted(set(found))


def find_block_holes(roots: list[Path], per_package: int, seed: int) -> list[Hole]:
    rng = random.Random(seed)
    holes = []
    for root in roots:
        candidates = [(path, first, last) for path in sorted(root.rglob("*.py")) for first, last in _block_candidates(path)]
        for path, first, last in sorted(rng.sample(candidates, min(per_package, len(candidates))), key=lambda c: (str(c[0]), c[1])):
            lines = path.read_text(encoding="utf-8").split("\n")
            indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
            block = [line.rstrip() for line in lines[first : last + 1]]
            target = "\n".join(block)[len(indent) :]
            text = "\n".join([*lines[:first], indent, *lines[last + 1 :]])
            holes.append(Hole(root, path, first, len(indent), target, text))
    return holes


# ----- scoring ----------------------------------------------------------------------------------
def normalise_block(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def similarity(completed: str, target: str) -> float:
    return difflib.SequenceMatcher(None, completed, target).ratio()


def spliced_parses(hole: Hole, completion: str) -> bool:
    offset = hole.offset
    merged = hole.text[:offset] + completion + hole.text[offset:]
    return not parse(language_for("python"), merged.encode("utf-8")).root_node.has_error


@dataclass
class Row:
    name: str
    texts: list[str]
    seconds: list[float]
    prompt_tokens: list[int]
    raw: Row | None = None  # the same prompts' generations before post-processing


def summarise(row: Row, holes: list[Hole], multiline: bool) -> dict[str, float]:
    if multiline:
        pairs = [(normalise_block(text), normalise_block(hole.target)) for text, hole in zip(row.texts, holes)]
    else:
        pairs = [(text.strip(), hole.target.strip()) for text, hole in zip(row.texts, holes)]
    summary = {
        "exact": sum(a == b for a, b in pairs) / len(holes),
        "similarity": statistics.mean(similarity(a, b) for a, b in pairs),
        "empty": sum(not a for a, _ in pairs) / len(holes),
        "p50_ms": statistics.median(row.seconds) * 1000,
        "prompt_tokens": statistics.mean(row.prompt_tokens) if row.prompt_tokens else 0,
    }
    line = (
        f"{row.name:<22} exact {summary['exact']:6.1%}  edit-sim {summary['similarity']:.3f}  "
        f"empty {summary['empty']:6.1%}  model p50 {summary['p50_ms']:6.0f} ms  prompt {summary['prompt_tokens']:5.0f} tok"
    )
    if multiline:
        summary["parses"] = sum(spliced_parses(hole, text) for text, hole in zip(row.texts, holes)) / len(holes)
        summary["lines_offered"] = statistics.mean(len(a.split("\n")) if a else 0 for a, _ in pairs)
        summary["lines_removed"] = statistics.mean(len(b.split("\n")) for _, b in pairs)
        line += f"  parses {summary['parses']:6.1%}  lines {summary['lines_offered']:.1f}/{summary['lines_removed']:.1f}"
    print(line, flush=True)
    return summary


# ----- the rows -----------------------------------------------------------------------------------
def _first_line(text: str) -> int | None:
    return text.find("\n") if "\n" in text else None


def prefix_only_row(engine: CachedEngine, holes: list[Hole], budget: int) -> Row:
    row = Row("prefix-only", [], [], [])
    for hole in holes:
        prefix = hole.text[: hole.offset]
        tokens = engine.start_tokens + engine.tokenize(prefix[-budget * 8 :])[-budget:]
        generation = engine.run(tokens, max_tokens=SINGLE_LINE_TOKENS, stop_at=_first_line, cancelled=lambda: False)
        row.texts.append(generation.text)
        row.seconds.append(generation.seconds)
        row.prompt_tokens.append(len(tokens))
    return row


def fim_only_row(engine: CachedEngine, holes: list[Hole], budget: int, multiline: bool) -> Row | None:
    fim = engine.info.fim
    if fim is None:
        return None
    row = Row("fim-only", [], [], [])
    suffix_budget = budget // 4
    for hole in holes:
        prefix, suffix = hole.text[: hole.offset], hole.text[hole.offset :]
        tokens = [
            *engine.start_tokens, fim.prefix, *engine.tokenize(prefix[-budget * 8 :])[-(budget - suffix_budget) :],
            fim.suffix, *engine.tokenize(suffix[: suffix_budget * 8])[:suffix_budget], fim.middle,
        ]
        if multiline:
            generation = engine.run(tokens, max_tokens=FiresideConfig().max_tokens, stop_at=lambda text: None, cancelled=lambda: False)
        else:
            generation = engine.run(tokens, max_tokens=SINGLE_LINE_TOKENS, stop_at=_first_line, cancelled=lambda: False)
        row.texts.append(generation.text)
        row.seconds.append(generation.seconds)
        row.prompt_tokens.append(len(tokens))
    return row


class Workspaces:
    """One workspace index per package root, built as the server's watcher builds it."""

    def __init__(self) -> None:
        self._indexes: dict[Path, WorkspaceIndex] = {}

    def index(self, root: Path) -> WorkspaceIndex:
        if root not in self._indexes:
            index = WorkspaceIndex()
            for path in source_files(root):
                index.update_from_disk(path)
            index.paths()
            self._indexes[root] = index
        return self._indexes[root]


def fireside_row(
    name: str, engine: CachedEngine, holes: list[Hole], workspaces: Workspaces, features: tuple[str, ...],
    budget: int, multiline: bool,
) -> Row:
    """The pipeline's completions, and (as ``row.raw``) what the model generated for the same prompts
    before any post-processing: the difference is what the post-processing gains or costs."""
    config = FiresideConfig()
    row = Row(name, [], [], [])
    raw = Row(f"{name} (raw)", [], [], [])
    generations = []

    class Watching:  # the engine, with each generation kept
        def __getattr__(self, attribute: str):  # noqa: ANN204
            return getattr(engine, attribute)

        def run(self, tokens, **kwargs):  # noqa: ANN001, ANN003, ANN202
            generations.append(engine.run(tokens, **kwargs))
            return generations[-1]

    for hole in holes:
        request = CompletionRequest(
            hole.path.as_uri(), hole.language, hole.text, hole.offset, 1, config.max_tokens,
            hole.path.relative_to(hole.root).as_posix(),
        )
        completion = complete(
            Watching(), request, max_prompt_tokens=budget, context_size=config.context_size, cancelled=lambda: False,
            features=frozenset(features), index=workspaces.index(hole.root), workspace_root=str(hole.root),
        )
        generated = generations[-1].text
        row.texts.append(completion.text if multiline else completion.text.split("\n", 1)[0])
        raw.texts.append(generated if multiline else generated.split("\n", 1)[0])
        for target in (row, raw):
            target.seconds.append(completion.model_ms / 1000)
            target.prompt_tokens.append(completion.prompt_tokens)
    row.raw = raw
    return row


async def lsp_row(model: str | None, holes: list[Hole], features: tuple[str, ...], budget: int, multiline: bool) -> Row:
    from lsprotocol import types

    from fireside.editor_session import EditorSession

    row = Row("fireside (LSP)", [], [], [])
    by_root: dict[Path, list[Hole]] = {}
    for hole in holes:
        by_root.setdefault(hole.root, []).append(hole)
    texts: dict[int, tuple[str, float]] = {}
    args = ["--debounce-ms", "0", "--max-prompt-tokens", str(budget), *(["--model", model] if model else [])]
    for root, group in by_root.items():
        async with EditorSession(*args, root=root) as editor:
            editor.client.workspace_did_change_configuration(
                types.DidChangeConfigurationParams(settings={"fireside": {"contextFeatures": list(features)}})
            )
            await editor.wait_until_loaded()
            await asyncio.sleep(2.0)  # let the workspace index finish its first scan
            for hole in group:
                uri = editor.open(hole.path, hole.text, language_id=hole.language)
                result = await editor.inline(uri, hole.line, hole.column)
                texts[id(hole)] = (result.text if multiline else result.text.split("\n", 1)[0], result.milliseconds / 1000)
    for hole in holes:
        text, seconds = texts[id(hole)]
        row.texts.append(text)
        row.seconds.append(seconds)
    return row


def feature_rows(default: tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
    rows = []
    for feature in CONTEXT_FEATURES:
        if feature in default:
            rows.append((f"-{feature}", tuple(f for f in default if f != feature)))
        else:
            rows.append((f"+{feature}", (*default, feature)))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", metavar="PATH", help="GGUF model (default: the server's default model)")
    parser.add_argument("--language", choices=("python", *sorted(CORPORA)), default="python",
                        help="the corpus's language (other than python: corpus_languages.py)")
    parser.add_argument("--holes-per-package", type=int, default=10)
    parser.add_argument("--holes", type=int, default=20, help="with --language other than python: holes in all")
    parser.add_argument("--show-holes", action="store_true", help="print every hole and each row's answer")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--multiline", action="store_true", help="block holes instead of single-line holes")
    parser.add_argument("--rows", default="prefix-only,fim-only,fireside,ablations",
                        help="comma-separated: prefix-only, fim-only, fireside, ablations")
    parser.add_argument("--ablate", help="comma-separated features: only these ablation rows (default: every feature)")
    parser.add_argument("--features", help="comma-separated context features for the fireside row (default: the server's)")
    parser.add_argument("--max-prompt-tokens", type=int, default=FiresideConfig().max_prompt_tokens)
    parser.add_argument("--budgets", help="comma-separated maxPromptTokens values: the prompt-budget curve")
    parser.add_argument("--lsp", action="store_true", help="also run the fireside row through `fireside serve`")
    parser.add_argument("--threads", type=int, default=FiresideConfig().effective_threads)
    parser.add_argument("--json", type=Path, help="write every row's completions here")
    parser.add_argument("--guidance", action="store_true",
                        help="only compare name guidance off and on (single-line and identifier holes)")
    parser.add_argument("--identifier-holes-per-package", type=int, default=10)
    parser.add_argument("--guidance-sets", default="single-line,identifier", help="which hole sets --guidance runs")
    parser.add_argument("--rescore", type=Path, help="recompute the name checks of a saved --guidance --json run")
    parser.add_argument("--show-raw", action="store_true",
                        help="after each fireside row, the same prompts' generations without post-processing")
    args = parser.parse_args()

    model = Path(args.model) if args.model else resolve_model_path()
    config = FiresideConfig()
    if args.rescore:
        return rescore_guidance(args.rescore, args)
    if args.guidance:
        return guidance_main(model, args)
    engine = CachedEngine(
        LlamaEngine(model, context_size=config.context_size, threads=args.threads),
        _cache_file(model),
    )
    if args.language != "python":
        if args.multiline:
            parser.error("--multiline holes are cut in Python only")
        holes = [
            Hole(*found, language=args.language)
            for found in find_language_holes(args.language, language_roots(args.language), args.holes, args.seed)
        ]
    else:
        holes = (find_block_holes if args.multiline else find_holes)(corpus_roots(), args.holes_per_package, args.seed)
    kind = "multi-line block" if args.multiline else "single-line"
    print(f"{len(holes)} {kind} holes in {', '.join(sorted({h.root.name for h in holes}))} (seed {args.seed}); "
          f"model {engine.info.name} ({model.name}), FIM: {engine.info.fim is not None}, "
          f"repository tokens: {bool(engine.info.fim and engine.info.fim.repository)}", flush=True)
    wanted = set(args.rows.split(","))
    default = tuple(args.features.split(",")) if args.features else config.context_features
    workspaces = Workspaces()
    results: dict[str, dict] = {}
    rows: list[Row] = []

    def record(row: Row | None) -> None:
        if row is None:
            return
        rows.append(row)
        results[row.name] = summarise(row, holes, args.multiline)
        if row.raw is not None and args.show_raw:
            record(row.raw)

    budget = args.max_prompt_tokens
    if "prefix-only" in wanted and not args.multiline:
        record(prefix_only_row(engine, holes, budget))
    if "fim-only" in wanted:
        fim_row = fim_only_row(engine, holes, budget, args.multiline)
        if fim_row is None:
            print("fim-only               (the model has no FIM tokens)")
        record(fim_row)
    if "fireside" in wanted:
        record(fireside_row("fireside", engine, holes, workspaces, default, budget, args.multiline))
    if args.lsp:
        record(asyncio.run(lsp_row(args.model, holes, default, budget, args.multiline)))
    if "ablations" in wanted:
        for name, features in feature_rows(default):
            if args.ablate and name[1:] not in args.ablate.split(","):
                continue
            record(fireside_row(name, engine, holes, workspaces, features, budget, args.multiline))
    for value in args.budgets.split(",") if args.budgets else []:
        record(fireside_row(f"fireside @{value}", engine, holes, workspaces, default, int(value), args.multiline))
    if "fireside" in results and "fim-only" in results:
        gain = results["fireside"]["similarity"] / results["fim-only"]["similarity"] - 1
        print(f"edit similarity, fireside vs fim-only: {gain:+.1%}")
        met = gain >= 0 and results["fireside"]["empty"] <= 0.10
        print(f"target (edit similarity >= fim-only, empty <= 10%): {'met' if met else 'NOT met'}")
    if args.show_holes:
        for index, hole in enumerate(holes):
            print(f"  {hole.path.name}:{hole.line + 1}:{hole.column}  want {hole.target.strip()!r}")
            for row in rows:
                print(f"      {row.name:<16} {row.texts[index].strip()!r}")
    print(f"generations: {engine.misses} evaluated, {engine.hits} replayed", flush=True)
    if args.json:
        args.json.write_text(json.dumps({
            "holes": [{"path": str(h.path), "line": h.line, "column": h.column, "target": h.target} for h in holes],
            "rows": {row.name: {"texts": row.texts, "summary": results[row.name]} for row in rows},
        }, indent=1))
    return 0


# ----- name guidance (issue 18) ------------------------------------------------------------------
class SameNumbers:
    """The engine, made to start both settings' generations from the same numbers. llama.cpp is not
    batch-invariant: a prompt's last token evaluated in the prompt's batch gives other logits than
    the same token evaluated alone on the cached rest, which can flip a close greedy choice. So the
    prompt is always evaluated up to its last token first (in a batch, cold), and the last token
    alone: for the second setting only the cells after the prompt's last-but-one are dropped."""

    def __init__(self, engine: LlamaEngine) -> None:
        self._engine = engine
        self.head_seconds = 0.0  # the time of the prompt's batch when it was evaluated here

    def __getattr__(self, attribute: str):  # noqa: ANN204
        return getattr(self._engine, attribute)

    def run(self, prompt_tokens, **kwargs):  # noqa: ANN001, ANN003, ANN201
        import time as _time

        from fireside.completion.kv_reuse import common_prefix

        context = self._engine._context
        self.head_seconds = 0.0
        if common_prefix(context.tokens, prompt_tokens) >= len(prompt_tokens) - 1:
            context.truncate(len(prompt_tokens) - 1)
        else:
            started = _time.perf_counter()
            self._engine.logits_after(prompt_tokens[:-1])
            self.head_seconds = _time.perf_counter() - started
        return self._engine.run(prompt_tokens, **kwargs)


def guidance_main(model: Path, args: argparse.Namespace) -> int:
    import time as _time

    from name_metrics import InventedNames, find_identifier_holes, first_identifier, typed_name

    from fireside.completion.guidance import NAMES_WAIT_S, NameGuide
    from fireside.context.names import NameQuery, NameService

    config = FiresideConfig()
    engine = SameNumbers(LlamaEngine(model, context_size=config.context_size, threads=args.threads))
    engine.prepare_guidance()
    roots = corpus_roots()
    sets = {
        "single-line": find_holes(roots, args.holes_per_package, args.seed),
        "identifier": find_identifier_holes(roots, args.identifier_holes_per_package, args.seed),
    }
    sets = {name: holes for name, holes in sets.items() if name in args.guidance_sets.split(",")}
    print(f"model {engine.info.name} ({model.name}), threads {args.threads}, prompt budget {args.max_prompt_tokens}; "
          + ", ".join(f"{len(h)} {name} holes" for name, h in sets.items()), flush=True)
    names = NameService()
    names.warm_up().result()
    checker = InventedNames()
    workspaces = Workspaces()
    report: dict[str, dict] = {}
    for set_name, holes in sets.items():
        rows = {"off": [], "on": []}
        for number, hole in enumerate(holes):
            request = CompletionRequest(
                hole.path.as_uri(), "python", hole.text, hole.offset, 1, config.max_tokens,
                hole.path.relative_to(hole.root).as_posix(),
            )
            query = NameQuery(hole.text, hole.offset, str(hole.path), str(hole.root), "python")
            started = _time.perf_counter()
            table = names.table(query).result()
            table_ms = (_time.perf_counter() - started) * 1000
            first_prompt_s = None
            order = ("off", "on") if number % 2 == 0 else ("on", "off")
            for setting in order:
                guide = NameGuide(request.prefix[-400:], table, wait_s=None) if setting == "on" else None
                completion = complete(
                    engine, request, max_prompt_tokens=args.max_prompt_tokens, context_size=config.context_size,
                    cancelled=lambda: False, features=frozenset(config.context_features),
                    index=workspaces.index(hole.root), workspace_root=str(hole.root), guide=guide,
                )
                run = engine.last_run
                if first_prompt_s is None:
                    first_prompt_s = run.prompt_seconds + engine.head_seconds
                text = completion.text.split("\n", 1)[0]
                decode_s = run.seconds - run.prompt_seconds
                typed = typed_name(hole.text[: hole.offset])
                rows[setting].append({
                    "text": text,
                    "target": hole.target,
                    "next_identifier": first_identifier(typed, text) == first_identifier(typed, hole.target),
                    "invented": checker.check(hole.root, hole.path, hole.text, hole.offset, text),
                    "decode_s": decode_s,
                    "tokens": run.generated_tokens,
                    "changes": run.guided_changes,
                    "guided_tokens": run.guided_tokens,
                    "guidance_ms": run.guidance_ms,
                    "table_ms": table_ms,
                })
            for setting in ("off", "on"):  # the same prompt time for both, plus what the table adds
                entry = rows[setting][-1]
                wait = max(0.0, min(NAMES_WAIT_S, table_ms / 1000 - first_prompt_s)) if setting == "on" else 0.0
                entry["latency_s"] = first_prompt_s + entry["decode_s"] + wait
        report[set_name] = summarise_guidance(set_name, rows)
        if args.json:
            report[set_name]["rows"] = rows
    names.shutdown(wait=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))
    return 0


def summarise_guidance(set_name: str, rows: dict[str, list[dict]]) -> dict:
    report: dict = {}
    for setting in ("off", "on"):
        entries = rows[setting]
        tokens = sum(e["tokens"] for e in entries) or 1
        summary = {
            "exact": statistics.mean(e["text"].strip() == e["target"].strip() for e in entries),
            "similarity": statistics.mean(similarity(e["text"].strip(), e["target"].strip()) for e in entries),
            "next_identifier": statistics.mean(e["next_identifier"] for e in entries),
            "invented": statistics.mean(bool(e["invented"]) for e in entries),
            "changed_tokens": sum(e["changes"] for e in entries),
            "guided_tokens": sum(e["guided_tokens"] for e in entries),
            "decode_ms_per_token": 1000 * sum(e["decode_s"] for e in entries) / tokens,
            "guidance_ms_per_guided_token": sum(e["guidance_ms"] for e in entries) / max(1, sum(e["guided_tokens"] for e in entries)),
            "p50_ms": 1000 * statistics.median(e["latency_s"] for e in entries),
            "table_p50_ms": statistics.median(e["table_ms"] for e in entries),
        }
        report[setting] = summary
        print(
            f"{set_name:<12} guidance {setting:<3}  exact {summary['exact']:6.1%}  edit-sim {summary['similarity']:.3f}  "
            f"next-id {summary['next_identifier']:6.1%}  invented {summary['invented']:6.1%}  "
            f"changed {summary['changed_tokens']:3d}/{summary['guided_tokens']:3d} guided tokens  "
            f"decode {summary['decode_ms_per_token']:5.1f} ms/tok  p50 {summary['p50_ms']:6.0f} ms  "
            f"table p50 {summary['table_p50_ms']:5.0f} ms",
            flush=True,
        )
    off, on = report["off"], report["on"]
    print(
        f"{set_name:<12} on vs off: invented {on['invented']:.1%} vs {off['invented']:.1%}, next-id "
        f"{100 * (on['next_identifier'] - off['next_identifier']):+.1f} points, edit-sim "
        f"{on['similarity'] - off['similarity']:+.3f}, p50 x{on['p50_ms'] / max(off['p50_ms'], 1e-9):.3f}, "
        f"decode/token x{on['decode_ms_per_token'] / max(off['decode_ms_per_token'], 1e-9):.3f}",
        flush=True,
    )
    for e_off, e_on in zip(rows["off"], rows["on"]):
        if e_off["text"] != e_on["text"]:
            print(f"    {e_off['text']!r:50} -> {e_on['text']!r:50} (target {e_on['target']!r}) invented {e_off['invented']} -> {e_on['invented']}")
    return report


def rescore_guidance(path: Path, args: argparse.Namespace) -> int:
    """Recompute the invented-name check (and every summary) of a ``--guidance --json`` run."""
    from name_metrics import InventedNames, keystrokes_needing_a_table

    saved = json.loads(path.read_text())
    roots = corpus_roots()
    from name_metrics import find_identifier_holes

    sets = {
        "single-line": find_holes(roots, args.holes_per_package, args.seed),
        "identifier": find_identifier_holes(roots, args.identifier_holes_per_package, args.seed),
    }
    sets = {name: holes for name, holes in sets.items() if name in args.guidance_sets.split(",") and name in saved}
    checker = InventedNames()
    for set_name, holes in sets.items():
        rows = saved[set_name]["rows"]
        for setting in ("off", "on"):
            for hole, entry in zip(holes, rows[setting], strict=True):
                assert entry["target"] == hole.target, "other holes than the saved run's: same --seed and counts?"
                entry["invented"] = checker.check(hole.root, hole.path, hole.text, hole.offset, entry["text"])
        saved[set_name] = {**summarise_guidance(set_name, rows), "rows": rows}
        keystrokes, fresh = keystrokes_needing_a_table(holes)
        print(f"{set_name:<12} typing the holes back: {fresh} of {keystrokes} keystrokes need a new name table", flush=True)
    path.write_text(json.dumps(saved, indent=1, default=str))
    return 0


def _cache_file(model: Path) -> Path:
    directory = OUT / "generations"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{model.stem}-{model.stat().st_size}.jsonl"


if __name__ == "__main__":
    sys.exit(main())

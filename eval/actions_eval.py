"""Code actions on real code from PyPI (tabulate, humanize, more-itertools; see corpus.py): for each action,
how many of N generated edits pass validation (first try / after the one regeneration), how many are dropped,
and the latency per action with the embedded model on this machine.

Cases are made from real functions: "Write docstring" on functions whose docstring was removed, "Add type
hints" on functions with unannotated parameters (call sites: the package's other files), "Complete function
body" on functions whose body after the docstring was replaced by ``...``, quick fixes for an undefined name
(a standard-library import removed from the module) and for a syntax error injected into a line (a dropped
``:`` or ``)``, a doubled ``,``, a misspelt keyword, a stray operator).

Baselines in the same run: the docstring written free-form by the model (no skeleton), and syntax fixes by
the model alone (no deterministic repairs).

    .venv/bin/python eval/actions_eval.py --per-action 12
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import corpus_roots  # noqa: E402

from fireside.actions.body import complete_body  # noqa: E402
from fireside.actions.docstring import write_docstring  # noqa: E402
from fireside.actions.model import EngineModel  # noqa: E402
from fireside.actions.quick_fix import Diagnostic, _model_line_edit, quick_fix  # noqa: E402
from fireside.actions.source import Source, docstring_node, explicit_params  # noqa: E402
from fireside.actions.type_hints import add_type_hints  # noqa: E402
from fireside.actions.validate import Check, Edit, Outcome, checked_edit, compile_error, validate  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"


@dataclass
class Case:
    package: str
    path: Path
    text: str
    line: int  # 0-based
    name: str
    original: str = ""  # the text before a corruption (fixes: did the fix restore it?)
    diagnostic: Diagnostic | None = None


@dataclass
class Row:
    action: str
    outcomes: list[tuple[Outcome, float, str, bool]] = field(default_factory=list)  # outcome, seconds, how, restored

    def summary(self) -> dict[str, object]:
        n = len(self.outcomes)
        first = sum(o.edit is not None and o.attempts == 1 for o, *_ in self.outcomes)
        second = sum(o.edit is not None and o.attempts == 2 for o, *_ in self.outcomes)
        seconds = sorted(s for _, s, *_ in self.outcomes)
        reasons = Counter(re.sub(r"\(.*", "", o.reason).strip()[:70] for o, *_ in self.outcomes if o.edit is None)
        return {
            "action": self.action, "n": n, "first_try": first, "after_regeneration": second,
            "dropped": n - first - second, "p50_s": statistics.median(seconds) if seconds else 0.0,
            "p90_s": seconds[min(n - 1, int(0.9 * n))] if seconds else 0.0,
            "how": dict(Counter(how for _, _, how, _ in self.outcomes if how)),
            "restored": sum(restored for *_, restored in self.outcomes),
            "drop_reasons": dict(reasons.most_common(3)),
        }


def python_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*.py") if path.stat().st_size < 400_000)


def functions(path: Path) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef, ast.ClassDef | None]]:
    text = path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    found = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append((text, node, None))
        elif isinstance(node, ast.ClassDef):
            found += [(text, child, node) for child in node.body if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return found


def _remove_lines(text: str, first: int, last: int, replacement: list[str] | None = None) -> str:
    lines = text.split("\n")
    return "\n".join(lines[: first - 1] + (replacement or []) + lines[last:])


def docstring_cases(roots: list[Path], n: int, rng: random.Random) -> list[Case]:
    pool = []
    for root in roots:
        for path in python_files(root):
            for text, node, _ in functions(path):
                doc = docstring_node(node)
                if doc is not None and len(node.body) > 1 and doc.lineno > node.lineno and len(node.args.args) >= 1:
                    stripped = _remove_lines(text, doc.lineno, doc.end_lineno or doc.lineno)
                    pool.append(Case(root.name, path, stripped, node.lineno - 1, node.name))
    return rng.sample(pool, min(n, len(pool)))


def hint_cases(roots: list[Path], n: int, rng: random.Random) -> list[Case]:
    pool = []
    for root in roots:
        for path in python_files(root):
            for text, node, owner in functions(path):
                unannotated = [a for a in explicit_params(node, owner) if a.annotation is None and a not in (node.args.vararg, node.args.kwarg)]
                if unannotated and node.name != "__init__" and node.body[0].lineno > node.lineno:
                    pool.append(Case(root.name, path, text, node.lineno - 1, node.name))
    return rng.sample(pool, min(n, len(pool)))


def body_cases(roots: list[Path], n: int, rng: random.Random) -> list[Case]:
    pool = []
    for root in roots:
        for path in python_files(root):
            for text, node, _ in functions(path):
                doc = docstring_node(node)
                if doc is None or len(node.body) < 2 or (node.end_lineno or 0) - (doc.end_lineno or 0) > 12:
                    continue
                first = node.body[1]
                if first.lineno <= (doc.end_lineno or 0):
                    continue
                indent = " " * first.col_offset
                stripped = _remove_lines(text, first.lineno, node.end_lineno or first.lineno, [indent + "..."])
                pool.append(Case(root.name, path, stripped, node.lineno - 1, node.name, original=text))
    return rng.sample(pool, min(n, len(pool)))


def undefined_name_cases(roots: list[Path], n: int, rng: random.Random) -> list[Case]:
    pool = []
    for root in roots:
        for path in python_files(root):
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text)
            for statement in tree.body:
                if not (isinstance(statement, ast.Import) and len(statement.names) == 1 and statement.names[0].asname is None):
                    continue
                name = statement.names[0].name
                if "." in name or name not in sys.stdlib_module_names:
                    continue
                uses = [node for node in ast.walk(tree) if isinstance(node, ast.Name) and node.id == name]
                if not uses:
                    continue
                broken = _remove_lines(text, statement.lineno, statement.end_lineno or statement.lineno)
                use_line = uses[0].lineno - 2  # one line removed above it, and 0-based
                lines = broken.split("\n")
                column = lines[use_line].find(name)
                start = sum(len(line) + 1 for line in lines[:use_line]) + max(0, column)
                diagnostic = Diagnostic(f"undefined name '{name}'", start, start + len(name), use_line)
                pool.append(Case(root.name, path, broken, use_line, name, original=text, diagnostic=diagnostic))
    return rng.sample(pool, min(n, len(pool)))


CORRUPTIONS: list[tuple[str, Callable[[str], str | None]]] = [
    ("dropped colon", lambda line: line[:-1] if line.rstrip().endswith(":") and line.lstrip().split(" ")[0] in ("if", "for", "while", "elif", "with", "else:", "try:") else None),
    ("dropped paren", lambda line: line[: line.rfind(")")] + line[line.rfind(")") + 1 :] if line.rstrip().endswith(")") else None),
    ("doubled comma", lambda line: line.replace(", ", ",, ", 1) if ", " in line else None),
    ("misspelt keyword", lambda line: line.replace("return ", "retrun ", 1) if line.lstrip().startswith("return ") else None),
    ("stray operator", lambda line: line.replace(" = ", " = * ", 1) if " = " in line and "==" not in line else None),
]


def syntax_cases(roots: list[Path], n: int, rng: random.Random) -> list[Case]:
    pool = []
    for root in roots:
        for path in python_files(root):
            for text, node, _ in functions(path):
                for statement_line in range(node.body[0].lineno, (node.end_lineno or node.lineno) + 1):
                    line = text.split("\n")[statement_line - 1]
                    for kind, corrupt in CORRUPTIONS:
                        broken_line = corrupt(line)
                        if broken_line is None or broken_line == line or "#" in line or '"' in line or "'" in line:
                            continue
                        lines = text.split("\n")
                        lines[statement_line - 1] = broken_line
                        broken = "\n".join(lines)
                        if compile_error(broken) is None:
                            continue
                        start = sum(len(item) + 1 for item in lines[: statement_line - 1])
                        diagnostic = Diagnostic("invalid syntax", start, start + len(broken_line), statement_line - 1)
                        pool.append(Case(root.name, path, broken, statement_line - 1, kind, original=text, diagnostic=diagnostic))
    # Balanced over the kinds of corruption, then random within each.
    by_kind: dict[str, list[Case]] = {}
    for case in pool:
        by_kind.setdefault(case.name, []).append(case)
    chosen: list[Case] = []
    kinds = sorted(by_kind)
    while len(chosen) < n and any(by_kind.values()):
        for kind in kinds:
            if by_kind[kind] and len(chosen) < n:
                chosen.append(by_kind[kind].pop(rng.randrange(len(by_kind[kind]))))
    return chosen


def free_docstring(text: str, line: int, model: EngineModel) -> Outcome:
    """Baseline: the model writes the whole docstring after the opening quotes, nothing built for it."""
    source = Source(text)
    from fireside.actions.docstring import docstring_target

    node, _ = docstring_target(source, line)
    first = node.body[0]
    indent = source.indent_of(first.lineno)
    header = text[source.line_start(node.lineno) : source.line_start(first.lineno)]
    at = source.line_start(first.lineno) + len(indent)

    def propose(error: str | None) -> Edit:
        answer = model.generate(f'{header}{indent}"""', max_tokens=120, stop=['"""'])
        return Edit(at, at, f'"""{answer.rstrip()}\n{indent}"""\n{indent}')

    return checked_edit(text, propose, Check(claimed=source.definition_span(node)))


def model_only_fix(case: Case, model: EngineModel) -> Outcome:
    lines = case.text.split("\n")
    start = sum(len(item) + 1 for item in lines[: case.line])
    check = Check(claimed=(start, start + len(lines[case.line])), fixes_syntax=True)
    return checked_edit(case.text, lambda error: _model_line_edit(case.text, case.diagnostic, model, [], error), check)


def params_covered(text: str, outcome: Outcome, case: Case) -> bool:
    """Whether a written docstring names every parameter (what the skeleton guarantees)."""
    if outcome.edit is None:
        return False
    source = Source(case.text)
    from fireside.actions.source import function_at

    function, owner = function_at(source, case.line)
    return all(re.search(rf"\b{re.escape(a.arg)}\b", outcome.edit.new_text) for a in explicit_params(function, owner))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-action", type=int, default=12)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", action="append", help="run only actions whose name contains this (repeatable)")
    args = parser.parse_args()

    from fireside.models.catalog import resolve_model_path
    from fireside.completion.engine import LlamaEngine

    engine = LlamaEngine(resolve_model_path(), context_size=4096, threads=args.threads)
    model = EngineModel(engine)
    roots = corpus_roots()
    rng = random.Random(args.seed)
    n = args.per_action
    cases = {
        "Write docstring": docstring_cases(roots, n, rng),
        "Add type hints": hint_cases(roots, n, rng),
        "Complete function body": body_cases(roots, n, rng),
        "Quick fix: undefined name": undefined_name_cases(roots, n, rng),
        "Quick fix: syntax error": syntax_cases(roots, n, rng),
    }
    if args.only:
        cases = {action: group for action, group in cases.items() if any(part.lower() in action.lower() for part in args.only)}
    package_sources = {
        root.name: [(str(path), path.read_text(encoding="utf-8")) for path in python_files(root)] for root in roots
    }

    def run(case: Case, action: str) -> tuple[Outcome, str]:
        if action == "Write docstring":
            return write_docstring(case.text, case.line, model), ""
        if action == "Add type hints":
            workspace = [(p, t) for p, t in package_sources[case.package] if p != str(case.path)]
            outcome, report = add_type_hints(case.text, case.line, model, workspace)
            for proposal in report.proposals:
                key = ("-> None, without the model" if proposal.reason == "nothing is returned" else "kept") if proposal.kept else re.sub(r"^.* is no .*$", "contradicted by a default, call site or return",
                                                          re.sub(r"^\S+ is not defined.*$", "unresolved name", proposal.reason))
                annotations[key] += 1
            return outcome, ""
        if action == "Complete function body":
            return complete_body(case.text, case.line, model), ""
        return quick_fix(case.text, case.diagnostic, model)  # type: ignore[arg-type]

    rows: list[Row] = []
    extra: dict[str, object] = {}
    annotations: Counter[str] = Counter()  # what became of each annotation the model proposed
    for action, group in cases.items():
        row = Row(action)
        covered = 0
        for case in group:
            started = time.perf_counter()
            outcome, how = run(case, action)
            seconds = time.perf_counter() - started
            restored = bool(case.original) and outcome.edit is not None and outcome.edit.apply(case.text) == case.original
            if outcome.edit is not None:  # the check's promise, checked again from the outside
                assert validate(case.text, outcome.edit, Check(claimed=(0, len(case.text)))).apply(case.text) == outcome.edit.apply(case.text)
            covered += action == "Write docstring" and params_covered(case.text, outcome, case)
            row.outcomes.append((outcome, seconds, how, restored))
            print(f"{action:<28} {case.package}:{case.path.name}:{case.line + 1} {case.name:<24} "
                  f"{'edit' if outcome.edit else 'dropped':<7} try {outcome.attempts} {seconds:5.1f}s {how} {outcome.reason[:80]}", flush=True)
        if action == "Write docstring":
            extra["docstring_params_named"] = covered
        rows.append(row)

    extra["annotations"] = dict(annotations)
    # Baselines, same run, same cases.
    baseline_docs = Row("Write docstring, free-form (baseline)")
    named = 0
    for case in cases.get("Write docstring", []):
        started = time.perf_counter()
        outcome = free_docstring(case.text, case.line, model)
        baseline_docs.outcomes.append((outcome, time.perf_counter() - started, "", False))
        named += params_covered(case.text, outcome, case)
    extra["free_docstring_params_named"] = named
    baseline_fix = Row("Quick fix: syntax error, model only (baseline)")
    for case in cases.get("Quick fix: syntax error", []):
        started = time.perf_counter()
        outcome = model_only_fix(case, model)
        restored = outcome.edit is not None and outcome.edit.apply(case.text) == case.original
        baseline_fix.outcomes.append((outcome, time.perf_counter() - started, "model", restored))
    rows += [row for row in (baseline_docs, baseline_fix) if row.outcomes]

    summaries = [row.summary() for row in rows]
    print("\n| action | N | passed, first try | passed after regeneration | dropped | p50 | p90 | notes |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for s in summaries:
        notes = []
        if s["how"]:
            notes.append("by " + ", ".join(f"{k} {v}" for k, v in s["how"].items()))
        if s["restored"]:
            notes.append(f"restored the original {s['restored']}")
        if s["drop_reasons"]:
            notes.append("dropped: " + "; ".join(f"{k} ({v})" for k, v in s["drop_reasons"].items()))
        print(f"| {s['action']} | {s['n']} | {s['first_try']} | {s['after_regeneration']} | {s['dropped']} | "
              f"{s['p50_s']:.1f} s | {s['p90_s']:.1f} s | {'; '.join(notes)} |")
    if "Write docstring" in cases:
        total = len(cases["Write docstring"])
        print(f"\ndocstrings naming every parameter: skeleton {extra['docstring_params_named']}/{total}, "
              f"free-form {extra['free_docstring_params_named']}/{total}")
    if annotations:
        print("annotations proposed by the model: " + ", ".join(f"{k} {v}" for k, v in annotations.most_common()))
    OUT.mkdir(exist_ok=True)
    (OUT / "actions_eval.json").write_text(json.dumps({"rows": summaries, **extra}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""From a target to a test file: resolve, analyse, plan, (ask the model,) verify, render, merge.

`generate_tests` serves the CLI; `plan_tests_for_symbol` serves the editor's code action (it writes nothing:
the LSP handler turns the returned plan into a WorkspaceEdit).
"""

from __future__ import annotations

import ast
import keyword
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from fireside.testgen.analysis import ClassInfo, ModuleInfo, analyse_source
from fireside.testgen.branches import branch_map, every_function, gaps
from fireside.testgen.merge import MergeResult, merge, write_atomically
from fireside.testgen.model import TextGenerator, suggest_types
from fireside.testgen.properties import HEURISTIC_KINDS, SpecFactory, TestSpec, build_specs, functions_in_scope
from fireside.testgen.render import RenderedFile, TargetImport, render_file
from fireside.testgen.report import Report
from fireside.testgen.rounds import Budget, falsifying_inputs, run_rounds
from fireside.testgen.sandbox import isolation
from fireside.testgen.verify import Verdict, classify, collect_check, run_candidates, verify

__all__ = ["Options", "Target", "TestFilePlan", "default_tests_dir", "generate_tests", "plan_tests_for_symbol", "resolve_target"]

# progress(stage, advance, total): stage is "analysed", "generated", "verified" or "coverage round"; total
# is set once per stage.
Progress = Callable[[str, int, "int | None"], None]
_RESERVED = {"st", "pytest", "given", "example", "assume", "unittest", "sys", "Path", "instance", "result"}
_PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")
# A coverage round's candidate is one call, or a strategy drawn from a regex: one that needs longer than this
# is not worth the module's time budget.
ROUND_TEST_SECONDS = 8.0
# Inputs per candidate that draws them (a regex strategy, an optional parameter): enough to see which
# branches it takes; the kept ones are run again with Hypothesis's default before they are written.
ROUND_EXAMPLES = 30
# The run again of the kept tests draws twice Hypothesis's default number of inputs: a failure that shows
# once in a few hundred inputs is caught here rather than in the user's first run.
CONFIRM_EXAMPLES = 200


@dataclass(frozen=True)
class Target:
    path: Path  # the module's source file
    module: str  # dotted module name
    import_root: Path  # the directory that makes `module` importable
    symbol: str | None = None
    given_as_path: bool = True

    @property
    def short(self) -> str:
        return self.module.rsplit(".", 1)[-1]


@dataclass
class Options:
    style: str = "pytest"
    run: bool = True
    python: str | None = None  # the interpreter that runs the tests (default: this one)
    limit: float = 20.0  # seconds per test while verifying
    generator: TextGenerator | None = None
    rounds: int = Budget.rounds  # coverage rounds after verification (0: none)
    time_budget: float = Budget.seconds  # seconds for the whole module: no coverage round starts after it
    cancel: threading.Event | None = None  # set it to stop: the running tests are killed, RunCancelled raised
    not_run_reason: str | None = None  # why the tests are not run (with run=False), for the report and file


@dataclass
class TestFilePlan:
    """What the editor should do: create `path` or replace its `old_text` by `new_text`."""

    path: Path
    new_text: str
    existed: bool
    old_text: str | None
    summary: str
    report: Report = field(repr=False, default=None)  # type: ignore[assignment]
    rendered: RenderedFile | None = field(repr=False, default=None)  # to merge again into a changed buffer


def _module_for_file(path: Path) -> tuple[str, Path]:
    """Dotted name and import root of a file, climbing through packages (directories with __init__.py)."""
    path = path.resolve()
    parts = [] if path.name == "__init__.py" else [path.stem]
    directory = path.parent
    while (directory / "__init__.py").exists():
        parts.insert(0, directory.name)
        directory = directory.parent
    return ".".join(parts), directory


def _find_module_file(dotted: str) -> tuple[Path, Path] | None:
    """Source file and sys.path entry of a dotted module, found on sys.path without importing anything."""
    parts = dotted.split(".")
    for entry in [os.getcwd(), *sys.path]:
        base = Path(entry or os.getcwd())
        for candidate in (base.joinpath(*parts).with_suffix(".py"), base.joinpath(*parts, "__init__.py")):
            if candidate.is_file():
                return candidate, base
    return None


def resolve_target(target: str) -> Target:
    """`path/to/mod.py`, `pkg.mod`, either with `::NAME` (function, class or Class.method)."""
    spec, _, symbol = target.partition("::")
    path = Path(spec)
    if spec.endswith(".py") or path.is_file() or os.sep in spec:
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {spec}")
        module, root = _module_for_file(path)
        return Target(path.resolve(), module, root, symbol or None, True)
    found = _find_module_file(spec)
    if found is None:
        raise ModuleNotFoundError(f"no module named {spec!r} on the Python path (give a file path instead?)")
    file, root = found
    return Target(file.resolve(), spec, root.resolve(), symbol or None, False)


def default_tests_dir(path: Path, root: Path | None = None) -> Path:
    """The project's tests/ folder: next to the nearest pyproject.toml / setup.py / .git above `path`; else
    in `root` (the editor's workspace folder), else in the working directory (the command line's)."""
    for directory in [path.resolve().parent, *path.resolve().parents]:
        if any((directory / marker).exists() for marker in _PROJECT_MARKERS):
            return directory / "tests"
    return (root or Path.cwd()) / "tests"


def _alias(short: str) -> str:
    alias = short if short.isidentifier() else "target"
    if keyword.iskeyword(alias) or alias in _RESERVED or alias.startswith("test"):
        alias = f"{alias}_module"
    return alias


def _shadowed(target: Target) -> bool:
    """Does the package's __init__.py bind the submodule's own name (so `from pkg import mod` is not the module)?"""
    if "." not in target.module or target.path.name == "__init__.py":
        return False
    init = target.path.parent / "__init__.py"
    try:
        tree = ast.parse(init.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return False
    name = target.short
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            return True  # `from .x import *` may bind it: importlib is right either way
        if isinstance(node, ast.ImportFrom) and any((a.asname or a.name) == name for a in node.names):
            # `from .mod import mod` binds the function; `from . import mod` binds the module itself.
            return not (node.module is None and node.level == 1)
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return True
    return False


def _target_import(target: Target, tests_dir: Path, alias: str, python: str | None) -> TargetImport:
    # A dotted name was found on sys.path, and an installed module imports as is; a file given by path gets
    # its directory put on sys.path by the test file itself (relative to the test file, so the repo can move).
    shadowed = _shadowed(target)
    if not target.given_as_path or target.import_root.name in {"site-packages", "dist-packages"}:
        return TargetImport(target.module, alias, shadowed=shadowed)
    relative = os.path.relpath(target.import_root, tests_dir.resolve())
    expression = "Path(__file__).resolve().parent" + ("" if relative == "." else f" / {relative!r}")
    return TargetImport(target.module, alias, expression, shadowed)


def _variants(module: ModuleInfo, alias: str, symbol: str | None, model_types: dict) -> tuple[list[list[TestSpec]], list, set[str]]:
    wide, skipped, imports = build_specs(module, alias, symbol, model_types=model_types)
    narrow, _, narrow_imports = build_specs(module, alias, symbol, narrow=True, model_types=model_types)
    attempts = [narrow]
    if model_types:
        attempts.append(build_specs(module, alias, symbol, narrow=True)[0])
    attempts.append(build_specs(module, alias, symbol, narrow=True, required_only=True)[0])
    by_name = [{s.name: s for s in specs} for specs in attempts]
    groups = []
    for spec in wide:
        group = [spec]
        for variants in by_name:
            other = variants.get(spec.name)
            if other is not None and (other.given, other.examples) != (group[-1].given, group[-1].examples):
                group.append(other)
        if spec.kind in HEURISTIC_KINDS and spec.examples:
            # The guessed property, kept only on the inputs where it holds: its explicit examples.
            group.append(replace(group[-1], explicit=True, given=group[-1].given, examples=spec.examples))
        elif spec.kind == "no_exception" and spec.examples and len(group) > 1:
            # Last resort when every strategy fails: the call on its boundary examples only.
            group.append(replace(spec, explicit=True))
        groups.append(group)
    return groups, skipped, imports | narrow_imports


def _notes(verdicts: list[Verdict]) -> dict[str, list[str]]:
    notes = {}
    for verdict in verdicts:
        if verdict.status == "bug":
            lines = [f"LIKELY BUG found by fireside testgen: {verdict.reason}."]
            if verdict.falsifying:
                lines += [line.rstrip() for line in verdict.falsifying.splitlines()]
            notes[verdict.spec.name] = lines
    return notes


def _combine(specs: list[TestSpec], covered: dict[str, frozenset]) -> list[tuple[TestSpec, frozenset]]:
    """The rounds' one-input tests of a function, as one test per argument list with all their examples, each
    with the branches its inputs took."""
    combined: dict[tuple[str, tuple[str, ...]], tuple[TestSpec, frozenset]] = {}
    others = []
    for spec in specs:
        arcs = covered.get(spec.name, frozenset())
        if not (spec.explicit and spec.kind == "no_exception" and len(spec.examples) == 1):
            others.append((spec, arcs))
            continue
        key = (spec.qualname, tuple(name for name, _ in spec.given))
        if key in combined:
            first, so_far = combined[key]
            first.examples.append(spec.examples[0])
            first.example_notes.extend(spec.example_notes)
            combined[key] = (first, so_far | arcs)
        else:
            combined[key] = (replace(spec, examples=list(spec.examples), example_notes=list(spec.example_notes),
                                     comment="inputs that reach branches the generated ones missed (coverage rounds)"), arcs)
    return list(combined.values()) + others


def _branches_in_scope(module: ModuleInfo, symbol: str | None):  # noqa: ANN202 - BranchMap | None
    """The module's branches; for one function, class or method, only those inside it."""
    branches = branch_map(module.source)
    if branches is None or symbol is None:
        return branches
    functions, classes = functions_in_scope(module, symbol)
    spans = [(f.lineno, f.end_lineno) for f in functions] + [(c.lineno, c.end_lineno) for c in classes]
    return branches.within(spans)


def _coverage_rounds(
    target: Target, module: ModuleInfo, report: Report, alias: str, used: set[str], options: Options,
    render: Callable[[list[TestSpec]], str], tell: Progress, started: float,
) -> list[tuple[TestSpec, frozenset]]:
    """Run the coverage rounds after verification; the tests they add (already verified), with what each covers."""
    branches = _branches_in_scope(module, target.symbol)
    if branches is None:
        report.notes.append("branch coverage not measured: coverage.py cannot parse the module here")
        return []
    counted = [v for v in report.verdicts if v.status in {"kept", "bug"}]
    executed = frozenset().union(*(v.arcs for v in counted))
    report.branch_before = branches.percent(executed)
    # The rounds go after the branches no test reaches every time: one reached in only one of the two runs
    # (verification, run again) gets an input that reaches it on purpose, as an @example, like a missed one.
    steady = frozenset().union(*(v.steady_arcs if v.steady_arcs is not None else v.arcs for v in counted))
    report.branches = len(branches.branches)
    if options.rounds <= 0 or any(n.startswith("coverage not measured") for n in report.notes):
        report.branch_after = report.branch_before
        return []
    scope = None
    if target.symbol is not None:
        functions, classes = functions_in_scope(module, target.symbol)
        scope = functions + [c.init for c in classes if c.init is not None]
    else:
        scope = [f for f in every_function(module)]

    def run(specs: list[TestSpec]):  # noqa: ANN202
        return run_candidates(
            render(specs), [s.name for s in specs], python=options.python, pythonpath=[str(target.import_root)],
            limit=min(options.limit, ROUND_TEST_SECONDS), coverage_of=target.path, cancel=options.cancel,
            max_examples=ROUND_EXAMPLES,
        )

    # Fuzz tests kept with fewer parameters drawn than the function takes (the retry that leaves optional
    # parameters at their defaults, or none kept at all): the rounds try the others one by one.
    drawn: dict[str, set[str]] = {}
    failed: dict[str, list[dict[str, str]]] = {}
    for verdict in report.verdicts:
        if verdict.spec.kind == "no_exception" and verdict.spec.name.endswith("_fuzz"):
            names = {name for name, _ in verdict.spec.given if name != "instance"}
            drawn[verdict.spec.qualname] = names if verdict.status in {"kept", "bug"} else set()
        if verdict.spec.kind == "no_exception":
            for note in (verdict.falsifying, *verdict.failures):
                if inputs := falsifying_inputs(note):
                    failed.setdefault(verdict.spec.qualname, []).append(inputs)
    result = run_rounds(
        module, SpecFactory(module, alias, used), branches, steady, run, target_file=target.path,
        budget=Budget(options.rounds, options.time_budget), started=started, generator=options.generator,
        scope=scope, progress=lambda number, _: tell("coverage round", 1, options.rounds), cancel=options.cancel,
        drawn=drawn, failed=failed,
    )
    report.rounds = result.log
    report.model_log.extend(result.model_log)
    report.round_dropped = result.dropped
    report.branch_after = branches.percent(result.arcs)
    return _combine(result.specs, result.covered)


def _confirm(
    target: Target, module: ModuleInfo, report: Report, options: Options, render: Callable[[list[TestSpec]], str],
    tell: Progress, *, groups: list[list[TestSpec]] | None = None, only: set[str] | None = None,
) -> None:
    """Run the kept tests once more, as they will be written: new random inputs catch a test that passed by
    luck. It is then reported (with evidence), or replaced by its next variant (`groups`: the variants
    verification tried, in order), or dropped. `only`: just these tests (by name)."""
    kept = [index for index, verdict in enumerate(report.verdicts)
            if verdict.status == "kept" and (only is None or verdict.spec.name in only)]
    if not kept:
        return
    tell("confirmed", 0, len(kept))
    specs = [report.verdicts[index].spec for index in kept]
    result = run_candidates(
        render(specs), [s.name for s in specs], python=options.python, pythonpath=[str(target.import_root)],
        limit=options.limit * 2, coverage_of=target.path, cancel=options.cancel, max_examples=CONFIRM_EXAMPLES,
    )
    retry: dict[int, list[TestSpec]] = {}
    variants = {group[0].name: group for group in groups or []}
    for index in kept:
        verdict = report.verdicts[index]
        outcome = result.outcomes.get(verdict.spec.name)
        if outcome is None:
            continue
        kind, reason = classify(outcome, verdict.spec, target.path)
        rest = variants.get(verdict.spec.name, [])[verdict.attempts:]
        if kind == "pass":
            again = outcome.arcs or frozenset()
            report.verdicts[index] = replace(verdict, arcs=verdict.arcs | again, steady_arcs=verdict.arcs & again)
        elif kind == "bug":
            report.verdicts[index] = Verdict(verdict.spec, "bug", reason, outcome.falsifying, verdict.attempts + 1,
                                             outcome.arcs or frozenset())
        elif rest:
            retry[index] = rest
            if outcome.falsifying:
                report.verdicts[index] = replace(verdict, failures=(*verdict.failures, outcome.falsifying))
        else:
            report.verdicts[index] = Verdict(verdict.spec, "dropped", f"failed when run again: {reason}",
                                             outcome.falsifying, verdict.attempts + 1)
    if retry:  # the narrower variants, verified as before
        verdicts, _ = verify(
            list(retry.values()), render, target_file=target.path, python=options.python,
            pythonpath=[str(target.import_root)], limit=options.limit, coverage_of=target.path, cancel=options.cancel,
        )
        for (index, _), verdict in zip(retry.items(), verdicts, strict=True):
            earlier = report.verdicts[index]
            reason = verdict.reason if verdict.status != "kept" else "passed once narrowed (the first variant failed when run again)"
            report.verdicts[index] = replace(verdict, attempts=earlier.attempts + verdict.attempts, reason=reason,
                                             failures=(*earlier.failures, *verdict.failures))
    tell("confirmed", len(kept), len(kept))


def _final_coverage(target: Target, module: ModuleInfo, report: Report) -> None:
    """What the tests to be written cover, from the arcs their runs executed; what no test reaches."""
    branches = _branches_in_scope(module, target.symbol)
    if branches is not None and not any(n.startswith("coverage not measured") for n in report.notes):
        executed = frozenset().union(*(v.arcs for v in report.verdicts if v.status in {"kept", "bug"}))
        report.branch_after = branches.percent(executed)
        report.missed = {gap.function.qualname: gap.lines for gap in gaps(module, branches, executed)}


def _build(
    target: Target, source: str | ModuleInfo, tests_dir: Path, options: Options, progress: Progress | None
) -> tuple[RenderedFile | None, Report, TargetImport]:
    """`source` is the module's text, or its analysis when the caller already has one."""
    started = time.monotonic()
    tell = progress or (lambda stage, advance, total: None)
    module = source if isinstance(source, ModuleInfo) else analyse_source(source, target.module, target.path)
    report = Report(target=f"{target.module}{'::' + target.symbol if target.symbol else ''}", module=target.module)
    report.not_run_reason = None if options.run else options.not_run_reason
    functions, classes = functions_in_scope(module, target.symbol)
    report.functions = len(functions) + len(classes)
    tell("analysed", report.functions, report.functions)
    alias = _alias(target.short)
    model_types: dict[str, dict[str, str]] = {}
    if options.generator is not None:
        # Type questions may take a third of the module's budget: verification and the rounds need the rest.
        model_types, report.model_log = suggest_types(options.generator, module, functions + [c.init for c in classes if c.init],
                                                      deadline=started + options.time_budget / 3)
    groups, report.skipped, extra_imports = _variants(module, alias, target.symbol, model_types)
    target_import = _target_import(target, tests_dir, alias, options.python)
    report.generated = len(groups)
    tell("generated", len(groups), len(groups))
    docstring = f"Property-based tests for {target.module}, written by `fireside testgen`; review them like any code."

    candidate_import = TargetImport(target.module, alias, shadowed=target_import.shadowed)

    def candidates(specs: list[TestSpec]) -> str:
        return render_file(specs, candidate_import, extra_imports=extra_imports).text

    added: list[TestSpec] = []
    if options.run and groups:
        note = isolation().note
        if note:
            report.notes.append(note)
        tell("verified", 0, len(groups))
        verdicts, import_error = verify(
            groups, candidates, target_file=target.path, python=options.python,
            pythonpath=[str(target.import_root)], limit=options.limit,
            progress=lambda n: tell("verified", n, None), coverage_of=target.path, cancel=options.cancel,
            notes=report.notes,
        )
        report.verified = True
        if import_error:
            report.import_error = import_error
            report.seconds = time.monotonic() - started
            return None, report, target_import
        report.verdicts = verdicts
        # Run again before the rounds measure what is missed: a test that passed by luck would hide branches.
        _confirm(target, module, report, options, candidates, tell, groups=groups)
        used = {spec.name for group in groups for spec in group}
        added = _coverage_rounds(target, module, report, alias, used, options, candidates, tell, started)
        report.verdicts = report.verdicts + [Verdict(spec, "kept", "added by a coverage round", arcs=arcs) for spec, arcs in added]
        # The rounds' tests that draw inputs (an explicit example runs the same every time).
        _confirm(target, module, report, options, candidates, tell, only={s.name for s, _ in added if not s.explicit})
        _final_coverage(target, module, report)
        specs = [v.spec for v in report.verdicts if v.status in {"kept", "bug"}]
    else:
        report.verdicts = [Verdict(group[0], "kept", "not run") for group in groups]
        specs = [group[0] for group in groups]
        if options.not_run_reason:
            docstring += f"\n\nNOT VERIFIED: these tests were not run ({options.not_run_reason})."
    rendered = render_file(
        specs, target_import, style=options.style, extra_imports=extra_imports, notes=_notes(report.verdicts),
        docstring=docstring,
    )
    report.seconds = time.monotonic() - started
    return rendered, report, target_import


def _check(
    text: str, target: Target, target_import: TargetImport, options: Options, report: Report, *, collect: bool = True
) -> None:
    """Import-check the final text: compile always, `pytest --collect-only` (in the sandbox) when running is
    allowed and `collect` (False when the text holds an editor buffer that differs from the file on disk)."""
    try:
        compile(text, "generated", "exec")
    except SyntaxError as error:  # a bug in the renderer: say so loudly rather than write it
        raise RuntimeError(f"fireside testgen rendered invalid Python: {error}") from error
    if not options.run or not collect:
        return
    if target_import.path_expr:
        text = text.replace(f"sys.path.insert(0, str({target_import.path_expr}))", f"sys.path.insert(0, {str(target.import_root)!r})")
    report.collect_ok, report.collect_output = collect_check(
        text, python=options.python, pythonpath=[str(target.import_root)], cancel=options.cancel
    )


def _merge_and_check(
    path: Path,
    existing: str | None,
    rendered: RenderedFile,
    target: Target,
    target_import: TargetImport,
    options: Options,
    report: Report,
    *,
    collect: bool = True,
) -> MergeResult:
    """The one end of planning, for the CLI and the editor alike: the new tests merged into the test file's
    text (``existing``), checked, and written beside it instead when the merge breaks collection (a clash
    with what was there: the user's file stays as it was). The report says where they went."""
    result = merge(path, existing, rendered)
    _check(result.text, target, target_import, options, report, collect=collect)
    if report.collect_ok is False and result.action == "merge":
        from fireside.testgen.merge import beside_path

        result = replace(result, path=beside_path(path), text=rendered.text, action="beside",
                         message=f"merging into {path} broke collection; wrote the tests beside it")
        _check(result.text, target, target_import, options, report, collect=collect)
    report.output, report.action, report.message = result.path, result.action, result.message
    return result


def generate_tests(
    target: Target,
    *,
    tests_dir: Path | None = None,
    options: Options | None = None,
    progress: Progress | None = None,
    write: bool = True,
) -> tuple[str | None, Report, MergeResult | None]:
    """Generate, verify and (unless `write` is False) write the tests. Returns the text, report and merge."""
    options = options or Options()
    tests_dir = tests_dir or default_tests_dir(target.path)
    source = target.path.read_text(encoding="utf-8")
    path = tests_dir / f"test_{target.short}.py"
    # Read before the (long) generation: a change made to the file meanwhile makes the write refuse.
    existing = path.read_text(encoding="utf-8") if write and path.exists() else None
    rendered, report, target_import = _build(target, source, tests_dir, options, progress)
    if rendered is None:
        return None, report, None
    if not write:
        _check(rendered.text, target, target_import, options, report)
        return rendered.text, report, None
    result = _merge_and_check(path, existing, rendered, target, target_import, options, report)
    if result.action != "unchanged":
        # Atomic, and refused when the file changed since it was read (`existing`): nothing is lost.
        before = existing if result.path == path else None
        write_atomically(result.path, result.text, before)
    return result.text, report, result


def _saved_copy_differs(path: Path, text: str) -> str | None:
    """Why the file on disk is not `text` (None when it is)."""
    try:
        saved = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return "the file is not saved yet"
    except (OSError, UnicodeDecodeError) as error:
        return f"the saved file cannot be read ({error})"
    return None if saved == text else "the buffer has unsaved changes"


def run_refusal(source_path: Path, source_text: str, workspace_root: Path | None) -> str | None:
    """Why tests for this buffer must not be run, or None: they run only against code saved on disk inside
    the workspace, when the buffer is exactly the saved file (else the buffer's code, never seen by the
    user on disk, would run)."""
    if workspace_root is None:
        return "no workspace folder is open"
    try:
        resolved = source_path.resolve()
        root = workspace_root.resolve()
    except OSError as error:
        return f"the file's location cannot be resolved ({error})"
    if not resolved.is_relative_to(root):
        return f"the file is outside the workspace ({root})"
    return _saved_copy_differs(resolved, source_text)


def plan_tests_for_symbol(
    source_path: Path | str,
    source_text: str,
    line: int,
    tests_dir: Path | str | None = None,
    progress_callback: Progress | None = None,
    *,
    options: Options | None = None,
    workspace_root: Path | str | None = None,
    check_workspace: bool = False,
    open_test_text: str | None = None,
) -> TestFilePlan:
    """The test file for the function or class at 0-based `line` of an editor buffer, without writing it.

    The buffer's text is analysed; the tests run (against the module on disk) only when the buffer equals
    the saved file and, with `check_workspace`, the file is inside `workspace_root`; otherwise they are
    written unverified, and the summary says why. `open_test_text` is the editor's buffer of the test file,
    when it is open: the new tests are merged into it, not into the file on disk.
    """
    source_path = Path(source_path)
    options = replace(options) if options is not None else Options()
    refusal = (run_refusal(source_path, source_text, Path(workspace_root) if workspace_root else None)
               if check_workspace else _saved_copy_differs(source_path, source_text))
    if refusal is not None and options.run:
        options.run, options.not_run_reason = False, f"{refusal}; save the file and ask again to verify them"
    module_name, root = _module_for_file(source_path)
    module = analyse_source(source_text, module_name, source_path)
    symbol = module.symbol_at(line + 1)
    if symbol is None:
        raise LookupError(f"no function or class at line {line + 1} of {source_path}")
    name = symbol.name if isinstance(symbol, ClassInfo) else symbol.qualname
    target = Target(source_path.resolve(), module_name, root, name, True)
    tests = Path(tests_dir) if tests_dir else default_tests_dir(source_path)
    rendered, report, target_import = _build(target, module, tests, options, progress_callback)
    path = tests / f"test_{target.short}.py"
    on_disk = path.read_text(encoding="utf-8") if path.exists() else None
    existing = open_test_text if open_test_text is not None else on_disk
    if rendered is None:
        return TestFilePlan(path, existing or "", existing is not None, existing, report.summary(), report)
    # An open test buffer that differs from its file is the editor's text, not the user's saved code: it
    # is compiled, never run.
    result = _merge_and_check(path, existing, rendered, target, target_import, options, report, collect=existing == on_disk)
    if result.path == path:
        existed, old = existing is not None, existing
    else:  # written beside the existing file
        existed = result.path.exists()
        old = result.path.read_text(encoding="utf-8") if existed else None
    return TestFilePlan(result.path, result.text, existed, old, report.summary(), report, rendered)


def test_file_for(source_path: Path | str, tests_dir: Path | str | None = None) -> Path:
    """Where `plan_tests_for_symbol` puts the tests of `source_path` (before any writing beside it)."""
    module_name, _ = _module_for_file(Path(source_path))
    tests = Path(tests_dir) if tests_dir else default_tests_dir(Path(source_path))
    return tests / f"test_{module_name.rsplit('.', 1)[-1]}.py"


def merge_into(plan: TestFilePlan, path: Path, text: str) -> TestFilePlan:
    """The plan merged again, into `text`: the buffer of the test file `path` changed while the tests were
    generated (the new text is compiled, never run)."""
    if plan.rendered is None:
        return plan
    result = merge(path, text, plan.rendered)
    if result.action == "beside":
        existed = result.path.exists()
        old = result.path.read_text(encoding="utf-8") if existed else None
    else:
        existed, old = True, text
        compile(result.text, str(path), "exec")
    return replace(plan, path=result.path, new_text=result.text, existed=existed, old_text=old)

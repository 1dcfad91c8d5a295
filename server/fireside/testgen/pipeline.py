"""From a target to a test file: resolve, analyse, plan, (ask the model,) verify, render, merge.

`generate_tests` serves the CLI; `plan_tests_for_symbol` serves the editor's code action (it writes nothing:
the LSP handler turns the returned plan into a WorkspaceEdit).
"""

from __future__ import annotations

import ast
import keyword
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from fireside.testgen.analysis import ClassInfo, ModuleInfo, analyse_source
from fireside.testgen.merge import MergeResult, merge
from fireside.testgen.model import TextGenerator, suggest_types
from fireside.testgen.properties import TestSpec, build_specs, functions_in_scope
from fireside.testgen.render import RenderedFile, TargetImport, render_file
from fireside.testgen.report import Report
from fireside.testgen.verify import Verdict, collect_check, verify

__all__ = ["Options", "Target", "TestFilePlan", "default_tests_dir", "generate_tests", "plan_tests_for_symbol", "resolve_target"]

# progress(stage, advance, total): stage is "analysed", "generated" or "verified"; total is set once per stage.
Progress = Callable[[str, int, "int | None"], None]
_RESERVED = {"st", "pytest", "given", "example", "assume", "unittest", "sys", "Path", "instance", "result"}
_PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")


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


@dataclass
class TestFilePlan:
    """What the editor should do: create `path` or replace its `old_text` by `new_text`."""

    path: Path
    new_text: str
    existed: bool
    old_text: str | None
    summary: str
    report: Report = field(repr=False, default=None)  # type: ignore[assignment]


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


def _build(
    target: Target, source: str | ModuleInfo, tests_dir: Path, options: Options, progress: Progress | None
) -> tuple[RenderedFile | None, Report, TargetImport]:
    """`source` is the module's text, or its analysis when the caller already has one."""
    started = time.monotonic()
    tell = progress or (lambda stage, advance, total: None)
    module = source if isinstance(source, ModuleInfo) else analyse_source(source, target.module, target.path)
    report = Report(target=f"{target.module}{'::' + target.symbol if target.symbol else ''}", module=target.module)
    functions, classes = functions_in_scope(module, target.symbol)
    report.functions = len(functions) + len(classes)
    tell("analysed", report.functions, report.functions)
    alias = _alias(target.short)
    model_types: dict[str, dict[str, str]] = {}
    if options.generator is not None:
        model_types, report.model_log = suggest_types(options.generator, module, functions + [c.init for c in classes if c.init])
    groups, report.skipped, extra_imports = _variants(module, alias, target.symbol, model_types)
    target_import = _target_import(target, tests_dir, alias, options.python)
    report.generated = len(groups)
    tell("generated", len(groups), len(groups))
    docstring = f"Property-based tests for {target.module}, written by `fireside testgen`; review them like any code."

    candidate_import = TargetImport(target.module, alias, shadowed=target_import.shadowed)

    def candidates(specs: list[TestSpec]) -> str:
        return render_file(specs, candidate_import, extra_imports=extra_imports).text

    if options.run and groups:
        tell("verified", 0, len(groups))
        verdicts, import_error = verify(
            groups, candidates, target_file=target.path, python=options.python,
            pythonpath=[str(target.import_root)], limit=options.limit,
            progress=lambda n: tell("verified", n, None),
        )
        report.verified = True
        if import_error:
            report.import_error = import_error
            report.seconds = time.monotonic() - started
            return None, report, target_import
        report.verdicts = verdicts
        specs = [v.spec for v in verdicts if v.status in {"kept", "bug"}]
    else:
        report.verdicts = [Verdict(group[0], "kept", "not run") for group in groups]
        specs = [group[0] for group in groups]
    rendered = render_file(
        specs, target_import, style=options.style, extra_imports=extra_imports, notes=_notes(report.verdicts),
        docstring=docstring,
    )
    report.seconds = time.monotonic() - started
    return rendered, report, target_import


def _check(text: str, target: Target, target_import: TargetImport, options: Options, report: Report) -> None:
    """Import-check the final text: compile always, `pytest --collect-only` when running is allowed."""
    try:
        compile(text, "generated", "exec")
    except SyntaxError as error:  # a bug in the renderer: say so loudly rather than write it
        raise RuntimeError(f"fireside testgen rendered invalid Python: {error}") from error
    if not options.run:
        return
    if target_import.path_expr:
        text = text.replace(f"sys.path.insert(0, str({target_import.path_expr}))", f"sys.path.insert(0, {str(target.import_root)!r})")
    report.collect_ok, report.collect_output = collect_check(text, python=options.python, pythonpath=[str(target.import_root)])


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
    rendered, report, target_import = _build(target, source, tests_dir, options, progress)
    if rendered is None:
        return None, report, None
    if not write:
        _check(rendered.text, target, target_import, options, report)
        return rendered.text, report, None
    path = tests_dir / f"test_{target.short}.py"
    existing = path.read_text(encoding="utf-8") if path.exists() else None
    result = merge(path, existing, rendered)
    _check(result.text, target, target_import, options, report)
    if report.collect_ok is False and result.action == "merge":
        # The merged file does not collect (a clash with what was there): keep the old file intact.
        from fireside.testgen.merge import beside_path

        result = replace(result, path=beside_path(path), text=rendered.text, action="beside",
                         message=f"merging into {path} broke collection; wrote the tests beside it")
        _check(result.text, target, target_import, options, report)
    if result.action != "unchanged":
        result.path.parent.mkdir(parents=True, exist_ok=True)
        result.path.write_text(result.text, encoding="utf-8")
    report.output, report.action, report.message = result.path, result.action, result.message
    return result.text, report, result


def plan_tests_for_symbol(
    source_path: Path | str,
    source_text: str,
    line: int,
    tests_dir: Path | str | None = None,
    progress_callback: Progress | None = None,
    *,
    options: Options | None = None,
) -> TestFilePlan:
    """The test file for the function or class at 0-based `line` of an editor buffer, without writing it.

    The buffer's text is analysed; verification imports the module from disk, so unsaved edits are not run.
    """
    source_path = Path(source_path)
    module_name, root = _module_for_file(source_path)
    module = analyse_source(source_text, module_name, source_path)
    symbol = module.symbol_at(line + 1)
    if symbol is None:
        raise LookupError(f"no function or class at line {line + 1} of {source_path}")
    name = symbol.name if isinstance(symbol, ClassInfo) else symbol.qualname
    target = Target(source_path.resolve(), module_name, root, name, True)
    tests = Path(tests_dir) if tests_dir else default_tests_dir(source_path)
    options = options or Options()
    rendered, report, target_import = _build(target, module, tests, options, progress_callback)
    path = tests / f"test_{target.short}.py"
    existing = path.read_text(encoding="utf-8") if path.exists() else None
    if rendered is None:
        return TestFilePlan(path, existing or "", existing is not None, existing, report.summary(), report)
    result = merge(path, existing, rendered)
    _check(result.text, target, target_import, options, report)
    report.output, report.action, report.message = result.path, result.action, result.message
    if result.path == path:
        existed, old = existing is not None, existing
    else:  # written beside the existing file
        existed = result.path.exists()
        old = result.path.read_text(encoding="utf-8") if existed else None
    return TestFilePlan(result.path, result.text, existed, old, report.summary(), report)

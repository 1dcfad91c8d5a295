"""Branch coverage of the module under test: which branches exist, which the kept tests took, which they missed.

The branches are found the way coverage.py finds them (its parser: an arc from every line with more than
one exit), so the percentages here are the ones `coverage run --branch` reports for the same tests.
The executed arcs come from the sandboxed verification run (verify.py, one coverage context per test).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from fireside.testgen.analysis import FunctionInfo, ModuleInfo

__all__ = ["BranchMap", "FunctionGap", "branch_map", "gaps"]

Arc = tuple[int, int]


@dataclass(frozen=True)
class BranchMap:
    branches: frozenset[Arc]  # every (line, destination) of a line with more than one exit
    statements: frozenset[int]
    # A line inside a statement that spans lines -> the statement's first line: the tracer reports the line it
    # ran, the branches are named by first lines (coverage.py translates the same way when it reports).
    first_lines: dict[int, int] = field(default_factory=dict, compare=False, hash=False)

    def _first(self, line: int) -> int:
        return -self.first_lines.get(-line, -line) if line < 0 else self.first_lines.get(line, line)

    def covered(self, executed: Iterable[Arc]) -> frozenset[Arc]:
        return self.branches & frozenset((self._first(a), self._first(b)) for a, b in executed)

    def within(self, spans: Iterable[tuple[int, int]]) -> BranchMap:
        """Only the branches whose line is inside one of the (first, last) line spans."""
        spans = list(spans)
        keep = frozenset(arc for arc in self.branches if any(a <= arc[0] <= b for a, b in spans))
        return BranchMap(keep, self.statements, self.first_lines)

    def percent(self, executed: Iterable[Arc]) -> float | None:
        if not self.branches:
            return None
        return 100.0 * len(self.covered(executed)) / len(self.branches)

    def missing(self, executed: Iterable[Arc]) -> frozenset[Arc]:
        return self.branches - self.covered(executed)


@dataclass
class FunctionGap:
    function: FunctionInfo
    missing: list[Arc]  # branch arcs no kept test took

    @property
    def lines(self) -> list[int]:
        """The lines to mark for the model: each missed destination (or the branch line for an exit)."""
        return sorted({dest if dest > 0 else line for line, dest in self.missing})


def branch_map(source: str) -> BranchMap | None:
    """The branches of `source`, or None when coverage.py is missing or cannot parse it."""
    try:
        from coverage.config import DEFAULT_EXCLUDE
        from coverage.exceptions import CoverageException
        from coverage.parser import PythonParser
    except ImportError:
        return None
    try:
        # `# pragma: no cover` (coverage.py's default exclusion) drops a line and its branches, as it does there.
        parser = PythonParser(text=source, exclude="|".join(f"(?:{pattern})" for pattern in DEFAULT_EXCLUDE))
        parser.parse_source()
        exits = parser.exit_counts()
        arcs = parser.arcs()
    except (CoverageException, SyntaxError, ValueError, AttributeError):
        return None
    branches = frozenset((line, dest) for line, dest in arcs if exits.get(line, 0) > 1 and line > 0)
    lines = source.count("\n") + 1
    first_lines = {n: parser.first_line(n) for n in range(1, lines + 1) if parser.first_line(n) != n}
    return BranchMap(branches, frozenset(parser.statements), first_lines)


def _innermost(functions: list[FunctionInfo], line: int) -> FunctionInfo | None:
    best = None
    for function in functions:
        if function.node.lineno <= line <= function.end_lineno:
            if best is None or function.node.lineno >= best.node.lineno:
                best = function
    return best


def every_function(module: ModuleInfo) -> list[FunctionInfo]:
    """Module functions and methods, private ones and constructors included (rounds may test them directly)."""
    found = list(module.all_functions())
    for cls in module.classes.values():
        found.extend(cls.private_methods)
        if cls.init is not None:
            found.append(cls.init)
    return sorted(found, key=lambda f: f.node.lineno)


def gaps(module: ModuleInfo, branches: BranchMap, executed: Iterable[Arc]) -> list[FunctionGap]:
    """Per function (innermost def around the branch line), the branch arcs not executed, most missed first."""
    missing = sorted(branches.missing(executed))
    functions = every_function(module)
    by_function: dict[int, FunctionGap] = {}
    for arc in missing:
        function = _innermost(functions, arc[0])
        if function is None:
            continue  # module-level code: runs on import, nothing a test can choose
        by_function.setdefault(id(function.node), FunctionGap(function, [])).missing.append(arc)
    return sorted(by_function.values(), key=lambda gap: (-len(gap.missing), gap.function.node.lineno))

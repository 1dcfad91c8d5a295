"""Quick fixes for a diagnostic the client sends (from any linter or the interpreter).

Deterministic first, the model last:

- an undefined name that is a standard-library module, a well-known standard-library name or a definition
  in the workspace gets an import (``import os``, ``from pathlib import Path``, ``from pkg.mod import name``);
- an undefined name that is a near-miss of a name in scope (a parameter, a local, a module name, a builtin)
  is renamed to it;
- a syntax error from a missing ``:`` or an unclosed bracket is closed;
- anything else: the model rewrites the offending line, shown the enclosing code and the error.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import keyword
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fireside.actions.model import TextModel
from fireside.actions.source import Source, docstring_node, function_at, own_nodes, parses
from fireside.actions.text import retry_note
from fireside.actions.validate import Check, Edit, EditRejected, Outcome, checked_edit, compile_error, validate

LINE_TOKENS = 64
# A fix changes a line a little; a small model that "fixes" `if x = 1:` into `print(x)` wrote another program.
MIN_LINE_SIMILARITY = 0.6
_PY2_PRINT = re.compile(r"^(\s*)print\s+(?![(=])(.+?)\s*$")
_CONDITION_ASSIGN = re.compile(r"^(\s*(?:if|elif|while)\b[^=!<>:]*?[^=!<>:])=([^=])")
CONTEXT_LINES_ABOVE = 15
CONTEXT_LINES_BELOW = 3

_UNDEFINED = re.compile(
    r"""(?:undefined\s+name|name)\s+[`'"](?P<a>\w+)[`'"]|[`'"](?P<b>\w+)[`'"]\s+is\s+(?:not|un)\s*defined""", re.I
)
_COMPOUND = re.compile(r"^\s*(?:async\s+)?(?:def|class|if|elif|else|for|while|try|except|finally|with|match|case)\b")

# Names importable from the standard library that code uses unqualified.
STDLIB_NAMES: dict[str, str] = {
    **{name: "collections" for name in ("defaultdict", "OrderedDict", "Counter", "deque", "namedtuple", "ChainMap")},
    **{name: "dataclasses" for name in ("dataclass", "field", "asdict", "astuple", "fields")},
    **{name: "functools" for name in ("partial", "reduce", "lru_cache", "wraps", "cache", "cached_property", "total_ordering", "singledispatch")},
    **{name: "itertools" for name in ("chain", "islice", "groupby", "product", "permutations", "combinations", "zip_longest", "accumulate", "starmap", "takewhile", "dropwhile")},
    **{name: "datetime" for name in ("timedelta", "timezone")},
    **{name: "enum" for name in ("Enum", "IntEnum", "Flag", "auto")},
    **{name: "abc" for name in ("ABC", "abstractmethod")},
    **{name: "contextlib" for name in ("contextmanager", "suppress", "ExitStack", "nullcontext")},
    "Path": "pathlib", "Decimal": "decimal", "Fraction": "fractions", "deepcopy": "copy", "dedent": "textwrap",
    "pprint": "pprint", "sleep": "time", "perf_counter": "time", "uuid4": "uuid", "sqrt": "math",
    **{name: "typing" for name in (
        "Any", "Callable", "ClassVar", "Dict", "Final", "FrozenSet", "Generator", "Generic", "Iterable", "Iterator",
        "List", "Literal", "Mapping", "NamedTuple", "Optional", "Protocol", "Sequence", "Set", "Tuple", "Type",
        "TypeVar", "TypedDict", "Union", "cast", "overload", "TYPE_CHECKING", "NoReturn", "Self",
    )},
}


@dataclass(frozen=True)
class Diagnostic:
    message: str
    start: int  # code-point offsets of the diagnostic's range
    end: int
    line: int  # 0-based line of the range's start


def undefined_name(message: str) -> str | None:
    match = _UNDEFINED.search(message)
    return (match.group("a") or match.group("b")) if match else None


def fix_title(diagnostic: Diagnostic) -> str:
    name = undefined_name(diagnostic.message)
    if name:
        return f"Fireside: define or import `{name}`"
    short = diagnostic.message.strip().splitlines()[0][:60] if diagnostic.message.strip() else "this problem"
    return f"Fireside: fix “{short}”"


def import_for(name: str, workspace_modules: Mapping[str, str]) -> str | None:
    """The import statement that defines ``name``, when it is known without guessing."""
    if name in STDLIB_NAMES:
        return f"from {STDLIB_NAMES[name]} import {name}"
    if name in sys.stdlib_module_names and not name.startswith("_"):
        return f"import {name}"
    if name in workspace_modules:
        return f"from {workspace_modules[name]} import {name}"
    return None


def _import_position(source: Source) -> tuple[int, bool]:
    """Where a new import goes: after the last top-level import of the file's leading import block, else
    after the module docstring, else at the top; and whether it follows the docstring alone."""
    last: ast.stmt | None = None
    after_docstring = False
    for index, statement in enumerate(source.tree.body):
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            last, after_docstring = statement, False
        elif index == 0 and docstring_node(source.tree) is not None:
            last, after_docstring = statement, True
        else:
            break
    if last is None:
        return 0, False
    following = (last.end_lineno or last.lineno) + 1
    position = source.line_start(following) if following <= len(source.line_starts) else len(source.text)
    return position, after_docstring


def import_edit(text: str, statement: str) -> tuple[Edit, Check]:
    source = Source(text)
    position, after_docstring = _import_position(source)
    insertion = statement + "\n"
    if position == len(text) and text and not text.endswith("\n"):
        insertion = "\n" + insertion
    elif after_docstring:
        insertion = "\n" + insertion  # a blank line between the module docstring and the imports
    # The minimal form of an insertion may slide by up to its own length over equal text next to it.
    claimed = (max(0, position - len(insertion)), min(len(text), position + len(insertion)))
    return Edit(position, position, insertion), Check(claimed=claimed)


def names_in_scope(source: Source, line: int) -> set[str]:
    names = {name for name in dir(builtins) if not name.startswith("_")}
    for statement in source.tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(statement.name)
    for node in ast.walk(source.tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.col_offset == 0:
            names.add(node.id)
    found = function_at(source, line)
    if found is not None:
        function = found[0]
        args = function.args
        names.update(a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg] if a)
        for node in own_nodes(function):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return names


def _rename_edit(source: Source, diagnostic: Diagnostic, name: str, scope: set[str]) -> Edit | None:
    matches = difflib.get_close_matches(name, sorted(scope - {name}), n=1, cutoff=0.75)
    if not matches:
        return None
    line_start = source.line_start(diagnostic.line + 1)
    line = source.line_text(diagnostic.line + 1)
    for match in re.finditer(rf"\b{re.escape(name)}\b", line):
        start = line_start + match.start()
        if diagnostic.start <= start + len(name) and start <= max(diagnostic.end, diagnostic.start):
            return Edit(start, start + len(name), matches[0])
    match = re.search(rf"\b{re.escape(name)}\b", line)
    return Edit(line_start + match.start(), line_start + match.end(), matches[0]) if match else None


def module_name(path: Path, root: Path) -> str | None:
    """The dotted module a workspace file is imported as (``src/`` layouts and packages handled)."""
    try:
        parts = list(path.with_suffix("").relative_to(root).parts)
    except ValueError:
        return None
    if len(parts) > 1 and parts[0] in ("src", "lib"):
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(part.isidentifier() for part in parts):
        return None
    return ".".join(parts)


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _line_span(text: str, line: int) -> tuple[int, int]:
    lines = _lines(text)
    start = sum(len(item) + 1 for item in lines[:line])
    return start, start + len(lines[line])


def syntax_candidates(text: str, line: int) -> list[Edit]:
    """Deterministic repairs around ``line`` (0-based): a missing block colon, unclosed brackets, ``=`` for
    ``==`` in a condition, Python 2's print statement, a misspelt keyword."""
    lines = _lines(text)
    candidates: list[Edit] = []
    for index in (line, line - 1):
        if not 0 <= index < len(lines):
            continue
        start, end = _line_span(text, index)
        content = lines[index]
        code = content.split("#", 1)[0].rstrip()
        if _COMPOUND.match(code) and not code.endswith(":"):
            cut = start + len(code)
            candidates.append(Edit(cut, cut, ":"))
        opened = []
        pairs = {"(": ")", "[": "]", "{": "}"}
        for char in code:
            if char in pairs:
                opened.append(pairs[char])
            elif char in pairs.values() and opened and opened[-1] == char:
                opened.pop()
        if opened:
            cut = start + len(code.rstrip(":"))
            candidates.append(Edit(cut, cut, "".join(reversed(opened))))
        if match := _CONDITION_ASSIGN.match(code):  # `if x = 1:` meant a comparison
            at = start + len(match.group(1))
            candidates.append(Edit(at, at + 1, "=="))
        words = code.split()
        if words and words[0].isidentifier() and not keyword.iskeyword(words[0]):
            near = difflib.get_close_matches(words[0], keyword.kwlist, n=1, cutoff=0.8)
            if near:  # `retrun x`
                at = start + len(code) - len(code.lstrip())
                candidates.append(Edit(at, at + len(words[0]), near[0]))
        if match := _PY2_PRINT.match(code):  # Python 2's print statement
            candidates.append(Edit(start + len(match.group(1)), start + len(code), f"print({match.group(2)})"))
    return candidates


def _context(text: str, line: int) -> str:
    lines = _lines(text)
    low = max(0, line - CONTEXT_LINES_ABOVE)
    high = min(len(lines), line + CONTEXT_LINES_BELOW + 1)
    return "\n".join(lines[low:high])


def _model_line_edit(
    text: str, diagnostic: Diagnostic, model: TextModel, definitions: list[str], error: str | None
) -> Edit:
    lines = _lines(text)
    old = lines[diagnostic.line]
    indent = old[: len(old) - len(old.lstrip())]
    stubs = "\n".join(definitions[:5])
    prompt = (
        "# Python. Fix the error on one line.\n"
        + (f"# Definitions in the workspace:\n{stubs}\n\n" if stubs else "")
        + f"{_context(text, diagnostic.line)}\n\n"
        + retry_note(error)
        + f"# Error: {diagnostic.message.strip().splitlines()[0][:200]}\n"
        + f"# Wrong line: {old.strip()}\n"
        # Ends at the newline, not with the indentation: a prompt ending in spaces throws off tokenizers
        # that merge them into the next word (Qwen then continued the code above instead of answering).
        + "# Corrected line:\n"
    )
    answer = model.generate(prompt, max_tokens=LINE_TOKENS, stop=["\n"])
    fixed = answer.strip()
    if fixed.startswith("#"):  # the prompt's comments invite an answer as a comment
        fixed = fixed.lstrip("#").strip()
    if not fixed:
        raise EditRejected("the model wrote no corrected line")
    if fixed == old.strip():
        raise EditRejected("the model repeated the line unchanged")
    similarity = difflib.SequenceMatcher(None, old.strip(), fixed).ratio()
    if similarity < MIN_LINE_SIMILARITY:
        raise EditRejected(f"the model rewrote the line instead of fixing it ({fixed[:60]!r})")
    name = undefined_name(diagnostic.message)
    if name and re.search(rf"\b{re.escape(name)}\b", fixed):
        raise EditRejected(f"the corrected line still uses the undefined name {name}")
    start, end = _line_span(text, diagnostic.line)
    return Edit(start, end, indent + fixed)


def quick_fix(
    text: str,
    diagnostic: Diagnostic,
    model: TextModel,
    workspace_modules: Mapping[str, str] | None = None,
    definitions: list[str] | None = None,
) -> tuple[Outcome, str]:
    """A checked fix for ``diagnostic`` and how it was found ("import", "rename", "syntax", "model")."""
    lines = _lines(text)
    if not 0 <= diagnostic.line < len(lines):
        return Outcome(None, 0, "the diagnostic lies outside the file"), ""
    source = parses(text)
    name = undefined_name(diagnostic.message)
    if source is not None and name:
        scope = names_in_scope(source, diagnostic.line)
        statement = import_for(name, workspace_modules or {}) if name not in scope else None
        if statement is not None:
            edit, check = import_edit(text, statement)
            try:
                return Outcome(validate(text, edit, check), 1), "import"
            except EditRejected:
                pass
        rename = _rename_edit(source, diagnostic, name, scope)
        if rename is not None:
            try:
                return Outcome(validate(text, rename, Check(claimed=_line_span(text, diagnostic.line))), 1), "rename"
            except EditRejected:
                pass
    broken = source is None or compile_error(text) is not None
    if broken:
        for candidate in syntax_candidates(text, diagnostic.line):
            low = _line_span(text, max(0, diagnostic.line - 1))[0]
            try:
                return Outcome(validate(text, candidate, Check(claimed=(low, _line_span(text, diagnostic.line)[1]), fixes_syntax=True)), 1), "syntax"
            except EditRejected:
                continue
    check = Check(claimed=_line_span(text, diagnostic.line), fixes_syntax=broken)
    outcome = checked_edit(text, lambda error: _model_line_edit(text, diagnostic, model, definitions or [], error), check)
    return outcome, "model"

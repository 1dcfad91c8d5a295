"""Python source as the actions read it: ast nodes with code-point offsets, the function at a line."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cached_property

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
DefinitionNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Source:
    """A module's text with its ast; converts ast's (1-based line, UTF-8 byte column) to code-point offsets."""

    text: str

    @cached_property
    def tree(self) -> ast.Module:
        return ast.parse(self.text)

    @cached_property
    def line_starts(self) -> list[int]:
        return [0, *(match.end() for match in _LINE_BREAK.finditer(self.text))]

    def line_text(self, lineno: int) -> str:
        """The 1-based line ``lineno`` without its line break."""
        starts = self.line_starts
        end = starts[lineno] if lineno < len(starts) else len(self.text)
        return _LINE_BREAK.sub("", self.text[starts[lineno - 1] : end])

    def offset(self, lineno: int, col_byte: int) -> int:
        line = self.line_text(lineno)
        return self.line_starts[lineno - 1] + len(line.encode("utf-8", "surrogatepass")[:col_byte].decode("utf-8", "replace"))

    def start_of(self, node: ast.AST) -> int:
        return self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]

    def end_of(self, node: ast.AST) -> int:
        return self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]

    def segment(self, node: ast.AST) -> str:
        return self.text[self.start_of(node) : self.end_of(node)]

    def line_start(self, lineno: int) -> int:
        return self.line_starts[lineno - 1]

    def line_end(self, lineno: int) -> int:
        return self.line_starts[lineno - 1] + len(self.line_text(lineno))

    def indent_of(self, lineno: int) -> str:
        line = self.line_text(lineno)
        return line[: len(line) - len(line.lstrip())]

    def definition_span(self, node: DefinitionNode) -> tuple[int, int]:
        """Offsets of a definition with its decorators, from its first line's start to the start of the line
        after it (an insertion at its very end belongs to it)."""
        first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
        last = node.end_lineno or node.lineno
        end = self.line_starts[last] if last < len(self.line_starts) else len(self.text)
        return self.line_start(first), end


def parses(text: str) -> Source | None:
    try:
        source = Source(text)
        source.tree  # noqa: B018 - parse now
    except (SyntaxError, ValueError):
        return None
    return source


def definitions_at(source: Source, line: int) -> list[tuple[DefinitionNode, ast.ClassDef | None]]:
    """Functions and classes whose span holds 0-based ``line``, innermost first, each with its enclosing class."""
    found: list[tuple[DefinitionNode, ast.ClassDef | None]] = []

    def visit(statements: list[ast.stmt], owner: ast.ClassDef | None) -> None:
        for statement in statements:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                first = min([statement.lineno, *(d.lineno for d in statement.decorator_list)])
                if first - 1 <= line <= (statement.end_lineno or statement.lineno) - 1:
                    found.append((statement, owner))
                    visit(statement.body, statement if isinstance(statement, ast.ClassDef) else None)
                    return
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(statement, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], (ast.stmt, ast.excepthandler)):
                    visit([s for s in inner if isinstance(s, ast.stmt)] + [
                        s for handler in inner if isinstance(handler, ast.excepthandler) for s in handler.body
                    ], owner)

    visit(source.tree.body, None)
    found.reverse()
    return found


def function_at(source: Source, line: int) -> tuple[FunctionNode, ast.ClassDef | None] | None:
    for node, owner in definitions_at(source, line):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return node, owner
    return None


def docstring_node(node: DefinitionNode | ast.Module) -> ast.Expr | None:
    if node.body and isinstance(node.body[0], ast.Expr):
        value = node.body[0].value
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return node.body[0]
    return None


def own_nodes(node: FunctionNode) -> list[ast.AST]:
    """The nodes of a function's body, not descending into nested functions, classes or lambdas."""
    found: list[ast.AST] = []
    stack: list[ast.AST] = list(node.body)
    while stack:
        current = stack.pop()
        found.append(current)
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        stack.extend(ast.iter_child_nodes(current))
    return found


def is_method(node: FunctionNode, owner: ast.ClassDef | None) -> bool:
    """A method that takes self/cls as its first parameter (not a staticmethod)."""
    if owner is None:
        return False
    return not any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list)


def explicit_params(node: FunctionNode, owner: ast.ClassDef | None) -> list[ast.arg]:
    """Parameters a caller passes (self/cls left out), in signature order, *args and **kwargs included."""
    args = node.args
    params = [*args.posonlyargs, *args.args]
    if is_method(node, owner) and params:
        params = params[1:]
    if args.vararg is not None:
        params.append(args.vararg)
    params.extend(args.kwonlyargs)
    if args.kwarg is not None:
        params.append(args.kwarg)
    return params


def stub_body(node: FunctionNode) -> bool:
    """The body is only ``...``, ``pass``, a docstring, or a docstring followed by one of those."""
    body = list(node.body)
    if docstring_node(node) is not None:
        body = body[1:]
    if len(body) > 1:
        return False
    if not body:
        return True
    statement = body[0]
    return isinstance(statement, ast.Pass) or (
        isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) and statement.value.value is Ellipsis
    )

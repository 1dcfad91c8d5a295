""""Write docstring": a skeleton built from the signature and the body, the prose from the model.

The Args/Returns/Raises sections come from the ast (parameter names, whether a value is returned or
yielded, the exceptions raised in the function's own body) in the style the file already uses (Google,
NumPy or reST; Google when the file shows none). The model writes only the one-line summary and one line
per parameter, return value and exception, each prompted as the continuation of the docstring so far.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass

from fireside.actions.model import TextModel
from fireside.actions.source import (
    DefinitionNode,
    FunctionNode,
    Source,
    definitions_at,
    docstring_node,
    explicit_params,
    own_nodes,
)
from fireside.actions.text import one_line, retry_note, sentence
from fireside.actions.validate import Check, Edit, EditRejected, Outcome, checked_edit

STYLES = ("google", "numpy", "rest")
SUMMARY_TOKENS = 32
LINE_TOKENS = 24

_NUMPY_SECTION = re.compile(r"^\s*(Parameters|Returns|Raises|Yields)\s*\n\s*-{3,}\s*$", re.MULTILINE)
_GOOGLE_SECTION = re.compile(r"^\s*(Args|Arguments|Returns|Raises|Yields):\s*$", re.MULTILINE)
_REST_FIELD = re.compile(r"^\s*:(param|returns?|raises?|rtype|type)\b", re.MULTILINE)


def detect_style(source: Source) -> str:
    """The docstring style most used in the module; "google" when none shows."""
    votes: Counter[str] = Counter()
    for node in ast.walk(source.tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            doc = ast.get_docstring(node, clean=True)
            if not doc:
                continue
            if _NUMPY_SECTION.search(doc):
                votes["numpy"] += 1
            elif _GOOGLE_SECTION.search(doc):
                votes["google"] += 1
            elif _REST_FIELD.search(doc):
                votes["rest"] += 1
    return votes.most_common(1)[0][0] if votes else "google"


@dataclass(frozen=True)
class Slot:
    """A piece of prose the model writes: the summary, or the line after a parameter/return/exception."""

    kind: str  # "summary", "param", "returns", "raises"
    name: str = ""
    fixed: str = ""  # filled without the model (e.g. "If `low > high`." from the guard around a raise)


Part = str | Slot


@dataclass(frozen=True)
class Skeleton:
    parts: tuple[Part, ...]


def _raised(function: FunctionNode) -> list[tuple[str, str]]:
    """(exception, fixed description) for each exception raised in the function's own body, in order."""
    found: dict[str, str] = {}
    guards: dict[int, ast.expr] = {}
    for node in own_nodes(function):
        if isinstance(node, ast.If):
            for statement in node.body:
                guards[id(statement)] = node.test
    for node in own_nodes(function):
        if isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if not isinstance(target, (ast.Name, ast.Attribute)):
                continue
            name = ast.unparse(target)
            test = guards.get(id(node))
            fixed = f"If `{ast.unparse(test)}`." if test is not None and len(ast.unparse(test)) <= 60 else ""
            found.setdefault(name, fixed)
    return list(found.items())


def _returns(function: FunctionNode) -> str | None:
    """"returns", "yields" or None (nothing but None is returned)."""
    nodes = own_nodes(function)
    if any(isinstance(node, (ast.Yield, ast.YieldFrom)) for node in nodes):
        return "yields"
    returns_value = any(
        isinstance(node, ast.Return) and node.value is not None
        and not (isinstance(node.value, ast.Constant) and node.value.value is None)
        for node in nodes
    )
    annotated = function.returns is not None and not (
        isinstance(function.returns, ast.Constant) and function.returns.value is None
    )
    return "returns" if returns_value or annotated else None


def build_skeleton(node: DefinitionNode, owner: ast.ClassDef | None, style: str) -> Skeleton:
    summary = Slot("summary")
    if isinstance(node, ast.ClassDef):
        return Skeleton((summary,))
    params = [
        ("*" * (1 if arg is node.args.vararg else 2 if arg is node.args.kwarg else 0) + arg.arg,
         ast.unparse(arg.annotation) if arg.annotation is not None else "")
        for arg in explicit_params(node, owner)
    ]
    returns = _returns(node)
    return_type = ast.unparse(node.returns) if node.returns is not None else ""
    raised = _raised(node)
    if not params and returns is None and not raised:
        return Skeleton((summary,))
    parts: list[Part] = [summary, "\n"]
    if style == "numpy":
        if params:
            parts.append("\nParameters\n----------\n")
            for name, annotation in params:
                parts += [f"{name} : {annotation}\n    " if annotation else f"{name}\n    ", Slot("param", name), "\n"]
        if returns:
            title = "Yields" if returns == "yields" else "Returns"
            parts += [f"\n{title}\n{'-' * len(title)}\n", f"{return_type}\n    " if return_type else "", Slot("returns"), "\n"]
        if raised:
            parts.append("\nRaises\n------\n")
            for name, fixed in raised:
                parts += [f"{name}\n    ", Slot("raises", name, fixed), "\n"]
    elif style == "rest":
        parts.append("\n")
        for name, _ in params:
            parts += [f":param {name.lstrip('*')}: ", Slot("param", name), "\n"]
        if returns:
            parts += [":returns: " if returns == "returns" else ":yields: ", Slot("returns"), "\n"]
        for name, fixed in raised:
            parts += [f":raises {name}: ", Slot("raises", name, fixed), "\n"]
    else:
        if params:
            parts.append("\nArgs:\n")
            for name, _ in params:
                parts += [f"    {name}: ", Slot("param", name), "\n"]
        if returns:
            parts += ["\nYields:\n    " if returns == "yields" else "\nReturns:\n    ", Slot("returns"), "\n"]
        if raised:
            parts.append("\nRaises:\n")
            for name, fixed in raised:
                parts += [f"    {name}: ", Slot("raises", name, fixed), "\n"]
    return Skeleton(tuple(parts))


def render(skeleton: Skeleton, filled: dict[int, str], indent: str, *, upto: int | None = None) -> str:
    """The docstring (opening quotes included) with the slots filled so far; stops before part ``upto``."""
    text = ""
    parts = skeleton.parts if upto is None else skeleton.parts[:upto]
    for index, part in enumerate(parts):
        text += filled.get(index, "") if isinstance(part, Slot) else part
    lines = text.split("\n")
    body = "\n".join([lines[0], *((indent + line) if line else "" for line in lines[1:])])
    return f'"""{body}'


def docstring_target(source: Source, line: int) -> tuple[DefinitionNode, ast.ClassDef | None] | None:
    """The innermost function or class at ``line`` without a docstring whose body starts on its own line."""
    for node, owner in definitions_at(source, line):
        if docstring_node(node) is None and node.body and node.body[0].lineno > node.lineno:
            return node, owner
        return None
    return None


def _prompt(source: Source, node: DefinitionNode, docstring_so_far: str, indent: str, error: str | None) -> str:
    header_end = source.line_start(node.body[0].lineno)
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    header = source.text[source.line_start(first) : header_end]
    prompt = f"{retry_note(error)}{header}{indent}{docstring_so_far}"
    last_line = prompt.rsplit("\n", 1)[-1]
    # "value: " would end on a lone space token, which a small model rarely continues well.
    return prompt.rstrip(" ") if last_line.strip() else prompt


def _fill(model: TextModel, source: Source, node: DefinitionNode, skeleton: Skeleton, indent: str, error: str | None) -> dict[int, str]:
    filled: dict[int, str] = {}
    for index, part in enumerate(skeleton.parts):
        if not isinstance(part, Slot):
            continue
        if part.fixed:
            filled[index] = part.fixed
            continue
        prompt = _prompt(source, node, render(skeleton, filled, indent, upto=index), indent, error)
        if part.kind == "summary":
            answer = model.generate(prompt, max_tokens=SUMMARY_TOKENS, stop=['"""', ".\n", "\n\n"])
        else:
            if part.kind == "raises" and skeleton.parts[index - 1].rstrip().endswith(":"):
                prompt += "If"  # "ValueError: If ..." is how such a line reads
            answer = model.generate(prompt, max_tokens=LINE_TOKENS, stop=['"""', "\n"])
            if part.kind == "raises" and prompt.endswith("If"):
                answer = "If" + answer
        text = sentence(one_line(answer))
        if not text.strip(". "):
            what = f"{part.kind} {part.name}".strip()
            raise EditRejected(f"the model wrote nothing for the {what} line")
        filled[index] = text
    return filled


def write_docstring(text: str, line: int, model: TextModel) -> Outcome:
    """A docstring for the function or class at 0-based ``line``, checked (see validate.py)."""
    source = Source(text)
    target = docstring_target(source, line)
    if target is None:
        return Outcome(None, 0, "no function or class without a docstring here")
    node, owner = target
    style = detect_style(source)
    skeleton = build_skeleton(node, owner, style)
    first_statement = node.body[0]
    indent = source.indent_of(first_statement.lineno)
    insert_at = source.line_start(first_statement.lineno) + len(indent)

    def propose(error: str | None) -> Edit:
        filled = _fill(model, source, node, skeleton, indent, error)
        docstring = render(skeleton, filled, indent).rstrip()
        closing = f'\n{indent}"""' if "\n" in docstring else '"""'
        return Edit(insert_at, insert_at, f"{docstring}{closing}\n{indent}")

    return checked_edit(text, propose, Check(claimed=source.definition_span(node)))

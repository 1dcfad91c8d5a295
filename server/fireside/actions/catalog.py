"""Which actions apply where (instant: one parse, no model), and running one of them."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from fireside.actions.body import complete_body
from fireside.actions.docstring import docstring_target, write_docstring
from fireside.actions.model import TextModel
from fireside.actions.quick_fix import Diagnostic, fix_title, quick_fix, undefined_name
from fireside.actions.source import explicit_params, function_at, parses, stub_body
from fireside.actions.type_hints import add_type_hints
from fireside.actions.validate import Outcome

DOCSTRING = "docstring"
TYPE_HINTS = "typeHints"
BODY = "body"
QUICK_FIX = "quickFix"
ACTIONS = (DOCSTRING, TYPE_HINTS, BODY, QUICK_FIX)


@dataclass(frozen=True)
class Offer:
    action: str
    title: str
    name: str  # the function or class it works on ("" for quick fixes)


@dataclass(frozen=True)
class Workspace:
    """What an action may look up beyond its file. Called on the action's thread, so they may do I/O."""

    sources: Callable[[], Iterable[tuple[str, str]]] = lambda: ()  # (path, text) of the workspace's files
    modules: Callable[[str], Mapping[str, str]] = lambda name: {}  # name → module defining it
    stubs: Callable[[list[str]], list[str]] = lambda names: []  # definition stubs for names


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    detail: str = ""  # how it was made or what was dropped, for the log


def _needs_hints(function: ast.FunctionDef | ast.AsyncFunctionDef, owner: ast.ClassDef | None) -> bool:
    args = function.args
    unannotated = [
        arg for arg in explicit_params(function, owner)
        if arg.annotation is None and arg is not args.vararg and arg is not args.kwarg
    ]
    return bool(unannotated) or (function.returns is None and function.name != "__init__")


def offers(text: str, line: int) -> list[Offer]:
    """The model actions that apply at 0-based ``line`` (quick fixes come from diagnostics: see fix_offer)."""
    source = parses(text)
    if source is None:
        return []
    found: list[Offer] = []
    target = docstring_target(source, line)
    if target is not None:
        found.append(Offer(DOCSTRING, f"Write docstring for {target[0].name}", target[0].name))
    function = function_at(source, line)
    if function is not None:
        node, owner = function
        if _needs_hints(node, owner):
            found.append(Offer(TYPE_HINTS, f"Add type hints to {node.name}", node.name))
        if stub_body(node):
            found.append(Offer(BODY, f"Complete function body of {node.name}", node.name))
    return found


def fix_offer(diagnostic: Diagnostic) -> Offer:
    return Offer(QUICK_FIX, fix_title(diagnostic), "")


def run_action(
    action: str,
    text: str,
    line: int,
    model: TextModel,
    workspace: Workspace = Workspace(),
    diagnostic: Diagnostic | None = None,
) -> Result:
    if action == DOCSTRING:
        return Result(write_docstring(text, line, model))
    if action == TYPE_HINTS:
        outcome, report = add_type_hints(text, line, model, workspace.sources())
        dropped = report.dropped()
        return Result(outcome, f"dropped: {dropped}" if dropped and outcome.edit is not None else "")
    if action == BODY:
        return Result(complete_body(text, line, model, workspace.stubs))
    if action == QUICK_FIX and diagnostic is not None:
        name = undefined_name(diagnostic.message)
        modules = workspace.modules(name) if name else {}
        stubs = workspace.stubs([name]) if name else []
        outcome, how = quick_fix(text, diagnostic, model, modules, stubs)
        return Result(outcome, how)
    raise ValueError(f"unknown action {action!r}")

""""Add type hints": the model proposes an annotation per unannotated parameter and return; only those
consistent with what the code shows are kept.

Kept means: every name in the annotation resolves (a builtin, or defined/imported in the module — an
unresolved name would fail when the module is imported), the parameter's default fits it (default ``0``
allows ``int``/``float``, not ``str``), every literal argument passed at a call site in the workspace fits it,
and every literal the function returns fits the return annotation. A function that returns nothing gets
``-> None`` without asking the model.
"""

from __future__ import annotations

import ast
import builtins
import io
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass, field

from fireside.actions.model import TextModel
from fireside.actions.source import (
    FunctionNode,
    Source,
    explicit_params,
    function_at,
    is_method,
    own_nodes,
    stub_body,
)
from fireside.actions.text import retry_note
from fireside.actions.validate import Check, Edit, EditRejected, Outcome, checked_edit
from fireside.testgen.model import parse_suggestion

TYPE_TOKENS = 12
MAX_FUNCTION_CHARS = 1500
_NO_LITERAL = object()

_LITERAL_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,), "float": (int, float), "complex": (int, float, complex), "str": (str,), "bytes": (bytes,),
    "bool": (bool,), "list": (list,), "dict": (dict,), "tuple": (tuple,), "set": (set,), "frozenset": (frozenset,),
    "List": (list,), "Dict": (dict,), "Tuple": (tuple,), "Set": (set,), "FrozenSet": (frozenset,),
    "Sequence": (list, tuple, str, bytes), "MutableSequence": (list,), "Iterable": (list, tuple, str, bytes, dict, set, frozenset),
    "Collection": (list, tuple, str, bytes, dict, set, frozenset), "Mapping": (dict,), "MutableMapping": (dict,),
    "AbstractSet": (set, frozenset), "bytearray": (), "Hashable": (int, float, complex, str, bytes, bool, tuple, frozenset),
}
_ANYTHING = {"Any", "object"}


@dataclass
class Proposal:
    name: str  # the parameter name, or "return"
    annotation: str
    kept: bool = False
    reason: str = ""  # why it was dropped


@dataclass
class HintsReport:
    proposals: list[Proposal] = field(default_factory=list)

    def dropped(self) -> str:
        return "; ".join(f"{p.name}: {p.annotation} ({p.reason})" for p in self.proposals if not p.kept)


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def accepts(annotation: ast.expr, value: object) -> bool:
    """Whether the literal ``value`` is a valid value of ``annotation`` (unknown classes accept no literal)."""
    if isinstance(annotation, ast.Constant):
        if annotation.value is None:
            return value is None
        if isinstance(annotation.value, str):  # a string annotation: judge the type it names
            try:
                return accepts(ast.parse(annotation.value, mode="eval").body, value)
            except SyntaxError:
                return False
        return False
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return accepts(annotation.left, value) or accepts(annotation.right, value)
    if isinstance(annotation, ast.Subscript):
        origin = _name_of(annotation.value)
        members = annotation.slice.elts if isinstance(annotation.slice, ast.Tuple) else [annotation.slice]
        if origin == "Optional":
            return value is None or accepts(members[0], value)
        if origin == "Union":
            return any(accepts(member, value) for member in members)
        if origin == "Literal":
            return any(isinstance(m, ast.Constant) and m.value == value and type(m.value) is type(value) for m in members)
        if origin in {"list", "List", "set", "Set", "frozenset", "FrozenSet", "Sequence", "Iterable"} and isinstance(
            value, (list, set, frozenset, tuple)
        ) and len(members) == 1:
            return accepts(ast.Name(origin), value) and all(accepts(members[0], item) for item in value)
        return accepts(annotation.value, value)
    name = _name_of(annotation)
    if name is None:
        return False
    if name in _ANYTHING:
        return True
    types = _LITERAL_TYPES.get(name)
    if types is None:
        return False
    if _is_bool(value) and bool not in types:
        return False  # a flag's default is no evidence for int, though bool subclasses it
    return isinstance(value, types)


def _name_of(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def module_names(tree: ast.Module) -> set[str]:
    """Names bound at module level: imports, definitions, assignments."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(statement.name)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def unresolved_names(annotation: ast.expr, known: set[str]) -> list[str]:
    missing = []
    for node in ast.walk(annotation):
        if isinstance(node, ast.Name) and node.id not in known and not isinstance(getattr(builtins, node.id, None), type):
            missing.append(node.id)
    return missing


# Builtins whose result type is fixed, for expressions that are no literal but still say their type.
_CALL_SAMPLES: dict[str, object] = {
    "str": "", "repr": "", "format": "", "chr": "", "int": 0, "len": 0, "ord": 0, "hash": 0, "float": 0.0,
    "bool": True, "isinstance": True, "callable": True, "list": [], "sorted": [], "dict": {}, "set": set(),
    "frozenset": frozenset(), "tuple": (), "bytes": b"",
}


def _literal(node: ast.expr | None) -> object:
    """The value of a literal expression, or a sample value of the type an expression evidently has
    (an f-string is a str, a comparison a bool, ``len(...)`` an int); _NO_LITERAL when unknown."""
    if node is None:
        return _NO_LITERAL
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    if isinstance(node, ast.JoinedStr):
        return ""
    if isinstance(node, ast.Compare) or (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)):
        return True
    if isinstance(node, (ast.List, ast.ListComp)):
        return []
    if isinstance(node, (ast.Dict, ast.DictComp)):
        return {}
    if isinstance(node, (ast.Set, ast.SetComp)):
        return set()
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _CALL_SAMPLES:
        return _CALL_SAMPLES[node.func.id]
    return _NO_LITERAL


def _defaults(function: FunctionNode) -> dict[str, ast.expr]:
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    found = {arg.arg: default for arg, default in zip(positional[len(positional) - len(args.defaults) :], args.defaults)}
    found.update({arg.arg: default for arg, default in zip(args.kwonlyargs, args.kw_defaults) if default is not None})
    return found


def call_site_literals(
    sources: Iterable[tuple[str, str]], function: FunctionNode, method: bool
) -> dict[str, list[tuple[object, str]]]:
    """Literal arguments passed to ``function`` anywhere in ``sources`` ((path, text) pairs), by parameter,
    each with where it was seen."""
    args = function.args
    positional = [arg.arg for arg in [*args.posonlyargs, *args.args]]
    if method:
        positional = positional[1:]
    keywords = set(positional[len(args.posonlyargs) :]) | {arg.arg for arg in args.kwonlyargs}
    found: dict[str, list[tuple[object, str]]] = {}
    for path, text in sources:
        if f"{function.name}(" not in text:
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or _name_of(node.func) != function.name:
                continue
            if method and not isinstance(node.func, ast.Attribute):
                continue  # a method is called as obj.name(...)
            where = f"{path}:{node.lineno}"
            for index, argument in enumerate(node.args):
                if isinstance(argument, ast.Starred) or index >= len(positional):
                    break
                value = _literal(argument)
                if value is not _NO_LITERAL:
                    found.setdefault(positional[index], []).append((value, where))
            for keyword in node.keywords:
                if keyword.arg in keywords:
                    value = _literal(keyword.value)
                    if value is not _NO_LITERAL:
                        found.setdefault(keyword.arg, []).append((value, where))
    return found


def _returned_literals(function: FunctionNode) -> list[object]:
    values = []
    for node in own_nodes(function):
        if isinstance(node, ast.Return):
            value = None if node.value is None else _literal(node.value)
            if value is not _NO_LITERAL:
                values.append(value)
    return values


def _returns_nothing(function: FunctionNode) -> bool:
    if stub_body(function) or isinstance(function.body[-1], ast.Raise):
        return False  # abstract or not implemented yet: its subclasses decide
    nodes = own_nodes(function)
    if any(isinstance(node, (ast.Yield, ast.YieldFrom)) for node in nodes):
        return False
    return all(
        node.value is None or (isinstance(node.value, ast.Constant) and node.value.value is None)
        for node in nodes
        if isinstance(node, ast.Return)
    )


def judge(
    proposal: Proposal, annotation_text: str, evidence: list[tuple[object, str]], known: set[str]
) -> Proposal:
    try:
        annotation = ast.parse(annotation_text, mode="eval").body
    except SyntaxError:
        proposal.reason = "not a type"
        return proposal
    missing = unresolved_names(annotation, known)
    if missing:
        proposal.reason = f"{', '.join(missing)} is not defined or imported in this module"
        return proposal
    for value, where in evidence:
        if not accepts(annotation, value):
            proposal.reason = f"{value!r} at {where} is no {annotation_text}"
            return proposal
    proposal.kept = True
    return proposal


def _prompt(source: Source, function: FunctionNode, question: str, error: str | None) -> str:
    code = source.segment(function)[:MAX_FUNCTION_CHARS]
    return f"# Python. Give a type annotation as Python syntax, on one line.\n{retry_note(error)}{code}\n\n# {question} `"


def _signature_edit(source: Source, function: FunctionNode, kept: dict[str, str], returns: str | None) -> Edit:
    """One edit rewriting the header (``def`` up to the body) with the annotations added."""
    first = source.line_start(function.lineno)
    header_end = source.start_of(function.body[0])
    insertions: list[tuple[int, int, str]] = []  # (start, end, text) in file offsets
    defaults = _defaults(function)
    all_args = [*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs]
    for arg in all_args:
        if arg.arg not in kept:
            continue
        name_end = source.end_of(arg)
        default = defaults.get(arg.arg)
        if default is not None:
            insertions.append((name_end, source.start_of(default), f": {kept[arg.arg]} = "))
        else:
            insertions.append((name_end, name_end, f": {kept[arg.arg]}"))
    if returns is not None:
        colon = _signature_colon(source.text[first:header_end])
        if colon is None:
            raise EditRejected("could not find the end of the signature")
        insertions.append((first + colon, first + colon, f" -> {returns}"))
    header = source.text[first:header_end]
    for start, end, text in sorted(insertions, reverse=True):
        header = header[: start - first] + text + header[end - first :]
    return Edit(first, header_end, header)


def _signature_colon(header: str) -> int | None:
    """Offset of the ``:`` that ends a ``def`` header (the first one outside brackets after the parameters)."""
    starts = [0]
    for line in header.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    depth = 0
    seen_parameters = False
    try:
        for token in tokenize.generate_tokens(io.StringIO(header).readline):
            if token.type != tokenize.OP:
                continue
            if token.string in "([{":
                depth += 1
            elif token.string in ")]}":
                depth -= 1
                seen_parameters = True
            elif token.string == ":" and depth == 0 and seen_parameters:
                return starts[token.start[0] - 1] + token.start[1]
    except (tokenize.TokenError, SyntaxError):
        return None
    return None


def add_type_hints(
    text: str, line: int, model: TextModel, workspace: Iterable[tuple[str, str]] = ()
) -> tuple[Outcome, HintsReport]:
    """Annotations for the function at 0-based ``line``; ``workspace`` gives (path, text) of other files
    whose call sites are checked."""
    source = Source(text)
    found = function_at(source, line)
    if found is None:
        return Outcome(None, 0, "no function here"), HintsReport()
    function, owner = found
    method = is_method(function, owner)
    targets = [
        arg for arg in explicit_params(function, owner)
        if arg.annotation is None and arg is not function.args.vararg and arg is not function.args.kwarg
    ]
    wants_return = function.returns is None and function.name != "__init__"
    if not targets and not wants_return:
        return Outcome(None, 0, f"{function.name} is fully annotated"), HintsReport()
    known = module_names(source.tree)
    call_sites = call_site_literals([("<this file>", text), *workspace], function, method)
    defaults = _defaults(function)
    report = HintsReport()

    def propose(error: str | None) -> Edit:
        report.proposals.clear()
        kept: dict[str, str] = {}
        for arg in targets:
            answer = model.generate(
                _prompt(source, function, f"The type of parameter `{arg.arg}` of `{function.name}` is:", error),
                max_tokens=TYPE_TOKENS, stop=["`", "\n"],
            )
            suggestion = parse_suggestion(answer)
            proposal = Proposal(arg.arg, suggestion or answer.strip()[:30])
            report.proposals.append(proposal)
            if suggestion is None:
                proposal.reason = "not a type"
                continue
            evidence = list(call_sites.get(arg.arg, []))
            default = _literal(defaults.get(arg.arg))
            if default is not _NO_LITERAL:
                evidence.insert(0, (default, "the default"))
            if judge(proposal, suggestion, evidence, known).kept:
                kept[arg.arg] = suggestion
        returns: str | None = None
        if wants_return:
            if _returns_nothing(function):
                returns = "None"
                report.proposals.append(Proposal("return", "None", kept=True, reason="nothing is returned"))
            else:
                answer = model.generate(
                    _prompt(source, function, f"The return type of `{function.name}` is:", error),
                    max_tokens=TYPE_TOKENS, stop=["`", "\n"],
                )
                suggestion = parse_suggestion(answer)
                proposal = Proposal("return", suggestion or answer.strip()[:30])
                report.proposals.append(proposal)
                evidence = [(value, "a return statement") for value in _returned_literals(function)]
                if suggestion is None:
                    proposal.reason = "not a type"
                elif judge(proposal, suggestion, evidence, known).kept:
                    returns = suggestion
        if not kept and returns is None:
            raise EditRejected(f"no proposed annotation was consistent with the code ({report.dropped()})")
        return _signature_edit(source, function, kept, returns)

    header_span = (source.line_start(function.lineno), source.start_of(function.body[0]))
    return checked_edit(text, propose, Check(claimed=header_span, compiles=True)), report

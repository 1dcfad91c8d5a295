"""Inputs mined from the source, without the model: what the body compares its parameters with, the shapes
it parses them by (prefixes, separators, regular expressions), and the calls in its docstring examples.

Everything here is static (the module's `ast`); the values are Python source for `@example(...)`, and the
regular expressions become `st.from_regex(...)` strategies, so Hypothesis draws strings of the shape the
body parses. The coverage rounds (rounds.py) try them where the generated inputs missed a branch, and keep
the ones that reach it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from fireside.testgen.analysis import FunctionInfo, ModuleInfo

__all__ = ["MinedValue", "RegexUse", "doctest_calls", "mine_values", "regex_uses"]

_REGEX_FUNCTIONS = {"match": False, "fullmatch": True, "search": False, "findall": False, "finditer": False,
                    "sub": False, "subn": False, "split": False}
_MAX_LITERAL = 200  # characters: longer literals are data tables, not inputs
_STRING_TESTS = {"isdigit": "'123'", "isdecimal": "'123'", "isnumeric": "'123'", "isalpha": "'abc'",
                 "isalnum": "'abc123'", "isspace": "' '", "isupper": "'ABC'", "islower": "'abc'",
                 "isidentifier": "'name'", "istitle": "'Title'", "isascii": "'abc'"}


@dataclass(frozen=True)
class MinedValue:
    param: str
    source: str  # the value, as Python source
    why: str  # where it comes from, for the comment beside the @example
    line: int  # the line the evidence is on (0: the docstring)
    other_type: bool = False  # on purpose not of the parameter's type (the other side of a type check)


@dataclass(frozen=True)
class RegexUse:
    param: str
    pattern: str  # source of the pattern for st.from_regex: a module attribute or a literal
    fullmatch: bool
    line: int
    examples: tuple[str, ...] = ()  # strings that match it (regex_examples), as Python source


def _body(function: FunctionInfo) -> list[ast.stmt]:
    body = function.node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        return body[1:]  # the docstring
    return body


def _derived(function: FunctionInfo) -> dict[str, str]:
    """Local names that hold a parameter or something computed from it (`t = text.strip()`), by parameter."""
    origin = {p.name: p.name for p in function.params}
    for _ in range(3):  # a few passes reach chains of assignments in any order
        for node in ast.walk(ast.Module(body=_body(function), type_ignores=[])):
            targets: list[ast.expr] = []
            value: ast.expr | None = None
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and node.value is not None:
                targets, value = [node.target], node.value
            elif isinstance(node, (ast.For, ast.comprehension)):
                targets, value = [node.target], node.iter
            if value is None:
                continue
            sources = [origin[n.id] for n in ast.walk(value) if isinstance(n, ast.Name) and n.id in origin]
            if not sources:
                continue
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name) and name.id not in origin:
                        origin[name.id] = sources[0]
    return origin


def _assignments(function: FunctionInfo) -> dict[str, ast.expr]:
    """Names assigned exactly once in the body, with what they are computed from (`q, r = divmod(x, k)`
    gives q = x // k and r = x % k)."""
    seen: dict[str, list[ast.expr]] = {}
    for node in ast.walk(ast.Module(body=_body(function), type_ignores=[])):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
            if isinstance(target, ast.Name):
                seen.setdefault(target.id, []).append(value)
            elif (isinstance(target, ast.Tuple) and len(target.elts) == 2 and isinstance(value, ast.Call)
                  and isinstance(value.func, ast.Name) and value.func.id == "divmod" and len(value.args) == 2):
                for element, op in zip(target.elts, (ast.FloorDiv(), ast.Mod()), strict=True):
                    if isinstance(element, ast.Name):
                        seen.setdefault(element.id, []).append(ast.BinOp(value.args[0], op, value.args[1]))
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.comprehension)):
            target = node.target
            for name in ast.walk(target):
                if isinstance(name, ast.Name):
                    seen.setdefault(name.id, []).extend([None, None])  # type: ignore[list-item]
    return {name: values[0] for name, values in seen.items() if len(values) == 1}


def _solve(node: ast.expr, target: object, params: set[str], assigned: dict[str, ast.expr], module: ModuleInfo,
           depth: int = 0) -> tuple[str, object] | None:
    """(parameter, value) that makes the expression `node` equal `target`, when `node` is the parameter
    through additions, subtractions, multiplications and divisions by constants (`kilos = grams // 1000`)."""
    if depth > 6 or not isinstance(target, (int, float)) or isinstance(target, bool):
        return None
    if isinstance(node, ast.Name):
        if node.id in params:
            return node.id, target
        if node.id in assigned:
            return _solve(assigned[node.id], target, params - {node.id}, assigned, module, depth + 1)
        return None
    if not isinstance(node, ast.BinOp):
        return None
    left_ok, left = _constant(node.left, module)
    right_ok, right = _constant(node.right, module)
    if left_ok == right_ok or not isinstance(left if left_ok else right, (int, float)):
        return None
    k = right if right_ok else left
    inner = node.left if right_ok else node.right
    op = type(node.op)
    if op is ast.Add:
        value = target - k
    elif op is ast.Sub:
        value = target + k if right_ok else k - target
    elif op is ast.Mult and k:
        value = target // k if isinstance(target, int) and isinstance(k, int) and target % k == 0 else target / k
    elif op in {ast.FloorDiv, ast.Div} and right_ok:
        value = target * k
    else:
        return None
    return _solve(inner, value, params, assigned, module, depth + 1)


def _param_in(node: ast.expr, origin: dict[str, str]) -> str | None:
    """The parameter an expression is computed from, when it reads exactly one."""
    names = {origin[n.id] for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in origin}
    return names.pop() if len(names) == 1 else None


def _constant(node: ast.expr, module: ModuleInfo) -> tuple[bool, object]:
    if isinstance(node, ast.Constant) and not isinstance(node.value, type(Ellipsis)):
        return True, node.value
    if isinstance(node, ast.Name) and node.id in module.constants:
        return True, module.constants[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        value = node.operand.value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return True, -value
    return False, None


def _usable(value: object) -> bool:
    if isinstance(value, (str, bytes)):
        return 0 < len(value) <= _MAX_LITERAL
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def mine_values(function: FunctionInfo, module: ModuleInfo, lines: set[int] | None = None) -> list[MinedValue]:
    """Values for the parameters, from the comparisons and string tests in the body (on `lines` only, when
    given: the lines of the branches no test took)."""
    origin = _derived(function)
    assigned = _assignments(function)
    params = {p.name for p in function.params}
    found: list[MinedValue] = []

    def add(param: str | None, value: object, why: str, line: int, shape: str | None = None) -> None:
        """`shape` puts a string value in context: "a{}b" is the value between two letters."""
        if param is None or not _usable(value):
            return
        if shape is not None and isinstance(value, str):
            value = shape.replace("{}", value)
        elif shape is not None and isinstance(value, bytes):
            value = shape.encode().replace(b"{}", value)
        mined = MinedValue(param, repr(value), why, line)
        if mined not in found:
            found.append(mined)

    for node in ast.walk(ast.Module(body=_body(function), type_ignores=[])):
        line = getattr(node, "lineno", 0)
        if lines is not None and line not in lines:
            continue
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for index, op in enumerate(node.ops):
                left, right = operands[index], operands[index + 1]
                if isinstance(op, (ast.In, ast.NotIn)):
                    ok, value = _constant(left, module)
                    if ok and isinstance(value, str):  # "x" in text
                        add(_param_in(right, origin), value, f"`{ast.unparse(node)}` on line {line}", line, "a{}b")
                    elif isinstance(right, (ast.Tuple, ast.List, ast.Set)):  # text in ("a", "b")
                        for element in right.elts:
                            ok, value = _constant(element, module)
                            if ok:
                                add(_param_in(left, origin), value, f"`{ast.unparse(node)[:60]}` on line {line}", line)
                    continue
                for this, other in ((left, right), (right, left)):
                    ok, value = _constant(other, module)
                    if not ok:
                        continue
                    why = f"`{ast.unparse(node)[:60]}` on line {line}"
                    solved = None if (isinstance(this, ast.Name) and this.id in params) else _solve(this, value, params, assigned, module)
                    if solved is not None:  # a value computed from the parameter: the parameter that gives it
                        for delta in (0, 1, -1):
                            again = _solve(this, value + delta, params, assigned, module) if delta else solved  # type: ignore[operator]
                            if again is not None:
                                add(again[0], again[1], why, line)
                        continue
                    param = _param_in(this, origin)
                    add(param, value, why, line)
                    if isinstance(value, (int, float)) and not isinstance(value, bool) and isinstance(this, ast.Name):
                        add(param, value + 1, f"`{ast.unparse(node)[:60]}` on line {line}", line)
                        add(param, value - 1, f"`{ast.unparse(node)[:60]}` on line {line}", line)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args
              and node.func.attr in {"isfinite", "isinf", "isnan"} and ast.unparse(node.func.value) in {"math", "cmath", "numpy", "np"}):
            # The values a finiteness check tells apart: infinity and NaN, as floats and as the strings float() reads.
            param = _param_in(node.args[0], origin)
            for value in ("float('inf')", "float('nan')", "'inf'", "'-inf'", "'nan'"):
                mined = MinedValue(param, value, f"`{ast.unparse(node)[:60]}` on line {line}", line, True) if param else None
                if mined is not None and mined not in found:
                    found.append(mined)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method, receiver = node.func.attr, node.func.value
            param = _param_in(receiver, origin)
            if param is None:
                continue
            why = f"`{ast.unparse(node)[:60]}` on line {line}"
            argument = _constant(node.args[0], module) if node.args else (False, None)
            if method == "startswith" and argument[0]:
                values = argument[1] if isinstance(argument[1], tuple) else (argument[1],)
                for value in values:
                    add(param, value, why, line, "{}a")
            elif method == "endswith" and argument[0]:
                values = argument[1] if isinstance(argument[1], tuple) else (argument[1],)
                for value in values:
                    add(param, value, why, line, "a{}")
            elif method in {"split", "rsplit", "partition", "rpartition", "count", "find", "index", "rfind",
                            "replace", "strip", "lstrip", "rstrip", "removeprefix", "removesuffix"} and argument[0]:
                add(param, argument[1], why, line, "a{}b")
            elif method in _STRING_TESTS:
                mined = MinedValue(param, _STRING_TESTS[method], why, line)
                if mined not in found:
                    found.append(mined)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "isinstance" and len(node.args) == 2:
            # The other side of a type check: a value of another type (the guard's raise, the conversion).
            param = _param_in(node.args[0], origin)
            names = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
            for value in ("None", "0", "''", "1.5", "b''"):
                kind = {"None": "NoneType", "0": "int", "''": "str", "1.5": "float", "b''": "bytes"}[value]
                if param is not None and kind not in names and not (kind == "int" and "float" in names):
                    mined = MinedValue(param, value, f"`{ast.unparse(node)[:60]}` on line {line}", line, True)
                    if mined not in found:
                        found.append(mined)
                    break
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
            param = _param_in(node.args[0], origin)
            if param is not None and node.func.id in {"int", "float"}:
                source = "'12'" if node.func.id == "int" else "'1.5'"
                mined = MinedValue(param, source, f"`{ast.unparse(node)[:60]}` on line {line}", line)
                if mined not in found:
                    found.append(mined)
    return found


def _pattern_source(node: ast.expr, module: ModuleInfo, alias: str) -> str | None:
    """A pattern st.from_regex can take: a literal, a module string constant, or a compiled module pattern."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
        return repr(node.value)
    if isinstance(node, ast.Name):
        if isinstance(module.constants.get(node.id), str):
            return f"{alias}.{node.id}"
        compiled = module.aliases.get(node.id)
        if _is_compile(compiled, module):
            return f"{alias}.{node.id}"
    return None


def _is_compile(node: ast.expr | None, module: ModuleInfo) -> bool:
    if not isinstance(node, ast.Call) or not node.args:
        return False
    name = ast.unparse(node.func)
    origin = module.imports.get(name.split(".")[0], "")
    return name.endswith("compile") and (origin == "re" or name == "re.compile" or module.imports.get(name) == "re.compile")


def regex_uses(function: FunctionInfo, module: ModuleInfo, alias: str) -> list[RegexUse]:
    """Where the body matches a parameter (or a value computed from it) against a regular expression."""
    origin = _derived(function)
    found: list[RegexUse] = []
    for node in ast.walk(ast.Module(body=_body(function), type_ignores=[])):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        method = node.func.attr
        if method not in _REGEX_FUNCTIONS:
            continue
        receiver = node.func.value
        pattern = subject = None
        if isinstance(receiver, ast.Name) and module.imports.get(receiver.id) == "re" and len(node.args) >= 2:
            # re.match(PATTERN, text) / re.sub(PATTERN, repl, text)
            pattern = _pattern_source(node.args[0], module, alias)
            subject = node.args[2] if method in {"sub", "subn"} and len(node.args) >= 3 else node.args[1]
        elif isinstance(receiver, ast.Name) and _pattern_source(receiver, module, alias) and node.args:
            pattern = _pattern_source(receiver, module, alias)  # PATTERN.match(text)
            subject = node.args[1] if method in {"sub", "subn"} and len(node.args) >= 2 else node.args[0]
        if pattern is None or subject is None:
            continue
        param = _param_in(subject, origin)
        if param is None:
            continue
        text = pattern_of(node.args[0] if pattern_node_is_argument(receiver, module) else receiver, module)
        examples = regex_examples(text[0], text[1], fullmatch=_REGEX_FUNCTIONS[method]) if text else []
        use = RegexUse(param, pattern, _REGEX_FUNCTIONS[method], node.lineno, tuple(repr(e) for e in examples))
        if all((u.param, u.pattern) != (use.param, use.pattern) for u in found):
            found.append(use)
    return found


def pattern_node_is_argument(receiver: ast.expr, module: ModuleInfo) -> bool:
    """`re.match(PATTERN, text)` (the pattern is the first argument) rather than `PATTERN.match(text)`."""
    return isinstance(receiver, ast.Name) and module.imports.get(receiver.id) == "re"


def doctest_calls(function: FunctionInfo, names: list[str]) -> list[dict[str, str]]:
    """The argument values (as source) of each call of the function in its docstring's `>>>` examples,
    bound to parameter names; calls with anything but literal arguments are skipped."""
    found: list[dict[str, str]] = []
    for doctest in function.doc.doctests:
        try:
            tree = ast.parse(doctest.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if callee != function.name:
                continue
            bound = bind_call(node, function, names)
            if bound is not None and bound not in found:
                found.append(bound)
    return found


def bind_call(node: ast.Call, function: FunctionInfo, names: list[str]) -> dict[str, str] | None:
    """{parameter: value source} for a call with literal arguments, or None (not literal, does not bind)."""
    positional = [p.name for p in function.params if p.kind in {"positional_only", "positional_or_keyword"}]
    bound: dict[str, str] = {}
    if len(node.args) > len(positional) or any(isinstance(a, ast.Starred) for a in node.args):
        return None
    for name, arg in zip(positional, node.args, strict=False):
        value = literal_source(arg)
        if value is None:
            return None
        bound[name] = value
    for keyword in node.keywords:
        if keyword.arg is None or keyword.arg not in names or keyword.arg in bound:
            return None
        value = literal_source(keyword.value)
        if value is None:
            return None
        bound[keyword.arg] = value
    return bound


def _fold(node: ast.expr, depth: int = 0) -> object:
    """The value of a literal, or of arithmetic on number literals / repetition of a short string (bounded)."""
    if depth > 8:
        raise ValueError("too deep")
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod, ast.Pow)):
        left, right = _fold(node.left, depth + 1), _fold(node.right, depth + 1)
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right))
        if isinstance(node.op, ast.Pow) and not (numbers and abs(right) <= 64 and abs(left) <= 10**6):  # type: ignore[operator,arg-type]
            raise ValueError("too large")
        if isinstance(node.op, ast.Mult) and not numbers:
            count = right if isinstance(right, int) else left
            text = left if isinstance(right, int) else right
            if not (isinstance(count, int) and isinstance(text, (str, bytes)) and 0 <= count * len(text) <= 10_000):
                raise ValueError("not a small repetition")
        elif not numbers and not (isinstance(node.op, ast.Add) and type(left) is type(right) and isinstance(left, (str, bytes))):
            raise ValueError("not arithmetic")
        operation = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
                     ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b, ast.Pow: lambda a, b: a**b}
        return operation[type(node.op)](left, right)  # type: ignore[no-untyped-call]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _fold(node.operand, depth + 1)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ValueError("not a number")
        return -value if isinstance(node.op, ast.USub) else value
    return ast.literal_eval(node)


def literal_source(node: ast.expr) -> str | None:
    """The source of a literal value (also `7 * 360` or `'ab' * 30`, folded), or None."""
    try:
        value = _fold(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError, ZeroDivisionError, OverflowError):
        return None
    text = repr(value)
    return text if len(text) <= 10_000 else None


# --- strings that match a regular expression ----------------------------------------------------------

try:  # the stdlib's own regex parser (Python 3.11+; `sre_parse` before)
    from re import _constants as _sre
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as _sre  # type: ignore[no-redef]
    import sre_parse as _sre_parse  # type: ignore[no-redef]

_CATEGORY_SAMPLES = {"CATEGORY_DIGIT": "1", "CATEGORY_NOT_DIGIT": "a", "CATEGORY_SPACE": " ", "CATEGORY_NOT_SPACE": "a",
                     "CATEGORY_WORD": "a", "CATEGORY_NOT_WORD": "-"}
_NEGATED_CANDIDATES = "a1_- x!Z."


def pattern_of(node: ast.expr | None, module: ModuleInfo) -> tuple[str, int] | None:
    """(pattern text, flags) of a literal pattern or of `re.compile(literal[, flags])` in the module."""
    import re

    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value, 0
    if isinstance(node, ast.Name):
        if isinstance(module.constants.get(node.id), str):
            return module.constants[node.id], 0  # type: ignore[return-value]
        node = module.aliases.get(node.id)
    if not (isinstance(node, ast.Call) and _is_compile(node, module) and node.args):
        return None
    first = node.args[0]
    ok, text = (True, first.value) if isinstance(first, ast.Constant) else _constant(first, module)
    if not ok or not isinstance(text, str):
        return None
    flags = 0
    flag_node = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "flags"), None)
    if flag_node is not None:
        for part in ast.walk(flag_node):
            if isinstance(part, ast.Attribute) and isinstance(getattr(re, part.attr, None), re.RegexFlag):
                flags |= getattr(re, part.attr)
    return text, flags


def _in_set(char: str, items: list) -> bool:  # type: ignore[type-arg]
    code = ord(char)
    for op, value in items:
        name = str(op)
        if name == "LITERAL" and code == value:
            return True
        if name == "RANGE" and value[0] <= code <= value[1]:
            return True
        if name == "CATEGORY":
            import re

            sample = {"CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_SPACE": r"\s",
                      "CATEGORY_NOT_SPACE": r"\S", "CATEGORY_WORD": r"\w", "CATEGORY_NOT_WORD": r"\W"}.get(str(value))
            if sample and re.fullmatch(sample, char):
                return True
    return False


def _char_from(items: list) -> str:  # type: ignore[type-arg]
    if items and str(items[0][0]) == "NEGATE":
        rest = items[1:]
        return next((c for c in _NEGATED_CANDIDATES if not _in_set(c, rest)), "\u00e9")
    op, value = items[0]
    name = str(op)
    if name == "LITERAL":
        return chr(value)
    if name == "RANGE":
        low, high = value
        return chr(low + 1 if high > low else low)  # '1' rather than '0': zero is often a special case of its own
    if name == "CATEGORY":
        return _CATEGORY_SAMPLES.get(str(value), "a")
    return "a"


class _Writer:
    """One string for a parsed pattern, under a policy: which optional parts appear, which alternative is taken."""

    def __init__(self, present: set[int] | None, alternative: tuple[int, int] | None) -> None:
        self.present, self.alternative = present, alternative  # present None: every optional part appears
        self.repeats = self.branches = 0
        self.groups: dict[int, str] = {}

    def write(self, items) -> str:  # noqa: ANN001 - a parsed (sub)pattern
        return "".join(self.item(op, value) for op, value in items)

    def item(self, op, value) -> str:  # noqa: ANN001
        name = str(op)
        if name == "LITERAL":
            return chr(value)
        if name == "NOT_LITERAL":
            return "a" if value != ord("a") else "b"
        if name == "ANY":
            return "a"
        if name == "IN":
            if len(value) > 1 and str(value[0][0]) != "NEGATE":  # [+-]: each member is a shape of its own
                index = self.branches
                self.branches += 1
                choice = self.alternative[1] if self.alternative and self.alternative[0] == index else 0
                return _char_from(value[min(choice, len(value) - 1):])
            return _char_from(value)
        if name in {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}:
            low, high, sub = value
            index = self.repeats
            self.repeats += 1
            wanted = low == 0 and (self.present is None or index in self.present)
            count = max(low, 1) if wanted else low
            count = min(count, high) if isinstance(high, int) else count
            return "".join(self.write(sub) for _ in range(min(count, 50)))
        if name == "SUBPATTERN":
            group, _, _, sub = value
            text = self.write(sub)
            if group is not None:
                self.groups[group] = text
            return text
        if name == "ATOMIC_GROUP":
            return self.write(value)
        if name == "BRANCH":
            index = self.branches
            self.branches += 1
            choice = self.alternative[1] if self.alternative and self.alternative[0] == index else 0
            options = value[1]
            return self.write(options[min(choice, len(options) - 1)])
        if name == "GROUPREF":
            return self.groups.get(value, "")
        if name == "GROUPREF_EXISTS":
            group, yes, no = value
            return self.write(yes) if group in self.groups else (self.write(no) if no else "")
        return ""  # anchors, lookarounds: nothing to write


def regex_examples(pattern: str, flags: int = 0, *, fullmatch: bool = False, limit: int = 16) -> list[str]:
    """A few strings that match `pattern` (checked): every optional part at once, none, each one alone, and
    each alternative of each `|` — the shapes a parser built on the pattern tells apart."""
    import re

    try:
        parsed = _sre_parse.parse(pattern, flags)
        compiled = re.compile(pattern, flags)
    except (re.error, RecursionError, OverflowError, ValueError):
        return []
    counter = _Writer(None, None)
    counter.write(parsed.data if hasattr(parsed, "data") else parsed)
    alone = [{index} for index in range(min(counter.repeats, 12))]
    alternatives = [(branch, choice) for branch in range(min(counter.branches, 6)) for choice in range(1, 4)]
    policies: list[tuple[set[int] | None, tuple[int, int] | None]] = [(None, None), (set(), None)]
    policies += [(present, None) for present in alone]
    policies += [(None, alternative) for alternative in alternatives]
    # An alternative (a sign, a separator) together with each optional part alone, and the part it guards.
    policies += [(present | {0}, alternative) for alternative in alternatives[:3] for present in alone]
    found: list[str] = []
    for present, alternative in policies:
        text = _Writer(present, alternative).write(parsed.data if hasattr(parsed, "data") else parsed)
        if text in found or len(text) > 200:
            continue
        matched = compiled.fullmatch(text) if fullmatch else compiled.search(text)
        if matched:
            found.append(text)
        if len(found) >= limit:
            break
    return found

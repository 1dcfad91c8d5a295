"""Static analysis of a Python module with the stdlib `ast`: nothing here imports the target.

What comes out is what the test generator needs and nothing more: the functions, methods and classes with
their parameters (annotation, default, docstring type, type implied by how the body uses them), the
boundary values the body tests (comparisons against constants, `len()`, `in` over a literal, `isinstance`,
`range`), and the exceptions raised on purpose under a guard.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field
from pathlib import Path

from fireside.testgen.docstrings import DocInfo, parse_docstring

__all__ = [
    "BoundaryValue",
    "ClassInfo",
    "FunctionInfo",
    "Guard",
    "ModuleInfo",
    "ParamInfo",
    "analyse_file",
    "analyse_source",
]

_BUILTIN_NAMES = frozenset(dir(builtins))
_STR_METHODS = frozenset(
    "lower upper strip lstrip rstrip split rsplit startswith endswith replace isdigit isalpha isalnum isspace "
    "casefold title capitalize splitlines partition rpartition zfill center ljust rjust format encode "
    "isupper islower isnumeric isdecimal removeprefix removesuffix expandtabs".split()
)
_LIST_METHODS = frozenset("append extend insert pop remove sort reverse".split())
_DICT_METHODS = frozenset("items keys values get setdefault".split())
_REGEX_CALLS = frozenset("compile match fullmatch search sub subn split findall finditer".split())


@dataclass(frozen=True)
class BoundaryValue:
    """A value on one side of a boundary the body tests.

    kind "value": `value` is a literal to pass as is; "length": a container/str of `value` items;
    "type": any value of the type named `value`; "falsy": the empty/zero value of the parameter's type.
    """

    kind: str
    value: object


@dataclass
class ParamInfo:
    name: str
    kind: str  # "positional_only" | "positional_or_keyword" | "var_positional" | "keyword_only" | "var_keyword"
    annotation: ast.expr | None = None
    default: ast.expr | None = None
    doc_type: str | None = None
    usage_type: str | None = None  # what the body's use of the parameter implies, e.g. "str"

    @property
    def has_default(self) -> bool:
        return self.default is not None


@dataclass
class Guard:
    """`if test: raise exception(...)` at the top of a function body."""

    test: ast.expr
    exception: str
    # True when the test reads only parameters (not rebound before it), builtins and module globals, so a
    # generated test can evaluate it with `assume()`.
    simple: bool
    lineno: int


class _SourceSpan:
    """Line span of an analysed definition (its ``node``)."""

    node: ast.AST

    @property
    def lineno(self) -> int:
        return self.node.lineno  # type: ignore[attr-defined]

    @property
    def end_lineno(self) -> int:
        return self.node.end_lineno or self.node.lineno  # type: ignore[attr-defined]


@dataclass
class FunctionInfo(_SourceSpan):
    name: str
    qualname: str
    node: ast.FunctionDef | ast.AsyncFunctionDef
    params: list[ParamInfo]
    returns: ast.expr | None
    doc: DocInfo
    class_name: str | None = None
    method_kind: str = "function"  # "function" | "method" | "classmethod" | "staticmethod" | "property"
    is_async: bool = False
    is_generator: bool = False
    boundaries: dict[str, list[BoundaryValue]] = field(default_factory=dict)
    guards: list[Guard] = field(default_factory=list)
    raised_types: list[str] = field(default_factory=list)  # every exception type the body raises by name


@dataclass
class ClassInfo(_SourceSpan):
    name: str
    node: ast.ClassDef
    bases: list[str]  # resolved dotted names, "local:Name" for classes of this module
    kind: str  # "dataclass" | "enum" | "namedtuple" | "typeddict" | "protocol" | "abstract" | "class"
    fields: list[ParamInfo] = field(default_factory=list)  # dataclass / NamedTuple / TypedDict fields
    total: bool = True  # TypedDict totality
    init: FunctionInfo | None = None
    methods: list[FunctionInfo] = field(default_factory=list)
    private_methods: list[FunctionInfo] = field(default_factory=list)  # `_name` (not dunder): coverage rounds only
    members: list[str] = field(default_factory=list)  # Enum member names


@dataclass
class ModuleInfo:
    path: Path | None
    module_name: str
    source: str
    imports: dict[str, str] = field(default_factory=dict)  # local name -> dotted origin
    type_checking_names: set[str] = field(default_factory=set)  # imported only under `if TYPE_CHECKING:`
    globals: set[str] = field(default_factory=set)  # every name bound at module level
    constants: dict[str, object] = field(default_factory=dict)  # NAME = <literal>
    aliases: dict[str, ast.expr] = field(default_factory=dict)  # module-level assignments (possible type aliases)
    classes: dict[str, ClassInfo] = field(default_factory=dict)
    functions: list[FunctionInfo] = field(default_factory=list)  # module-level functions

    def resolve(self, node: ast.expr) -> str | None:
        """The dotted name an annotation name refers to: "typing.Optional", "builtins.int", "local:Point"."""
        if isinstance(node, ast.Name):
            if node.id in self.classes:
                return f"local:{node.id}"
            if node.id in self.imports:
                return self.imports[node.id]
            if node.id in self.aliases:
                return f"alias:{node.id}"
            if node.id in _BUILTIN_NAMES and node.id not in self.globals:
                return f"builtins.{node.id}"
            if node.id in self.globals:
                return f"global:{node.id}"
            return None
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            if base is None or base.startswith(("local:", "alias:", "global:")):
                return None
            return f"{base.removeprefix('builtins.')}.{node.attr}"
        return None

    def all_functions(self) -> list[FunctionInfo]:
        """Module functions, then each class's constructor-built methods, in source order."""
        found = list(self.functions)
        for cls in self.classes.values():
            found.extend(cls.methods)
        return sorted(found, key=lambda function: function.lineno)

    def find(self, name: str) -> FunctionInfo | ClassInfo | None:
        """A function, class or `Class.method` by name."""
        if name in self.classes:
            return self.classes[name]
        for function in self.all_functions():
            if function.qualname == name or (function.class_name is None and function.name == name):
                return function
        return None

    def symbol_at(self, line: int) -> FunctionInfo | ClassInfo | None:
        """The innermost function or class whose source spans 1-based `line`."""
        best: FunctionInfo | ClassInfo | None = None
        for cls in self.classes.values():
            if cls.lineno <= line <= cls.end_lineno:
                best = cls
                for method in cls.methods:
                    if method.lineno <= line <= method.end_lineno:
                        return method
        for function in self.functions:
            if function.lineno <= line <= function.end_lineno:
                return function
        return best


def _literal(node: ast.expr, module: ModuleInfo | None = None) -> tuple[bool, object]:
    """(True, value) when `node` is a literal, a negated number, or a module constant."""
    if isinstance(node, ast.Name) and module is not None and node.id in module.constants:
        return True, module.constants[node.id]
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def _decorator_names(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> list[str]:
    names = []
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        names.append(ast.unparse(target))
    return names


def _params(node: ast.FunctionDef | ast.AsyncFunctionDef, doc: DocInfo) -> list[ParamInfo]:
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    params = []
    for index, arg in enumerate(positional):
        kind = "positional_only" if index < len(args.posonlyargs) else "positional_or_keyword"
        params.append(ParamInfo(arg.arg, kind, arg.annotation, defaults[index], doc.params.get(arg.arg)))
    if args.vararg:
        params.append(ParamInfo(args.vararg.arg, "var_positional", args.vararg.annotation))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        params.append(ParamInfo(arg.arg, "keyword_only", arg.annotation, default, doc.params.get(arg.arg)))
    if args.kwarg:
        params.append(ParamInfo(args.kwarg.arg, "var_keyword", args.kwarg.annotation))
    return params


def _param_of(node: ast.expr, names: set[str]) -> tuple[str | None, bool]:
    """(param, is_len) for `param` or `len(param)`."""
    if isinstance(node, ast.Name) and node.id in names:
        return node.id, False
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "len"
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Name)
        and node.args[0].id in names
    ):
        return node.args[0].id, True
    return None, False


def _around(value: object, is_len: bool) -> list[BoundaryValue]:
    if is_len:
        if isinstance(value, int) and not isinstance(value, bool):
            return [BoundaryValue("length", n) for n in sorted({max(0, value - 1), max(0, value), value + 1}) if n < 10_000]
        return []
    if isinstance(value, bool) or value is None:
        return [BoundaryValue("value", value)]
    if isinstance(value, (int, float)):
        return [BoundaryValue("value", value - 1), BoundaryValue("value", value), BoundaryValue("value", value + 1)]
    if isinstance(value, (str, bytes)):
        return [BoundaryValue("value", value), BoundaryValue("value", value[:-1] if value else value)]
    return []


def _range_bounds(call: ast.Call, module: ModuleInfo) -> list[BoundaryValue]:
    values = [_literal(arg, module) for arg in call.args]
    if not values or not all(ok and isinstance(v, int) for ok, v in values):
        return []
    numbers = [v for _, v in values]
    start, stop = (0, numbers[0]) if len(numbers) == 1 else (numbers[0], numbers[1])
    return [BoundaryValue("value", v) for v in sorted({start - 1, start, stop - 1, stop})]


def _boundaries(node: ast.AST, names: set[str], module: ModuleInfo) -> dict[str, list[BoundaryValue]]:
    found: dict[str, list[BoundaryValue]] = {}

    def add(param: str, values: list[BoundaryValue]) -> None:
        bucket = found.setdefault(param, [])
        bucket.extend(v for v in values if v not in bucket)

    def comparisons(compare: ast.Compare) -> list[tuple[ast.expr, ast.cmpop, ast.expr]]:
        # `a < x <= b` is `a < x` and `x <= b`: each link is a boundary of its own.
        operands = [compare.left, *compare.comparators]
        return [(operands[i], op, operands[i + 1]) for i, op in enumerate(compare.ops)]

    for sub in ast.walk(node):
        links = comparisons(sub) if isinstance(sub, ast.Compare) else []
        for left, op, right in links:
            if isinstance(op, (ast.In, ast.NotIn)):
                param, is_len = _param_of(left, names)
                if param is None or is_len:
                    continue
                if isinstance(right, (ast.Tuple, ast.List, ast.Set)):
                    members = [_literal(element, module) for element in right.elts]
                    literals = [v for ok, v in members if ok]
                    values = [BoundaryValue("value", v) for v in literals]
                    # A value outside the literal, of the members' type, is the other side of the boundary.
                    if literals and all(isinstance(v, str) for v in literals):
                        values.append(BoundaryValue("value", "".join(sorted(literals))[:20] + "_"))
                    elif literals and all(isinstance(v, int) and not isinstance(v, bool) for v in literals):
                        values.append(BoundaryValue("value", max(literals) + 1))
                    add(param, values)
                elif isinstance(right, ast.Call) and isinstance(right.func, ast.Name) and right.func.id == "range":
                    add(param, _range_bounds(right, module))
                continue
            for this, other in ((left, right), (right, left)):
                param, is_len = _param_of(this, names)
                if param is None:
                    continue
                ok, value = _literal(other, module)
                if ok:
                    add(param, _around(value, is_len))
        if (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and isinstance(sub.func.value, ast.Name)
                and module.imports.get(sub.func.value.id) == "re" and sub.func.attr in _REGEX_CALLS):
            # A parameter used as a pattern or a replacement template: the characters regexes treat specially.
            slots = [0, 1] if sub.func.attr in {"sub", "subn"} else [0]
            for slot in slots:
                if len(sub.args) > slot:
                    param, is_len = _param_of(sub.args[slot], names)
                    if param is not None and not is_len:
                        add(param, [BoundaryValue("value", v) for v in ("\\", "(", "\\1")])
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name):
            if sub.func.id == "isinstance" and len(sub.args) == 2:
                param, _ = _param_of(sub.args[0], names)
                if param is None:
                    continue
                types = sub.args[1].elts if isinstance(sub.args[1], ast.Tuple) else [sub.args[1]]
                add(param, [BoundaryValue("type", ast.unparse(t)) for t in types])
            elif sub.func.id == "range":
                for arg in sub.args:
                    if isinstance(arg, ast.Name) and arg.id in names:
                        add(arg.id, [BoundaryValue("value", v) for v in (-1, 0, 1)])
        elif isinstance(sub, (ast.If, ast.While, ast.IfExp, ast.Assert)):
            test = sub.test
            if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
                test = test.operand
            if isinstance(test, ast.Name) and test.id in names:
                add(test.id, [BoundaryValue("falsy", None)])
    return found


def _usage_types(node: ast.AST, names: set[str]) -> dict[str, str]:
    """Types implied by how the body uses an unannotated parameter (`s.lower()` → str)."""
    votes: dict[str, str] = {}
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) and sub.value.id in names:
            name = sub.value.id
            if sub.attr in _STR_METHODS:
                votes.setdefault(name, "str")
            elif sub.attr in _LIST_METHODS:
                votes.setdefault(name, "list")
            elif sub.attr in _DICT_METHODS:
                votes.setdefault(name, "dict")
            elif sub.attr == "decode":
                votes.setdefault(name, "bytes")
        elif isinstance(sub, ast.BinOp):
            for this, other in ((sub.left, sub.right), (sub.right, sub.left)):
                if isinstance(this, ast.Name) and this.id in names and isinstance(other, ast.Constant):
                    if isinstance(other.value, float):
                        votes.setdefault(this.id, "float")
                    elif isinstance(other.value, int) and not isinstance(sub.op, ast.Mult):
                        votes.setdefault(this.id, "int")
                    elif isinstance(other.value, str) and isinstance(sub.op, ast.Add):
                        votes.setdefault(this.id, "str")
        elif isinstance(sub, ast.Compare) and len(sub.ops) == 1:
            if isinstance(sub.ops[0], (ast.Lt, ast.LtE, ast.Gt, ast.GtE)):
                for this, other in ((sub.left, sub.comparators[0]), (sub.comparators[0], sub.left)):
                    if isinstance(this, ast.Name) and this.id in names and isinstance(other, ast.Constant):
                        if isinstance(other.value, float):
                            votes.setdefault(this.id, "float")
                        elif isinstance(other.value, int):
                            votes.setdefault(this.id, "int")
        elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.args:
            arg = sub.args[0]
            if isinstance(arg, ast.Name) and arg.id in names:
                if sub.func.id in {"len", "sorted", "reversed", "enumerate", "set"}:
                    votes.setdefault(arg.id, "list" if sub.func.id != "len" else "str")
                elif sub.func.id in {"abs", "round"}:
                    votes.setdefault(arg.id, "float")
        elif isinstance(sub, (ast.For, ast.comprehension)):
            if isinstance(sub.iter, ast.Name) and sub.iter.id in names:
                votes.setdefault(sub.iter.id, "list")
    return votes


def _rebound(statements: list[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for statement in statements:
        for sub in ast.walk(statement):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
                names.add(sub.id)
    return names


def _exception_name(raise_node: ast.Raise) -> str | None:
    exc = raise_node.exc
    if isinstance(exc, ast.Call):
        exc = exc.func
    if isinstance(exc, ast.Name):
        return exc.id
    if isinstance(exc, ast.Attribute):
        return ast.unparse(exc)
    return None


def _guards(body: list[ast.stmt], params: set[str], module: ModuleInfo) -> list[Guard]:
    guards: list[Guard] = []
    for index, statement in enumerate(body):
        chain = statement
        while isinstance(chain, ast.If):
            raises = [s for s in chain.body if isinstance(s, ast.Raise)]
            name = _exception_name(raises[0]) if raises else None
            if name:
                loads = {n.id for n in ast.walk(chain.test) if isinstance(n, ast.Name)}
                rebound = _rebound(body[:index])
                known = params | _BUILTIN_NAMES | module.globals
                simple = loads <= known and not (loads & rebound) and not any(
                    isinstance(n, (ast.Await, ast.Yield, ast.NamedExpr)) for n in ast.walk(chain.test)
                )
                guards.append(Guard(chain.test, name, simple, chain.lineno))
            chain = chain.orelse[0] if len(chain.orelse) == 1 else None
    return guards


def _function(
    node: ast.FunctionDef | ast.AsyncFunctionDef, module: ModuleInfo, class_name: str | None
) -> FunctionInfo:
    doc = parse_docstring(ast.get_docstring(node))
    decorators = _decorator_names(node)
    params = _params(node, doc)
    method_kind = "function"
    if class_name is not None:
        if "staticmethod" in decorators:
            method_kind = "staticmethod"
        elif "classmethod" in decorators:
            method_kind = "classmethod"
        elif "property" in decorators or any(d.endswith((".setter", ".getter", ".deleter")) for d in decorators):
            method_kind = "property"
        else:
            method_kind = "method"
        if method_kind in {"method", "classmethod", "property"} and params:
            params = params[1:]  # self / cls is supplied by the instance or class, not by a strategy
    names = {p.name for p in params}
    body = node.body[1:] if ast.get_docstring(node) is not None else node.body
    own_nodes = [n for n in ast.walk(node) if not (n is not node and isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)))]
    function = FunctionInfo(
        name=node.name,
        qualname=f"{class_name}.{node.name}" if class_name else node.name,
        node=node,
        params=params,
        returns=node.returns,
        doc=doc,
        class_name=class_name,
        method_kind=method_kind,
        is_async=isinstance(node, ast.AsyncFunctionDef),
        is_generator=any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in own_nodes),
    )
    wrapper = ast.Module(body=body, type_ignores=[])
    function.boundaries = _boundaries(wrapper, names, module)
    function.guards = _guards(body, names, module)
    function.raised_types = sorted(
        {name for n in ast.walk(wrapper) if isinstance(n, ast.Raise) and (name := _exception_name(n))}
    )
    usage = _usage_types(wrapper, {p.name for p in params if p.annotation is None})
    for param in params:
        param.usage_type = usage.get(param.name)
    return function


def _class(node: ast.ClassDef, module: ModuleInfo) -> ClassInfo:
    bases = [module.resolve(base) or ast.unparse(base) for base in node.bases]
    decorators = _decorator_names(node)
    short = {b.rsplit(".", 1)[-1].removeprefix("local:") for b in bases}
    if any(d.rsplit(".", 1)[-1] == "dataclass" for d in decorators):
        kind = "dataclass"
    elif short & {"Enum", "IntEnum", "StrEnum", "Flag", "IntFlag"}:
        kind = "enum"
    elif "NamedTuple" in short:
        kind = "namedtuple"
    elif "TypedDict" in short:
        kind = "typeddict"
    elif "Protocol" in short:
        kind = "protocol"
    elif short & {"ABC"} or any(k.arg == "metaclass" for k in node.keywords):
        kind = "abstract"
    else:
        kind = "class"
    info = ClassInfo(node.name, node, bases, kind)
    for keyword in node.keywords:
        if keyword.arg == "total" and isinstance(keyword.value, ast.Constant):
            info.total = bool(keyword.value.value)
    for statement in node.body:
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            annotation_text = ast.unparse(statement.annotation)
            if "ClassVar" in annotation_text:
                continue
            default = statement.value
            if kind == "dataclass" and isinstance(default, ast.Call) and ast.unparse(default.func).endswith("field"):
                has_default = any(k.arg in {"default", "default_factory"} for k in default.keywords)
                init_false = any(
                    k.arg == "init" and isinstance(k.value, ast.Constant) and k.value.value is False
                    for k in default.keywords
                )
                if init_false:
                    continue
                default = statement.value if has_default else None
            info.fields.append(ParamInfo(statement.target.id, "keyword_only", statement.annotation, default))
        elif isinstance(statement, ast.Assign) and kind == "enum":
            info.members.extend(t.id for t in statement.targets if isinstance(t, ast.Name) and not t.id.startswith("_"))
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            method = _function(statement, module, node.name)
            if statement.name == "__init__":
                info.init = method
            elif not statement.name.startswith("_") and method.method_kind != "property":
                info.methods.append(method)
            elif statement.name.startswith("_") and not statement.name.endswith("__") and method.method_kind != "property":
                info.private_methods.append(method)
    return info


def _is_type_checking(test: ast.expr) -> bool:
    return ast.unparse(test).endswith("TYPE_CHECKING")


def analyse_source(source: str, module_name: str = "module", path: Path | None = None) -> ModuleInfo:
    tree = ast.parse(source, filename=str(path or "<source>"))
    module = ModuleInfo(path=path, module_name=module_name, source=source)
    package = module_name.rsplit(".", 1)[0] if "." in module_name else ""

    def record_imports(statements: list[ast.stmt], type_checking: bool) -> None:
        for statement in statements:
            if isinstance(statement, ast.Import):
                for alias in statement.names:
                    local = alias.asname or alias.name.split(".")[0]
                    module.imports[local] = alias.name if alias.asname else alias.name.split(".")[0]
                    module.globals.add(local)
                    if type_checking:
                        module.type_checking_names.add(local)
            elif isinstance(statement, ast.ImportFrom):
                base = statement.module or ""
                if statement.level:
                    parts = package.split(".") if package else []
                    parts = parts[: len(parts) - (statement.level - 1)] if statement.level > 1 else parts
                    base = ".".join([*parts, base] if base else parts)
                for alias in statement.names:
                    local = alias.asname or alias.name
                    module.imports[local] = f"{base}.{alias.name}" if base else alias.name
                    module.globals.add(local)
                    if type_checking:
                        module.type_checking_names.add(local)
            elif isinstance(statement, ast.If) and _is_type_checking(statement.test):
                record_imports(statement.body, True)
            elif isinstance(statement, ast.Try):
                record_imports(statement.body, type_checking)

    record_imports(tree.body, False)
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            module.globals.add(statement.name)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                if isinstance(target, ast.Name) and statement.value is not None:
                    module.globals.add(target.id)
                    ok, value = _literal(statement.value)
                    if ok:
                        module.constants[target.id] = value
                    else:
                        module.aliases[target.id] = statement.value
        elif isinstance(statement, ast.TypeAlias) if hasattr(ast, "TypeAlias") else False:
            module.globals.add(statement.name.id)
            module.aliases[statement.name.id] = statement.value
    for statement in tree.body:
        if isinstance(statement, ast.ClassDef):
            module.classes[statement.name] = _class(statement, module)
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            module.functions.append(_function(statement, module, None))
    return module


def analyse_file(path: Path, module_name: str | None = None) -> ModuleInfo:
    source = Path(path).read_text(encoding="utf-8")
    return analyse_source(source, module_name or Path(path).stem, Path(path))

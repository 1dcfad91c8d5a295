"""Which properties to test for each function, as `TestSpec`s that render.py turns into source.

Kinds: "no_exception" (the call raises nothing it does not raise on purpose; the return value has the
annotated type), "raises" (the guarded `raise` fires on the guard's side), "roundtrip" (decode(encode(x)) ==
x for encode/decode, dumps/loads, to_x/from_x... pairs), "idempotent" (f(f(x)) == f(x) for normalise, sort,
strip...), "oracle" (the docstring's doctest examples as assertions).
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field

from fireside.testgen.analysis import ClassInfo, FunctionInfo, Guard, ModuleInfo
from fireside.testgen.strategies import (
    ParamStrategy,
    StrategyContext,
    boundary_example,
    class_strategy,
    plan_param,
)

__all__ = ["HEURISTIC_KINDS", "Skipped", "TestSpec", "build_specs", "functions_in_scope"]

# Properties guessed from names alone: a failure says the guess was wrong, never that the code is.
HEURISTIC_KINDS = frozenset({"roundtrip", "idempotent"})

_BUILTIN_NAMES = frozenset(dir(builtins))
_MAX_EXAMPLES = 12
_ROUNDTRIP_PAIRS = [
    ("encode", "decode"), ("dumps", "loads"), ("dump", "load"), ("serialize", "deserialize"),
    ("serialise", "deserialise"), ("compress", "decompress"), ("encrypt", "decrypt"), ("quote", "unquote"),
    ("escape", "unescape"), ("pack", "unpack"), ("marshal", "unmarshal"), ("format", "parse"),
    ("to_", "from_"), ("encode", "decode"),
]
_IDEMPOTENT_WORDS = (
    "normalize", "normalise", "sort", "strip", "clean", "canonical", "dedup", "unique", "simplify", "sanitize",
    "sanitise", "lower", "upper", "trim", "collapse", "compact", "flatten", "squash", "slugify", "dedent",
)


@dataclass
class TestSpec:
    __test__ = False  # not a pytest test class, despite the name
    name: str
    kind: str  # "no_exception" | "raises" | "roundtrip" | "idempotent" | "oracle"
    qualname: str  # the function under test
    lineno: int
    given: list[tuple[str, str]] = field(default_factory=list)  # (argument, strategy source)
    examples: list[dict[str, str]] = field(default_factory=list)
    assumes: list[str] = field(default_factory=list)
    setup: list[str] = field(default_factory=list)  # statements before the checks
    call: str = ""
    catch: list[str] = field(default_factory=list)  # exceptions the function raises on purpose
    return_check: str | None = None  # isinstance() target or "in (...)" membership
    consume: bool = False  # a generator: iterate it so its body runs
    raises: str | None = None
    inverse: str | None = None  # "{}"-template of the other half of a round trip / the second application
    statements: list[str] = field(default_factory=list)  # oracle: ready-made lines
    origins: dict[str, str] = field(default_factory=dict)  # parameter -> where its strategy came from
    imports: set[str] = field(default_factory=set)
    comment: str | None = None
    narrow: bool = False
    example_notes: list[str] = field(default_factory=list)  # a comment per example (why it is there)
    explicit: bool = False  # run only its @examples (Hypothesis's explicit phase), no generated inputs
    domain: dict[str, str] = field(default_factory=dict)  # parameter -> the type it declares (annotation/docstring)


@dataclass
class Skipped:
    qualname: str
    reason: str


def functions_in_scope(module: ModuleInfo, symbol: str | None) -> tuple[list[FunctionInfo], list[ClassInfo]]:
    """The public functions and methods to test, and the classes whose constructors to test."""
    if symbol is None:
        functions = [f for f in module.functions if not f.name.startswith("_")]
        classes = [c for c in module.classes.values() if not c.name.startswith("_")]
        for cls in classes:
            functions.extend(cls.methods)
        return sorted(functions, key=lambda f: f.lineno), classes
    found = module.find(symbol)
    if found is None:
        raise LookupError(f"no function, class or method named {symbol!r} in {module.module_name}")
    if isinstance(found, ClassInfo):
        return list(found.methods), [found]
    return [found], []


class _Qualify(ast.NodeTransformer):
    """Module-level names that are read (not `local`, not assigned) become `alias.name`."""

    def __init__(self, module: ModuleInfo, alias: str, local: set[str]) -> None:
        self.module, self.alias, self.local = module, alias, local

    def visit_Name(self, name: ast.Name) -> ast.AST:
        if name.id in self.local or name.id not in self.module.globals or not isinstance(name.ctx, ast.Load):
            return name
        return ast.copy_location(ast.Attribute(ast.Name(self.alias, ast.Load()), name.id, ast.Load()), name)


def _qualify(node: ast.expr, module: ModuleInfo, alias: str, local: set[str]) -> str:
    """Source of `node` with module-level names read through the module alias."""
    # Transform a copy: `node` belongs to the analysed module.
    return ast.unparse(_Qualify(module, alias, local).visit(ast.parse(ast.unparse(node), mode="eval")).body)


def _exception_source(name: str, module: ModuleInfo, alias: str) -> str:
    root = name.split(".")[0]
    return name if root in _BUILTIN_NAMES and root not in module.globals else f"{alias}.{name}"


def _slug(text: str, limit: int = 40) -> str:
    slug = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()
    return slug[:limit].rstrip("_") or "case"


def _return_check(function: FunctionInfo, module: ModuleInfo, alias: str) -> str | None:
    node = function.returns
    if node is None and function.doc.returns:
        try:
            node = ast.parse(function.doc.returns, mode="eval").body
        except SyntaxError:
            return None
    if node is None or function.is_generator:
        return None
    targets = _isinstance_targets(node, module, alias)
    if targets is None:
        return None
    if targets and targets[0].startswith("in "):
        return targets[0]
    unique = list(dict.fromkeys(targets))
    return unique[0] if len(unique) == 1 else "(" + ", ".join(unique) + ")"


def _isinstance_targets(node: ast.expr, module: ModuleInfo, alias: str) -> list[str] | None:
    if isinstance(node, ast.Constant) and node.value is None:
        return ["type(None)"]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            return _isinstance_targets(ast.parse(node.value, mode="eval").body, module, alias)
        except SyntaxError:
            return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        left, right = _isinstance_targets(node.left, module, alias), _isinstance_targets(node.right, module, alias)
        if left is None or right is None or any(t.startswith("in ") for t in left + right):
            return None
        return left + right
    if isinstance(node, ast.Subscript):
        origin = module.resolve(node.value) or ""
        name = origin.rsplit(".", 1)[-1]
        args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        if name in {"Optional", "Union"}:
            parts = [_isinstance_targets(a, module, alias) for a in args]
            if any(p is None or any(t.startswith("in ") for t in p) for p in parts):
                return None
            return [t for p in parts for t in p] + (["type(None)"] if name == "Optional" else [])  # type: ignore[union-attr]
        if name == "Literal":
            try:
                return ["in " + repr(tuple(ast.literal_eval(a) for a in args))]
            except ValueError:
                return None
        if name in {"list", "List"}:
            return ["list"]
        if name in {"dict", "Dict"}:
            return ["dict"]
        if name in {"tuple", "Tuple"}:
            return ["tuple"]
        if name in {"set", "Set"}:
            return ["set"]
        if name in {"frozenset", "FrozenSet"}:
            return ["frozenset"]
        return None
    origin = module.resolve(node)
    if origin is None:
        return None
    if origin.startswith("builtins."):
        name = origin[9:]
        if name == "float":
            return ["int", "float"]  # the numeric tower: an int is an acceptable float
        if name == "complex":
            return ["int", "float", "complex"]
        if name in {"int", "str", "bytes", "bool", "list", "dict", "tuple", "set", "frozenset", "bytearray"}:
            return [name]
        return None
    if origin.startswith("local:"):
        cls = module.classes[origin[6:]]
        if cls.kind == "typeddict":
            return ["dict"]
        if cls.kind == "protocol":
            return None
        return [f"{alias}.{cls.name}"]
    return None


def _domain(planned: list[ParamStrategy]) -> dict[str, str]:
    """The declared type of each parameter whose strategy came from a declaration, as source text."""
    found = {}
    for strategy in planned:
        if strategy.origin == "annotation" and strategy.param.annotation is not None:
            found[strategy.param.name] = ast.unparse(strategy.param.annotation)
        elif strategy.origin == "docstring" and strategy.param.doc_type:
            found[strategy.param.name] = strategy.param.doc_type
    return found


class _Planner:
    def __init__(self, module: ModuleInfo, alias: str, narrow: bool, model_types: dict[str, dict[str, str]],
                 required_only: bool = False):
        self.required_only = required_only  # the last retry: optional parameters keep their defaults
        self.module = module
        self.alias = alias
        self.narrow = narrow
        self.model_types = model_types
        self.imports: set[str] = set()
        self.skipped: list[Skipped] = []
        self.used_names: set[str] = set()

    def ctx(self) -> StrategyContext:
        ctx = StrategyContext(self.module, self.alias, narrow=self.narrow)
        ctx.imports = self.imports
        return ctx

    def unique(self, name: str) -> str:
        base, number = name, 2
        while name in self.used_names:
            name = f"{base}_{number}"
            number += 1
        self.used_names.add(name)
        return name

    def catch(self, function: FunctionInfo) -> list[str]:
        """The exceptions `function` raises on purpose, as the test file spells them."""
        return [_exception_source(e, self.module, self.alias) for e in function.raised_types]

    # --- arguments --------------------------------------------------------------------------------------

    def arguments(self, function: FunctionInfo) -> list[ParamStrategy]:
        """Strategies for the parameters a test passes (an optional one nothing can type keeps its default)."""
        planned = []
        model = self.model_types.get(function.qualname, {})
        for param in function.params:
            if param.kind in {"var_positional", "var_keyword"} or (self.required_only and param.has_default):
                continue
            strategy = plan_param(param, self.ctx(), model, allow_fallback=not param.has_default)
            if strategy is None:
                continue  # optional and unresolvable: leave it at its default
            planned.append(strategy)
        return planned

    def callee(self, function: FunctionInfo) -> tuple[str, tuple[str, str] | None, str | None] | None:
        """(callee source, extra given for the instance, simple instance source)."""
        alias = self.alias
        if function.class_name is None:
            return f"{alias}.{function.name}", None, None
        cls = self.module.classes[function.class_name]
        if function.method_kind in {"classmethod", "staticmethod"}:
            return f"{alias}.{cls.name}.{function.name}", None, None
        strategy = class_strategy(cls, self.ctx())
        if strategy is None:
            self.skipped.append(Skipped(function.qualname, f"cannot build a {cls.name} from its constructor's types"))
            return None
        return f"instance.{function.name}", ("instance", strategy.source), self.simple_instance(cls)

    def simple_instance(self, cls: ClassInfo) -> str | None:
        if cls.kind == "enum":
            return f"{self.alias}.{cls.name}.{cls.members[0]}" if cls.members else None
        params = cls.fields if cls.kind in {"dataclass", "namedtuple"} else (cls.init.params if cls.init else [])
        args = []
        for param in params:
            if param.has_default or param.kind in {"var_positional", "var_keyword"}:
                continue
            planned = plan_param(param, self.ctx(), allow_fallback=False)
            if planned is None or planned.simple is None:
                return None
            args.append(f"{param.name}={planned.simple}")
        if cls.kind == "typeddict":
            return None
        return f"{self.alias}.{cls.name}({', '.join(args)})"

    @staticmethod
    def call_source(callee: str, planned: list[ParamStrategy], names: dict[str, str] | None = None) -> str:
        parts = []
        for strategy in planned:
            value = (names or {}).get(strategy.param.name, strategy.param.name)
            parts.append(value if strategy.param.kind == "positional_only" else f"{strategy.param.name}={value}")
        return f"{callee}({', '.join(parts)})"

    def examples(self, function: FunctionInfo, planned: list[ParamStrategy], instance_simple: str | None,
                 has_instance: bool) -> list[dict[str, str]]:
        simple: dict[str, str] = {}
        for strategy in planned:
            value = ast.unparse(strategy.param.default) if strategy.param.default is not None else strategy.simple
            if value is None or (strategy.param.default is not None and not _is_literal(strategy.param.default)):
                value = strategy.simple
            if value is None:
                return []
            simple[strategy.param.name] = value
        if has_instance:
            if instance_simple is None:
                return []
            simple["instance"] = instance_simple
        examples: list[dict[str, str]] = []
        for strategy in planned:
            for boundary in function.boundaries.get(strategy.param.name, []):
                value = boundary_example(boundary, strategy)
                if value is None:
                    continue
                example = {**simple, strategy.param.name: value}
                if example not in examples:
                    examples.append(example)
        return examples[:_MAX_EXAMPLES]

    # --- the properties ---------------------------------------------------------------------------------

    def fuzz(self, function: FunctionInfo) -> list[TestSpec]:
        target = self.callee(function)
        if target is None:
            return []
        callee, instance, instance_simple = target
        planned = self.arguments(function)
        given = ([instance] if instance else []) + [(p.param.name, p.source) for p in planned]
        origins = {p.param.name: p.origin for p in planned}
        catch, comment = _wrong_type_tolerated(self.catch(function), planned)
        specs = [
            TestSpec(
                name=self.unique(f"test_{_slug(function.qualname, 60)}_fuzz"),
                kind="no_exception",
                qualname=function.qualname,
                lineno=function.lineno,
                given=given,
                examples=self.examples(function, planned, instance_simple, instance is not None),
                call=self.call_source(callee, planned),
                catch=catch,
                comment=comment,
                return_check=_return_check(function, self.module, self.alias),
                consume=function.is_generator,
                origins=origins,
                narrow=self.narrow,
                domain=_domain(planned),
            )
        ]
        specs.extend(self.raises(function, callee, instance, planned, origins))
        specs.extend(self.idempotent(function, callee, instance, planned, origins))
        return specs

    def raises(self, function: FunctionInfo, callee: str, instance: tuple[str, str] | None,
               planned: list[ParamStrategy], origins: dict[str, str]) -> list[TestSpec]:
        specs = []
        names = {p.param.name for p in planned}
        earlier: list[Guard] = []
        type_checks: list[Guard] = []  # always false for the annotated types the strategies draw
        for guard in function.guards:
            loads = {n.id for n in ast.walk(guard.test) if isinstance(n, ast.Name)}
            params_read = {p.name for p in function.params} & loads
            if not guard.simple or not params_read <= names:
                earlier.append(guard)
                continue
            typed = {p.param.name for p in planned if p.origin != "fallback"}
            if "isinstance(" in ast.unparse(guard.test) and params_read <= typed:
                earlier.append(guard)
                type_checks.append(guard)
                continue  # a type check on a typed parameter: its strategy never reaches that side (a round may)
            given = []
            for strategy in planned:
                source = strategy.source
                values = [boundary_example(b, strategy) for b in function.boundaries.get(strategy.param.name, [])]
                values = list(dict.fromkeys(v for v in values if v is not None))
                if strategy.param.name in params_read and values:
                    # Bias towards the boundary so the guard's side is reached without filtering too much.
                    source = f"st.sampled_from([{', '.join(values)}]) | {source}"
                given.append((strategy.param.name, source))
            local = {p.name for p in function.params}
            assumes = [_qualify(guard.test, self.module, self.alias, local)]
            assumes += [f"not ({_qualify(g.test, self.module, self.alias, local)})" for g in earlier if g.simple and g not in type_checks]
            if any(not g.simple for g in earlier):
                earlier.append(guard)
                continue  # an earlier guard we cannot evaluate might fire first
            specs.append(
                TestSpec(
                    name=self.unique(
                        f"test_{_slug(function.qualname, 40)}_raises_{_slug(guard.exception.rsplit('.', 1)[-1])}"
                        f"_when_{_slug(ast.unparse(guard.test), 40)}"
                    ),
                    kind="raises",
                    qualname=function.qualname,
                    lineno=guard.lineno,
                    given=([instance] if instance else []) + given,
                    assumes=assumes,
                    call=self.call_source(callee, planned),
                    raises=_exception_source(guard.exception, self.module, self.alias),
                    origins=origins,
                    comment=f"{function.qualname} raises {guard.exception} on purpose when {ast.unparse(guard.test)}",
                    narrow=self.narrow,
                )
            )
            earlier.append(guard)
        return specs

    def idempotent(self, function: FunctionInfo, callee: str, instance: tuple[str, str] | None,
                   planned: list[ParamStrategy], origins: dict[str, str]) -> list[TestSpec]:
        lowered = function.name.lower()
        if not any(word in lowered for word in _IDEMPOTENT_WORDS) or function.is_generator:
            return []
        required = [p for p in planned if not p.param.has_default]
        if len(required) != 1 or planned[0] is not required[0]:
            return []
        first = required[0]
        returns = ast.unparse(function.returns) if function.returns is not None else None
        annotation = ast.unparse(first.param.annotation) if first.param.annotation is not None else None
        if returns and annotation and returns != annotation:
            return []  # the result is not a valid input: f(f(x)) means nothing
        inverse = self.call_source(callee, [first], {first.param.name: "{}"})
        return [
            TestSpec(
                name=self.unique(f"test_{_slug(function.qualname, 60)}_is_idempotent"),
                kind="idempotent",
                qualname=function.qualname,
                lineno=function.lineno,
                given=([instance] if instance else []) + [(first.param.name, first.source)],
                examples=self.examples(function, [first], self.simple_instance(self.module.classes[function.class_name])
                                       if instance and function.class_name else None, instance is not None),
                call=self.call_source(callee, [first]),
                catch=self.catch(function),
                inverse=inverse,
                origins={first.param.name: first.origin},
                narrow=self.narrow,
            )
        ]

    def roundtrips(self, functions: list[FunctionInfo]) -> list[TestSpec]:
        by_name = {f.name: f for f in self.module.functions}
        specs = []
        seen: set[tuple[str, str]] = set()
        for function in functions:
            if function.class_name is not None:
                continue
            partners = []
            for forward, backward in _ROUNDTRIP_PAIRS:
                if forward in function.name:
                    partners.append(function.name.replace(forward, backward, 1))
            match = re.fullmatch(r"(\w+)_to_(\w+)", function.name)
            if match:
                partners.append(f"{match[2]}_to_{match[1]}")
            match = re.fullmatch(r"to([A-Z]\w*)", function.name)  # camelCase: toRoman / fromRoman
            if match:
                partners.append(f"from{match[1]}")
            for partner_name in partners:
                partner = by_name.get(partner_name)
                if partner is None or (function.name, partner_name) in seen or partner is function:
                    continue
                seen.add((function.name, partner_name))
                planned = self.arguments(function)
                required = [p for p in planned if not p.param.has_default]
                partner_required = [p for p in partner.params if not p.has_default and p.kind not in {"var_positional", "var_keyword"}]
                if len(required) != 1 or len(partner_required) != 1:
                    continue
                first = required[0]
                specs.append(
                    TestSpec(
                        name=self.unique(f"test_{_slug(partner.name)}_inverts_{_slug(function.name)}"),
                        kind="roundtrip",
                        qualname=function.qualname,
                        lineno=function.lineno,
                        given=[(first.param.name, first.source)],
                        examples=self.examples(function, [first], None, False),
                        call=self.call_source(f"{self.alias}.{function.name}", [first]),
                        catch=self.catch(function),
                        inverse=f"{self.alias}.{partner.name}({{}})",
                        origins={first.param.name: first.origin},
                        narrow=self.narrow,
                    )
                )
        return specs

    def constructor(self, cls: ClassInfo) -> list[TestSpec]:
        if cls.kind in {"enum", "typeddict", "protocol", "abstract"}:
            return []
        if cls.init is None and cls.kind == "class":
            return []
        strategy = class_strategy(cls, self.ctx())
        if cls.init is not None:
            function = FunctionInfo(
                name=cls.name, qualname=cls.name, node=cls.init.node, params=cls.init.params, returns=None,
                doc=cls.init.doc, boundaries=cls.init.boundaries, guards=cls.init.guards,
                raised_types=cls.init.raised_types,
            )
            specs = self.fuzz(function)
            for spec in specs:
                if spec.kind == "no_exception":
                    spec.return_check = f"{self.alias}.{cls.name}"
            return [s for s in specs if s.kind != "idempotent"]
        if strategy is None:
            self.skipped.append(Skipped(cls.name, "cannot build it from its field types"))
            return []
        return [
            TestSpec(
                name=self.unique(f"test_{_slug(cls.name)}_builds"),
                kind="no_exception",
                qualname=cls.name,
                lineno=cls.lineno,
                given=[("instance", strategy.source)],
                call="instance",
                return_check=f"{self.alias}.{cls.name}",
                narrow=self.narrow,
            )
        ]

    def oracle(self, function: FunctionInfo) -> list[TestSpec]:
        if not function.doc.doctests:
            return []
        statements: list[str] = []
        assigned: set[str] = set()
        for doctest in function.doc.doctests:
            try:
                tree = ast.parse(doctest.source)
            except SyntaxError:
                return []
            if len(tree.body) != 1:
                return []
            statement = tree.body[0]
            if any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(statement)):
                return []
            source = _qualify_statement(statement, self.module, self.alias, assigned)
            if isinstance(statement, ast.Expr) and not isinstance(
                statement.value, (ast.Call, ast.Name, ast.Attribute, ast.Subscript, ast.Constant)
            ):
                source = f"({source})"  # `a is None == True` would chain; `(a is None) == True` does not
            for node in ast.walk(statement):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    assigned.add(node.id)
            expected = doctest.expected
            if expected is None or not isinstance(statement, ast.Expr):
                statements.append(source)
                continue
            if expected.startswith("Traceback"):
                last = expected.splitlines()[-1]
                exception = last.split(":", 1)[0].strip()
                if not re.fullmatch(r"[\w.]+", exception):
                    return []
                statements.append(f"with RAISES({_exception_source(exception, self.module, self.alias)}):")
                statements.append(f"    {source}")
                continue
            if expected in {"True", "False"} and source.startswith("("):
                statements.append(f"assert {source}" if expected == "True" else f"assert not {source}")
                continue
            if _is_literal(expected):
                statements.append(f"assert {source} == {expected}")
            else:
                statements.append(f"assert repr({source}) == {expected!r}")
        if not statements:
            return []
        return [
            TestSpec(
                name=self.unique(f"test_{_slug(function.qualname, 60)}_docstring_examples"),
                kind="oracle",
                qualname=function.qualname,
                lineno=function.lineno,
                statements=statements,
                comment=f"the examples {function.qualname}'s docstring promises",
            )
        ]


def _is_literal(node: ast.expr | str) -> bool:
    try:
        ast.literal_eval(node)
        return True
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False


def _qualify_statement(statement: ast.stmt, module: ModuleInfo, alias: str, local: set[str]) -> str:
    return ast.unparse(_Qualify(module, alias, local).visit(statement))


def build_specs(
    module: ModuleInfo,
    alias: str,
    symbol: str | None = None,
    *,
    narrow: bool = False,
    model_types: dict[str, dict[str, str]] | None = None,
    required_only: bool = False,
) -> tuple[list[TestSpec], list[Skipped], set[str]]:
    """Every test worth trying for `symbol` (or the whole module), what was skipped and why, extra imports."""
    planner = _Planner(module, alias, narrow, model_types or {}, required_only)
    functions, classes = functions_in_scope(module, symbol)
    specs: list[TestSpec] = []
    for cls in classes:
        specs.extend(planner.constructor(cls))
    for function in functions:
        if function.is_async:
            planner.skipped.append(Skipped(function.qualname, "async functions are not supported yet"))
            continue
        if function.method_kind == "property":
            continue
        specs.extend(planner.fuzz(function))
        specs.extend(planner.oracle(function))
    if symbol is None:
        specs.extend(planner.roundtrips(functions))
    elif isinstance(module.find(symbol), FunctionInfo):
        # One function: its round trips in either direction.
        pairs = planner.roundtrips(module.functions)
        specs.extend(s for s in pairs if s.qualname == symbol or f"{alias}.{symbol}(" in (s.inverse or ""))
    return specs, planner.skipped, planner.imports



def _wrong_type_tolerated(catch: list[str], planned: list[ParamStrategy]) -> tuple[list[str], str | None]:
    """A parameter nothing could type is drawn from a mix of simple values (None, booleans, integers, text):
    most of them are not what the function expects, and a rare one (None with a format string that reads a
    field) breaks it only now and then, so a test that passed verification would fail in some later run.
    Such a failure is never a likely bug (the input is outside any declared domain), so the test tolerates
    the two exceptions a value of the wrong type raises, and says why."""
    unknown = [p.param.name for p in planned if p.origin == "fallback"]
    if not unknown:
        return catch, None
    extra = [name for name in ("TypeError", "AttributeError") if name not in catch]
    return [*catch, *extra], (f"the type of {', '.join(unknown)} is unknown: a TypeError or AttributeError from a "
                              "value of the wrong type is not a failure")


class SpecFactory:
    """Single tests for the coverage rounds: a function called with chosen inputs, a regex-shaped strategy, or
    a direct test of a private helper. Strategies are the narrow ones (they are the retry that works most)."""

    def __init__(self, module: ModuleInfo, alias: str, used_names: set[str]) -> None:
        self._planner = _Planner(module, alias, True, {})
        self._planner.used_names = used_names
        self.module, self.alias = module, alias

    def unique(self, name: str) -> str:
        return self._planner.unique(name)

    def kinds(self, function: FunctionInfo) -> dict[str, str | None]:
        """The kind ("str", "int"...) of each parameter's strategy, None when unknown."""
        return {p.param.name: (p.kind if p.origin != "fallback" else None) for p in self._planner.arguments(function)}

    def _base(self, function: FunctionInfo) -> tuple[str, tuple[str, str] | None, str | None, list[ParamStrategy]] | None:
        if function.is_async or function.method_kind == "property":
            return None
        target = self._planner.callee(function)
        if target is None:
            return None
        callee, instance, instance_simple = target
        return callee, instance, instance_simple, self._planner.arguments(function)

    def _spec(self, function: FunctionInfo, name: str, callee: str, instance: tuple[str, str] | None,
              chosen: list[ParamStrategy], **fields: object) -> TestSpec:
        catch = self._planner.catch(function)
        if not fields.get("explicit"):  # drawn inputs: see _wrong_type_tolerated (an explicit call is run as written)
            catch, _ = _wrong_type_tolerated(catch, chosen)
        return TestSpec(
            name=name, kind="no_exception", qualname=function.qualname, lineno=function.lineno,
            given=([instance] if instance else []) + [(p.param.name, p.source) for p in chosen],
            call=self._planner.call_source(callee, chosen), catch=catch,
            return_check=_return_check(function, self.module, self.alias), consume=function.is_generator,
            origins={p.param.name: p.origin for p in chosen}, narrow=True, domain=_domain(chosen), **fields,  # type: ignore[arg-type]
        )

    def with_inputs(self, function: FunctionInfo, values: dict[str, str], note: str, name: str | None = None) -> TestSpec | None:
        """Calls `function` once (Hypothesis's explicit phase only) with `values`, the required parameters
        it does not set at their simple values, and the other optional ones at their defaults."""
        base = self._base(function)
        if base is None:
            return None
        callee, instance, instance_simple, planned = base
        by_name = {p.param.name: p for p in planned}
        chosen, example = [], {}
        for param in function.params:
            if param.kind in {"var_positional", "var_keyword"}:
                continue
            strategy = by_name.get(param.name)
            if param.name in values:
                strategy = strategy or plan_param(param, self._planner.ctx())
                example[param.name] = values[param.name]
            elif param.has_default:
                continue
            elif strategy is None or strategy.simple is None:
                return None
            else:
                example[param.name] = strategy.simple
            chosen.append(strategy)
        if instance is not None:
            if instance_simple is None:
                return None
            example = {"instance": instance_simple, **example}
        name = name or self.unique(f"test_{_slug(function.qualname, 50)}_reaches_branches")
        return self._spec(function, name, callee, instance, chosen, examples=[example], example_notes=[note], explicit=True)

    def matching(self, function: FunctionInfo, param: str, pattern: str, fullmatch: bool) -> TestSpec | None:
        """`function` with `param` drawn from strings that match `pattern` (the other parameters as usual)."""
        base = self._base(function)
        if base is None:
            return None
        callee, instance, _, planned = base
        chosen = [p for p in planned if not p.param.has_default or p.param.name == param]
        strategy = next((p for p in chosen if p.param.name == param), None)
        if strategy is None:
            return None
        source = f"st.from_regex({pattern}, fullmatch=True)" if fullmatch else f"st.from_regex({pattern})"
        shaped = ParamStrategy(strategy.param, source, strategy.origin, "str", "''")
        chosen = [shaped if p is strategy else p for p in chosen]
        pattern_name = pattern.rsplit(".", 1)[-1] if pattern.startswith(f"{self.alias}.") else "pattern"
        name = self.unique(f"test_{_slug(function.qualname, 40)}_{_slug(param, 20)}_matching_{_slug(pattern_name, 30)}")
        return self._spec(function, name, callee, instance, chosen,
                          comment=f"{param} drawn from strings that match {pattern}, as {function.qualname} parses it")

    def direct(self, function: FunctionInfo) -> list[TestSpec]:
        """The usual tests of a function the module keeps private (the rounds test it directly when its
        branches are out of reach through the public ones); never reported as bugs (see verify.py)."""
        if self._base(function) is None:
            return []
        return [s for s in self._planner.fuzz(function) if s.kind in {"no_exception", "raises"}]

    def optional_names(self, function: FunctionInfo) -> list[str]:
        """The optional parameters a strategy can draw (the others keep their defaults anyway)."""
        return [p.param.name for p in self._planner.arguments(function) if p.param.has_default]

    def with_optional(self, function: FunctionInfo, names: set[str], failed: list[dict[str, str]] = ()) -> TestSpec | None:  # type: ignore[assignment]
        """The fuzz test of `function` drawing the required parameters and the optional ones in `names` (the
        others at their defaults): when drawing all of them together fails, the ones that work alone.
        `failed`: inputs that broke an earlier test of the function, tried first as @examples (so a
        parameter behind a rare failure does not pass by luck)."""
        base = self._base(function)
        if base is None:
            return None
        callee, instance, _, planned = base
        chosen = [p for p in planned if not p.param.has_default or p.param.name in names]
        if not any(p.param.name in names for p in chosen) or instance is not None:
            return None
        wanted = [p.param.name for p in chosen]
        examples = [{k: inputs[k] for k in wanted} for inputs in failed if all(k in inputs for k in wanted)]
        label = "_".join(sorted(names)) if len(names) == 1 else "optional_parameters"
        name = self.unique(f"test_{_slug(function.qualname, 40)}_with_{_slug(label, 30)}")
        return self._spec(function, name, callee, instance, chosen, examples=examples[:3],
                          comment=f"{', '.join(sorted(names))} drawn; the other optional parameters at their defaults")

"""From what the analysis knows about a parameter to the *source text* of a Hypothesis strategy.

Order of evidence: annotation, docstring type, default value, how the body uses the parameter, its name,
the local model's suggestion, then a mixed fallback of simple values (never `st.nothing()`). Types the
module itself defines become `st.builds(...)` over their constructors (dataclasses, NamedTuples, plain
classes), `st.sampled_from(Enum)` or `st.fixed_dictionaries` (TypedDict); anything else that is importable
from the module goes through `st.from_type`, so Hypothesis's own resolution does the work.

"Narrow" strategies are the retry after a failure that looks like the strategy's fault: bounded numbers, no
NaN or infinity, short strings and collections.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from fireside.testgen.analysis import BoundaryValue, ClassInfo, ModuleInfo, ParamInfo

__all__ = ["FALLBACK", "ParamStrategy", "StrategyContext", "Resolved", "boundary_example", "plan_param", "resolve_annotation"]

# Used only when nothing at all is known: simple values that most code at least accepts or rejects cleanly.
FALLBACK = "st.one_of(st.none(), st.booleans(), st.integers(), st.text())"

_TYPING = ("typing.", "typing_extensions.", "collections.abc.", "builtins.")


@dataclass
class StrategyContext:
    module: ModuleInfo
    alias: str  # the name the test file binds the target module to
    narrow: bool = False
    imports: set[str] = field(default_factory=set)  # extra `import x` lines the strategies need
    depth: int = 0


@dataclass
class Resolved:
    source: str
    kind: str | None = None  # "int", "str", "list", ... used to render boundary examples
    simple: str | None = None  # source of one plain value, for the other arguments of an @example
    inner: Resolved | None = None  # element type of a collection
    choices: list | None = None  # the allowed values of a Literal


@dataclass
class ParamStrategy:
    param: ParamInfo
    source: str
    origin: str  # "annotation" | "docstring" | "default" | "usage" | "name" | "model" | "fallback"
    kind: str | None
    simple: str | None
    inner: Resolved | None = None
    choices: list | None = None


def _short(dotted: str) -> str:
    for prefix in _TYPING:
        if dotted.startswith(prefix):
            return dotted[len(prefix):]
    return dotted


def _scalar(kind: str, ctx: StrategyContext) -> Resolved | None:
    narrow = ctx.narrow
    table = {
        "int": ("st.integers(min_value=-1000, max_value=1000)" if narrow else "st.integers()", "0"),
        "float": (
            "st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)" if narrow else "st.floats()",
            "0.0",
        ),
        "complex": ("st.complex_numbers(allow_nan=False, allow_infinity=False, max_magnitude=1e6)" if narrow else "st.complex_numbers()", "0j"),
        "str": ("st.text(max_size=20)" if narrow else "st.text()", "''"),
        "bytes": ("st.binary(max_size=20)" if narrow else "st.binary()", "b''"),
        "bytearray": ("st.binary(max_size=20).map(bytearray)" if narrow else "st.binary().map(bytearray)", "bytearray()"),
        "bool": ("st.booleans()", "False"),
        "None": ("st.none()", "None"),
        "NoneType": ("st.none()", "None"),
    }
    if kind not in table:
        return None
    source, simple = table[kind]
    return Resolved(source, "None" if kind == "NoneType" else kind, simple)


_KNOWN = {
    "datetime.date": ("st.dates()", "datetime.date(2000, 1, 1)", "datetime"),
    "datetime.datetime": ("st.datetimes()", "datetime.datetime(2000, 1, 1)", "datetime"),
    "datetime.time": ("st.times()", "datetime.time()", "datetime"),
    "datetime.timedelta": ("st.timedeltas()", "datetime.timedelta()", "datetime"),
    "decimal.Decimal": ("st.decimals(allow_nan=False, allow_infinity=False)", "decimal.Decimal(0)", "decimal"),
    "fractions.Fraction": ("st.fractions()", "fractions.Fraction(0)", "fractions"),
    "uuid.UUID": ("st.uuids()", None, "uuid"),
}

_SEQUENCES = {"list", "List", "Sequence", "MutableSequence", "Iterable", "Collection", "Reversible", "Container"}
_SETS = {"set", "Set", "AbstractSet", "MutableSet"}
_MAPPINGS = {"dict", "Dict", "Mapping", "MutableMapping", "OrderedDict", "DefaultDict", "defaultdict"}


def _size(ctx: StrategyContext) -> str:
    return ", max_size=5" if ctx.narrow else ""


def resolve_annotation(node: ast.expr | None, ctx: StrategyContext) -> Resolved | None:
    """The strategy for an annotation expression, or None when it cannot be resolved statically."""
    if node is None or ctx.depth > 6:
        return None
    ctx.depth += 1
    try:
        return _resolve(node, ctx)
    finally:
        ctx.depth -= 1


def _one_of(options: list[Resolved]) -> Resolved:
    if len(options) == 1:
        return options[0]
    simple = next((o.simple for o in options if o.kind == "None"), None) or next((o.simple for o in options if o.simple), None)
    kind = next((o.kind for o in options if o.kind not in (None, "None")), None)
    inner = next((o.inner for o in options if o.kind == kind and o.inner), None)
    return Resolved(f"st.one_of({', '.join(o.source for o in options)})", kind, simple, inner)


def _resolve(node: ast.expr, ctx: StrategyContext) -> Resolved | None:
    module = ctx.module
    if isinstance(node, ast.Constant):
        if node.value is None:
            return _scalar("None", ctx)
        if isinstance(node.value, str):  # a forward reference
            try:
                return resolve_annotation(ast.parse(node.value, mode="eval").body, ctx)
            except SyntaxError:
                return None
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):  # X | Y
        parts = [resolve_annotation(node.left, ctx), resolve_annotation(node.right, ctx)]
        if any(p is None for p in parts):
            return None
        return _one_of(parts)  # type: ignore[arg-type]
    if isinstance(node, ast.Subscript):
        origin = module.resolve(node.value)
        if origin is None:
            return None
        name = _short(origin)
        args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        if name == "Optional":
            inner = resolve_annotation(args[0], ctx)
            return None if inner is None else Resolved(f"st.none() | {inner.source}", inner.kind, "None", inner.inner)
        if name == "Union":
            options = [resolve_annotation(a, ctx) for a in args]
            return None if any(o is None for o in options) else _one_of(options)  # type: ignore[arg-type]
        if name == "Literal":
            values = []
            for arg in args:
                try:
                    values.append(ast.literal_eval(arg))
                except ValueError:
                    return None
            kind = type(values[0]).__name__ if values else None
            return Resolved(f"st.sampled_from({values!r})", kind, repr(values[0]) if values else None, choices=values)
        if name in {"Annotated", "Final", "ClassVar", "Required", "NotRequired", "ReadOnly"}:
            return resolve_annotation(args[0], ctx)
        if name in _SEQUENCES:
            inner = resolve_annotation(args[0], ctx)
            return None if inner is None else Resolved(f"st.lists({inner.source}{_size(ctx)})", "list", "[]", inner)
        if name in {"Iterator", "Generator"}:
            inner = resolve_annotation(args[0], ctx)
            return None if inner is None else Resolved(f"st.iterators({inner.source})", "iterator", None, inner)
        if name in _SETS or name == "frozenset" or name == "FrozenSet":
            inner = resolve_annotation(args[0], ctx)
            if inner is None:
                return None
            func, simple = ("st.frozensets", "frozenset()") if name.lower() == "frozenset" else ("st.sets", "set()")
            return Resolved(f"{func}({inner.source}{_size(ctx)})", "set", simple, inner)
        if name in _MAPPINGS or name == "Counter":
            key = resolve_annotation(args[0], ctx)
            value = resolve_annotation(args[1], ctx) if len(args) > 1 else Resolved("st.integers()", "int", "0")
            if key is None or value is None:
                return None
            return Resolved(f"st.dictionaries({key.source}, {value.source}{_size(ctx)})", "dict", "{}")
        if name in {"tuple", "Tuple"}:
            if len(args) == 2 and isinstance(args[1], ast.Constant) and args[1].value is Ellipsis:
                inner = resolve_annotation(args[0], ctx)
                return None if inner is None else Resolved(f"st.lists({inner.source}{_size(ctx)}).map(tuple)", "tuple", "()", inner)
            parts = [resolve_annotation(a, ctx) for a in args]
            if any(p is None for p in parts):
                return None
            simple = None
            if all(p.simple for p in parts):  # type: ignore[union-attr]
                simple = "(" + ", ".join(p.simple for p in parts) + ("," if len(parts) == 1 else "") + ")"  # type: ignore[union-attr,misc]
            return Resolved(f"st.tuples({', '.join(p.source for p in parts)})", "tuple", simple)  # type: ignore[union-attr]
        if name in {"type", "Type"}:
            return None
        if name == "Callable":
            returns = resolve_annotation(args[-1], ctx) if args else None
            if returns is None:
                return None
            # `like` accepting anything: without it the drawn function takes no arguments at all.
            return Resolved(f"st.functions(like=lambda *args, **kwargs: None, returns={returns.source})", "callable", None)
        # A generic class of the module or elsewhere: strategy for the bare class.
        return resolve_annotation(node.value, ctx)
    origin = module.resolve(node)
    if origin is None:
        return None
    if origin.startswith("local:"):
        return class_strategy(module.classes[origin[6:]], ctx)
    if origin.startswith("alias:"):
        return resolve_annotation(module.aliases[origin[6:]], ctx)
    short = _short(origin)
    if origin.startswith(_TYPING) or origin in _KNOWN:
        scalar = _scalar(short, ctx)
        if scalar:
            return scalar
        if short in {"Any", "object"}:
            return Resolved(FALLBACK, None, "None")
        if short in _SEQUENCES:
            return Resolved(f"st.lists(st.integers(){_size(ctx)})", "list", "[]", Resolved("st.integers()", "int", "0"))
        if short in _SETS or short == "frozenset":
            return Resolved(f"st.sets(st.integers(){_size(ctx)})", "set", "set()")
        if short in _MAPPINGS:
            return Resolved(f"st.dictionaries(st.text(), st.integers(){_size(ctx)})", "dict", "{}")
        if short in {"tuple", "Tuple"}:
            return Resolved("st.tuples()", "tuple", "()")
        if origin in _KNOWN:
            source, simple, import_name = _KNOWN[origin]
            ctx.imports.add(f"import {import_name}")
            return Resolved(source, origin, simple)
        return None
    root = node
    while isinstance(root, ast.Attribute):
        root = root.value
    if isinstance(root, ast.Name) and root.id in module.globals and root.id not in module.type_checking_names:
        # Visible as an attribute of the target module: let Hypothesis resolve it.
        return Resolved(f"st.from_type({ctx.alias}.{ast.unparse(node)})", None, None)
    return None


def _field_kwargs(fields: list[ParamInfo], ctx: StrategyContext, required_only: bool) -> list[str] | None:
    kwargs = []
    for field_info in fields:
        if required_only and field_info.has_default:
            continue
        resolved = resolve_annotation(field_info.annotation, ctx)
        if resolved is None:
            if field_info.has_default:
                continue
            return None
        kwargs.append(f"{field_info.name}={resolved.source}")
    return kwargs


def class_strategy(cls: ClassInfo, ctx: StrategyContext) -> Resolved | None:
    """Build instances of a class the module defines, through its constructor."""
    target = f"{ctx.alias}.{cls.name}"
    if cls.kind == "enum":
        first = f"{target}.{cls.members[0]}" if cls.members else None
        return Resolved(f"st.sampled_from({target})", "enum", first)
    if cls.kind == "typeddict":
        required, optional = [], []
        for field_info in cls.fields:
            resolved = resolve_annotation(field_info.annotation, ctx)
            if resolved is None:
                return None
            text = ast.unparse(field_info.annotation) if field_info.annotation else ""
            is_optional = (not cls.total and not text.startswith("Required")) or text.startswith("NotRequired")
            (optional if is_optional else required).append(f"{field_info.name!r}: {resolved.source}")
        source = "st.fixed_dictionaries({" + ", ".join(required) + "}"
        source += (", optional={" + ", ".join(optional) + "})") if optional else ")"
        return Resolved(source, "dict", None)
    if cls.kind in {"dataclass", "namedtuple"}:
        kwargs = _field_kwargs(cls.fields, ctx, required_only=False)
        if kwargs is None:
            return None
        return Resolved(f"st.builds({', '.join([target, *kwargs])})", cls.name, None)
    if cls.kind in {"protocol", "abstract"}:
        return Resolved(f"st.from_type({target})", None, None)
    if cls.init is None:
        return Resolved(f"st.builds({target})", cls.name, None)
    kwargs = []
    for param in cls.init.params:
        if param.kind in {"var_positional", "var_keyword"}:
            continue
        planned = plan_param(param, ctx, allow_fallback=False)
        if planned is None:
            if param.has_default:
                continue
            return None
        kwargs.append(f"{param.name}={planned.source}")
    return Resolved(f"st.builds({', '.join([target, *kwargs])})", cls.name, None)


def resolve_type_text(text: str, ctx: StrategyContext) -> Resolved | None:
    """A type written as text (docstring, model answer): parsed as an annotation of the module."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return None
    return resolve_annotation(node, ctx)


def _from_default(node: ast.expr, ctx: StrategyContext) -> Resolved | None:
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return None
    if value is None:
        return None  # says nothing about the type of the other values
    if isinstance(value, (list, tuple, set)) and value:
        inner = _scalar(type(next(iter(value))).__name__, ctx)
        if inner is None:
            return None
        func = {"list": "st.lists", "tuple": "st.lists", "set": "st.sets"}[type(value).__name__]
        suffix = ".map(tuple)" if isinstance(value, tuple) else ""
        return Resolved(f"{func}({inner.source}{_size(ctx)}){suffix}", type(value).__name__, repr(type(value)()), inner)
    if isinstance(value, (list, tuple, set, dict)):
        return None  # an empty default says nothing about the element type
    return _scalar(type(value).__name__, ctx)


# Parameter-name heuristics: (regex over the whole name, type text).
_NAME_RULES = [
    (r"(is|has|should|can|allow|use|enable|disable)_\w+|flag|verbose|strict|force|recursive", "bool"),
    (r"n|i|j|k|count|num|n_\w+|num_\w+|\w+_count|size|\w+_size|length|\w+_len|index|\w+_index|idx|depth|level|"
     r"width|height|offset|limit|port|year|month|day|hours?|minutes?|seconds?|times|retries|max_\w+|min_\w+", "int"),
    (r"x|y|z|ratio|rate|\w+_ratio|\w+_rate|scale|factor|weight|prob|probability|alpha|beta|amount|price|value", "float"),
    (r"s|text|string|name|\w+_name|word|line|prefix|suffix|sep|separator|delimiter|char|label|title|message|msg|"
     r"path|filename|\w+_path|url|uri|email|key|pattern|fmt|format|encoding|token|query|code|slug|tag|host", "str"),
    (r"data|payload|raw|buf|buffer|blob", "bytes"),
    (r"items|values|xs|nums|numbers|elements|seq|sequence|\w+_list|lst|arr|array|ints", "list[int]"),
    (r"words|names|lines|strings|tokens|tags|keys|labels", "list[str]"),
    (r"d|mapping|kwargs|options|config|params|headers|attrs|\w+_map|\w+_dict", "dict[str, str]"),
]


def _from_name(name: str, ctx: StrategyContext) -> Resolved | None:
    lowered = name.lower().strip("_")
    for pattern, type_text in _NAME_RULES:
        if re.fullmatch(pattern, lowered):
            return resolve_type_text(type_text, ctx)
    return None


def plan_param(
    param: ParamInfo,
    ctx: StrategyContext,
    model_types: dict[str, str] | None = None,
    *,
    allow_fallback: bool = True,
) -> ParamStrategy | None:
    """The strategy for one parameter, with where the evidence came from."""
    candidates: list[tuple[str, Resolved | None]] = []
    candidates.append(("annotation", resolve_annotation(param.annotation, ctx)))
    if param.doc_type:
        candidates.append(("docstring", resolve_type_text(param.doc_type, ctx)))
    if param.default is not None:
        candidates.append(("default", _from_default(param.default, ctx)))
    if param.usage_type:
        candidates.append(("usage", resolve_type_text(param.usage_type, ctx)))
    if param.annotation is None:
        candidates.append(("name", _from_name(param.name, ctx)))
        if model_types and param.name in model_types:
            candidates.append(("model", resolve_type_text(model_types[param.name], ctx)))
    for origin, resolved in candidates:
        if resolved is not None:
            return ParamStrategy(param, resolved.source, origin, resolved.kind, resolved.simple, resolved.inner, resolved.choices)
    if allow_fallback:
        return ParamStrategy(param, FALLBACK, "fallback", None, "None")
    return None


def _value_of_length(kind: str | None, inner: Resolved | None, length: int) -> str | None:
    if kind in (None, "str"):
        return repr("a" * length)
    if kind == "bytes":
        return repr(b"a" * length)
    if kind in {"list", "tuple", "set"}:
        if inner is None or inner.simple is None:
            return None
        if kind == "set":
            return None if length > 1 else ("set()" if length == 0 else "{" + inner.simple + "}")
        items = [inner.simple] * length
        if kind == "tuple":
            return "(" + ", ".join(items) + ("," if length == 1 else "") + ")"
        return "[" + ", ".join(items) + "]"
    return None


_TYPE_SAMPLES = {"int": "0", "float": "0.0", "str": "''", "bytes": "b''", "bool": "False", "list": "[]", "dict": "{}",
                 "tuple": "()", "set": "set()", "None": "None", "type(None)": "None", "complex": "0j"}
_FALSY = {"int": "0", "float": "0.0", "str": "''", "bytes": "b''", "bool": "False", "list": "[]", "dict": "{}",
          "tuple": "()", "set": "set()"}
_COMPATIBLE = {"int": {int}, "float": {int, float}, "str": {str}, "bytes": {bytes}, "bool": {bool}, "complex": {int, float, complex}}


def boundary_example(value: BoundaryValue, planned: ParamStrategy) -> str | None:
    """Source of the example value for one boundary, or None when it does not fit the parameter's type."""
    kind = planned.kind
    if value.kind == "value":
        literal = value.value
        if kind in _COMPATIBLE and type(literal) not in _COMPATIBLE[kind]:
            return None
        if kind is None and planned.origin not in {"fallback", "name", "usage"}:
            return None  # a class or from_type strategy: a bare literal would not be a valid instance
        if kind in {"list", "dict", "set", "tuple", "enum"}:
            return None
        if planned.choices is not None and literal not in planned.choices:
            return None  # a Literal parameter: only its own values are valid inputs
        return repr(literal)
    if value.kind == "length":
        return _value_of_length(kind if planned.origin != "fallback" else "str", planned.inner, int(value.value))  # type: ignore[call-overload]
    if value.kind == "falsy":
        return _FALSY.get(kind or "", "None" if planned.simple == "None" else None)
    if value.kind == "type":
        sample = _TYPE_SAMPLES.get(str(value.value))
        if sample is None:
            return None
        if kind is not None and kind != value.value and not (kind == "float" and value.value == "int"):
            if planned.simple != "None" or value.value not in {"None", "type(None)"}:
                return None
        return sample
    return None

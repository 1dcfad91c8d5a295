import ast

import pytest

from fireside.testgen.analysis import BoundaryValue, analyse_file, analyse_source
from fireside.testgen.strategies import StrategyContext, plan_param, resolve_annotation


@pytest.fixture
def shapes(fixtures):
    return analyse_file(fixtures / "shapes.py")


def _strategy(module, function_name, param_name, narrow=False):
    function = module.find(function_name)
    param = next(p for p in function.params if p.name == param_name)
    return plan_param(param, StrategyContext(module, "m", narrow=narrow))


def test_class_kinds(shapes):
    kinds = {name: cls.kind for name, cls in shapes.classes.items()}
    assert kinds == {
        "Colour": "enum", "Point": "dataclass", "Pair": "namedtuple", "Movie": "typeddict", "Counter": "class",
    }
    assert shapes.classes["Colour"].members == ["RED", "GREEN"]
    assert [f.name for f in shapes.classes["Point"].fields] == ["x", "y"]


@pytest.mark.parametrize(
    ("function", "param", "expected"),
    [
        ("clamp", "value", "st.integers()"),
        ("describe", "colour", "st.sampled_from(m.Colour)"),
        ("describe", "point", "st.none() | st.builds(m.Point, x=st.integers(), y=st.integers())"),
        ("label", "mode", "st.sampled_from(['short', 'long'])"),
        ("first_word", "text", "st.one_of(st.text(), st.binary())"),
        ("pair_total", "pair", "st.builds(m.Pair, left=st.text(), right=st.integers())"),
        ("pair_total", "movie", "st.fixed_dictionaries({'title': st.text(), 'year': st.integers()})"),
        ("pair_total", "tags", "st.lists(st.text())"),
        ("pair_total", "weights", "st.dictionaries(st.text(), st.floats())"),
    ],
)
def test_annotation_kinds(shapes, function, param, expected):
    planned = _strategy(shapes, function, param)
    assert planned.origin == "annotation"
    assert planned.source == expected


def test_user_class_through_constructor(shapes):
    ctx = StrategyContext(shapes, "m")
    node = ast.parse("Counter", mode="eval").body
    assert resolve_annotation(node, ctx).source == "st.builds(m.Counter, start=st.integers())"


def test_pep604_optional_tuple_and_aliases():
    module = analyse_source(
        "from typing import Tuple\nNumber = int | float\n"
        "def f(a: int | None, b: Tuple[int, ...], c: tuple[str, bool], d: 'Number', e: set[int]): ...\n"
    )
    ctx = StrategyContext(module, "m")
    sources = {p.name: plan_param(p, ctx).source for p in module.find("f").params}
    assert sources == {
        "a": "st.one_of(st.integers(), st.none())",
        "b": "st.lists(st.integers()).map(tuple)",
        "c": "st.tuples(st.text(), st.booleans())",
        "d": "st.one_of(st.integers(), st.floats())",
        "e": "st.sets(st.integers())",
    }


def test_narrow_strategies_are_bounded(shapes):
    assert _strategy(shapes, "clamp", "value", narrow=True).source == "st.integers(min_value=-1000, max_value=1000)"
    weights = _strategy(shapes, "pair_total", "weights", narrow=True).source
    assert "allow_nan=False" in weights and "max_size=5" in weights


def test_untyped_evidence_default_usage_name_and_fallback():
    module = analyse_source(
        "def f(count, name='x', flag=False, s=None, thing=None, blob=None):\n"
        "    if thing.lower():\n        return blob\n"
    )
    ctx = StrategyContext(module, "m")
    planned = {p.name: plan_param(p, ctx) for p in module.find("f").params}
    assert (planned["count"].origin, planned["count"].source) == ("name", "st.integers()")
    assert (planned["name"].origin, planned["name"].source) == ("default", "st.text()")
    assert (planned["flag"].origin, planned["flag"].source) == ("default", "st.booleans()")
    assert planned["thing"].origin == "usage" and planned["thing"].source == "st.text()"
    assert planned["blob"].origin == "name"
    unknown = analyse_source("def g(qq):\n    return qq\n").find("g").params[0]
    assert plan_param(unknown, ctx).origin == "fallback"
    assert "nothing" not in plan_param(unknown, ctx).source


def test_docstring_types_are_used(fixtures):
    module = analyse_file(fixtures / "docstyles.py")
    ctx = StrategyContext(module, "m")
    found = {f.name: {p.name: plan_param(p, ctx) for p in f.params} for f in module.functions}
    assert found["google"]["p"].source == "st.text()" and found["google"]["p"].origin == "docstring"
    assert found["google"]["q"].source == "st.integers()"
    assert found["numpy_style"]["q"].source == "st.lists(st.floats())"
    assert found["rest"]["q"].source == "st.lists(st.text())"


def test_boundaries_from_comparisons_len_in_isinstance_range():
    module = analyse_source(
        "LIMIT = 10\n"
        "def f(x: int, s: str, mode: str, v, n: int, k: int):\n"
        "    if x >= LIMIT: pass\n"
        "    if len(s) > 3: pass\n"
        "    if mode in ('a', 'b'): pass\n"
        "    if isinstance(v, int): pass\n"
        "    if k in range(1, 5): pass\n"
        "    for _ in range(n): pass\n"
    )
    bounds = module.find("f").boundaries
    assert [b.value for b in bounds["x"]] == [9, 10, 11]
    assert bounds["s"] == [BoundaryValue("length", 2), BoundaryValue("length", 3), BoundaryValue("length", 4)]
    assert [b.value for b in bounds["mode"]] == ["a", "b", "ab_"]
    assert bounds["v"] == [BoundaryValue("type", "int")]
    assert [b.value for b in bounds["k"]] == [0, 1, 4, 5]
    assert [b.value for b in bounds["n"]] == [-1, 0, 1]


def test_guards_simple_and_not(shapes):
    clamp = shapes.find("clamp")
    assert [(ast.unparse(g.test), g.exception, g.simple) for g in clamp.guards] == [("low > high", "ValueError", True)]
    module = analyse_source(
        "def f(x: str):\n    x = x.strip()\n    if not x:\n        raise ValueError\n"
        "def g(x: int):\n    if x < 0:\n        raise ValueError\n    elif x > 9:\n        raise OverflowError\n"
    )
    assert [g.simple for g in module.find("f").guards] == [False]
    assert [g.exception for g in module.find("g").guards] == ["ValueError", "OverflowError"]


def test_methods_and_symbol_lookup(shapes):
    add = shapes.find("Counter.add")
    assert add.method_kind == "method" and [p.name for p in add.params] == ["amount"]
    line = add.lineno + 1
    assert shapes.symbol_at(line).qualname == "Counter.add"
    assert shapes.symbol_at(shapes.classes["Colour"].lineno).name == "Colour"


def test_strategies_generate_values_of_the_annotated_types(fixtures, monkeypatch):
    # Every strategy the analysis writes for the fixture must be valid Hypothesis source that draws a value.
    from hypothesis import find, strategies as st

    monkeypatch.syspath_prepend(str(fixtures))
    import shapes as real

    module = analyse_file(fixtures / "shapes.py")
    ctx = StrategyContext(module, "m")
    for function in module.functions:
        for param in function.params:
            source = plan_param(param, ctx).source
            value = find(eval(source, {"st": st, "m": real}), lambda _: True)  # noqa: S307 - our own output
            if param.name == "point":
                assert value is None or isinstance(value, real.Point)
            if param.name == "colour":
                assert isinstance(value, real.Colour)

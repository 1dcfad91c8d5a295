import pytest

from fireside.testgen.analysis import analyse_file, analyse_source
from fireside.testgen.properties import build_specs


@pytest.fixture
def specs(fixtures):
    found, skipped, _ = build_specs(analyse_file(fixtures / "shapes.py"), "m")
    return {spec.name: spec for spec in found}


def _kinds(specs, qualname):
    return sorted(spec.kind for spec in specs.values() if spec.qualname == qualname)


def test_roundtrip_pair_detected(specs):
    roundtrip = specs["test_decode_inverts_encode"]
    assert roundtrip.kind == "roundtrip"
    assert roundtrip.call == "m.encode(data=data)" and roundtrip.inverse == "m.decode({})"


def test_to_from_and_x_to_y_pairs():
    module = analyse_source(
        "def to_hex(b: bytes) -> str: ...\ndef from_hex(s: str) -> bytes: ...\n"
        "def celsius_to_kelvin(c: float) -> float: ...\ndef kelvin_to_celsius(k: float) -> float: ...\n"
        "def toRoman(n: int) -> str: ...\ndef fromRoman(s: str) -> int: ...\n"
    )
    names = {s.name for s in build_specs(module, "m")[0] if s.kind == "roundtrip"}
    assert names == {"test_from_hex_inverts_to_hex", "test_kelvin_to_celsius_inverts_celsius_to_kelvin",
                     "test_celsius_to_kelvin_inverts_kelvin_to_celsius", "test_fromroman_inverts_toroman"}


def test_idempotence_only_where_the_name_suggests_it(specs):
    assert "idempotent" in _kinds(specs, "normalise_spaces")
    assert "idempotent" not in _kinds(specs, "label")


def test_guarded_raise_becomes_a_raises_test(specs):
    raises = [s for s in specs.values() if s.kind == "raises" and s.qualname == "grade"]
    assert len(raises) == 1
    assert raises[0].raises == "ValueError"
    assert raises[0].assumes == ["score not in range(0, 101)"]
    # Biased towards the boundary values so the guard's side is reached.
    assert raises[0].given[0][1].startswith("st.sampled_from([-1, 0, 100, 101")


def test_earlier_guards_are_assumed_false():
    module = analyse_source(
        "LIMIT = 9\n"
        "def g(x: int):\n    if x < 0:\n        raise ValueError\n    if x > LIMIT:\n        raise OverflowError\n"
    )
    raises = [s for s in build_specs(module, "m")[0] if s.kind == "raises"]
    assert [s.assumes for s in raises] == [["x < 0"], ["x > m.LIMIT", "not (x < 0)"]]


def test_return_type_and_deliberate_exceptions(specs):
    fuzz = specs["test_grade_fuzz"]
    assert fuzz.return_check == "str" and fuzz.catch == ["ValueError"]
    assert specs["test_mean_fuzz"].return_check == "(int, float)"
    assert specs["test_legacy_fuzz"].return_check is None


def test_boundary_examples(specs):
    examples = specs["test_grade_fuzz"].examples
    assert {e["score"] for e in examples} >= {"-1", "0", "100", "101", "89", "90", "91"}
    label = specs["test_label_fuzz"].examples
    assert {e["name"] for e in label} >= {"'aaaaaaa'", "'aaaaaaaa'", "'aaaaaaaaa'"}
    assert all(e["mode"] in {"'short'", "'long'"} for e in label)  # a Literal keeps its own values


def test_docstring_oracle(specs):
    oracle = specs["test_grade_docstring_examples"]
    assert oracle.statements == ["assert m.grade(95) == 'A'", "assert m.grade(10) == 'F'"]


def test_instance_methods_build_the_instance(specs):
    add = specs["test_counter_add_fuzz"]
    assert add.given[0] == ("instance", "st.builds(m.Counter, start=st.integers())")
    assert add.call == "instance.add(amount=amount)"
    assert all(e["instance"] == "m.Counter()" for e in add.examples)


def test_symbol_scope(fixtures):
    module = analyse_file(fixtures / "shapes.py")
    only = build_specs(module, "m", "Counter.add")[0]
    assert {s.qualname for s in only} == {"Counter.add"}
    cls = build_specs(module, "m", "Counter")[0]
    assert {s.qualname for s in cls} == {"Counter", "Counter.add"}
    with pytest.raises(LookupError):
        build_specs(module, "m", "nope")


def test_oracle_comparisons_are_parenthesised_and_callables_accept_arguments():
    module = analyse_source(
        "from typing import Callable\n"
        "def f(g: Callable[[int], str], n: int = 0):\n"
        '    """\n    >>> f(str) is None\n    True\n    >>> f(str, n=-1)\n    Traceback (most recent call last):\n'
        '    ValueError: negative\n    """\n'
    )
    specs = {s.kind: s for s in build_specs(module, "m")[0]}
    assert specs["oracle"].statements == [
        "assert (m.f(str) is None)",
        "with RAISES(ValueError):",
        "    m.f(str, n=-1)",
    ]
    assert "like=lambda *args, **kwargs: None" in specs["no_exception"].given[0][1]


def test_a_parameter_nothing_types_tolerates_wrong_type_errors_and_says_why():
    # `tduration` gets the mixed fallback (None, booleans, integers, text); None breaks `fmt` only for a pattern
    # holding "%H", which a run draws now and then: the test must not pass verification and fail later.
    module = analyse_source("def fmt(tduration, pattern: str) -> str:\n    return tduration.hour if '%H' in pattern else pattern\n"
                            "def typed(value: int, pattern: str) -> str:\n    return pattern * value\n")
    specs = {s.qualname: s for s in build_specs(module, "m")[0] if s.kind == "no_exception"}
    assert specs["fmt"].origins["tduration"] == "fallback"
    assert {"TypeError", "AttributeError"} <= set(specs["fmt"].catch)
    assert "the type of tduration is unknown" in specs["fmt"].comment
    assert "TypeError" not in specs["typed"].catch and specs["typed"].comment is None  # declared: a real failure

import sys
from pathlib import Path

from fireside.testgen.properties import TestSpec
from fireside.testgen.render import TargetImport, render_file
from fireside.testgen.verify import Outcome, classify, collect_check, run_candidates, verify


def _spec(name, call, given=(("x", "st.integers()"),), kind="no_exception", origins=None):
    return TestSpec(name=name, kind=kind, qualname="f", lineno=1, given=list(given), call=call,
                    origins=origins or {"x": "annotation"})


def _render(specs):
    return render_file(specs, TargetImport("small", "small")).text


def test_keeps_passing_marks_bug_and_drops(fixtures):
    groups = [
        [_spec("test_clamp", "small.clamp(value=x)")],
        [_spec("test_average", "small.average(values=x)", given=[("x", "st.lists(st.integers())")])],
        [
            _spec("test_combine_wide", "small.combine(a=x, b=1)", given=[("x", "st.one_of(st.none(), st.integers())")], origins={"x": "fallback"}),
        ],
    ]
    verdicts, error = verify(groups, _render, target_file=fixtures / "small.py", pythonpath=[str(fixtures)])
    assert error is None
    assert [v.status for v in verdicts] == ["kept", "bug", "dropped"]
    assert "ZeroDivisionError" in verdicts[1].reason
    assert "x=[]" in verdicts[1].falsifying
    assert "TypeError" in verdicts[2].reason


def test_failing_variant_is_retried_with_the_next(fixtures):
    group = [
        _spec("test_combine", "small.combine(a=x, b=1)", given=[("x", "st.one_of(st.none(), st.integers())")], origins={"x": "model"}),
        _spec("test_combine", "small.combine(a=x, b=1)", given=[("x", "st.integers()")], origins={"x": "fallback"}),
    ]
    verdicts, _ = verify([group], _render, target_file=fixtures / "small.py", pythonpath=[str(fixtures)])
    assert verdicts[0].status == "kept" and verdicts[0].attempts == 2
    assert verdicts[0].spec.given == [("x", "st.integers()")]


def test_health_check_failure_is_the_strategy(fixtures):
    spec = _spec("test_filtered", "small.clamp(value=x)", given=[("x", "st.integers().filter(lambda v: hash(str(v)) % 1000003 == 17)")])
    result = run_candidates(_render([spec]), [spec.name], pythonpath=[str(fixtures)])
    verdict, reason = classify(result.outcomes[spec.name], spec, fixtures / "small.py")
    assert verdict == "strategy" and "Hypothesis" in reason


def test_time_limit(fixtures):
    spec = _spec("test_spin", "slow.spin(flag=True)", given=[])
    text = render_file([spec], TargetImport("slow", "slow")).text
    result = run_candidates(text, [spec.name], pythonpath=[str(fixtures)], limit=1.0)
    assert result.outcomes[spec.name].status == "timeout"


def test_import_error_is_reported(fixtures):
    spec = _spec("test_x", "nowhere.f(x=x)")
    verdicts, error = verify([[spec]], lambda specs: render_file(specs, TargetImport("nowhere_at_all", "nowhere")).text,
                             target_file=None, pythonpath=[str(fixtures)])
    assert verdicts == [] and "ModuleNotFoundError" in error


def test_collect_check(fixtures):
    good = _render([_spec("test_clamp", "small.clamp(value=x)")])
    assert collect_check(good, pythonpath=[str(fixtures)])[0]
    assert not collect_check(good.replace("import small", "import small_missing as small"), python=sys.executable)[0]


# ----- bug reports with evidence ---------------------------------------------------------------------------


def test_only_failures_in_the_declared_domain_are_reported_as_bugs(fixtures, tmp_path):
    from fireside.testgen.pipeline import Options, generate_tests, resolve_target

    _, report, _ = generate_tests(resolve_target(str(fixtures / "wording.py")), tests_dir=tmp_path, write=False,
                                  options=Options(rounds=0))
    by_name = {v.spec.name: v for v in report.verdicts}
    # first_word(" ") raises IndexError for a str, its declared type: reported, with the evidence and the example.
    (bug,) = report.bugs
    assert bug.spec.name == "test_first_word_fuzz"
    assert "IndexError" in bug.reason and "text: str (annotation)" in bug.reason and "does not raise IndexError on purpose" in bug.reason
    assert bug.falsifying and "text=" in bug.falsifying
    # The round trip guessed from the names fails on 'A' (camel_to_underscore is not meant to be inverted): never a bug.
    roundtrip = by_name["test_underscore_to_camel_inverts_camel_to_underscore"]
    assert roundtrip.status == "dropped" and "only guessed from the names" in roundtrip.reason
    # pick(values, index) has no declared domain: an IndexError from guessed inputs is not a bug.
    assert by_name["test_pick_fuzz"].status == "dropped" and "guessed, not declared" in by_name["test_pick_fuzz"].reason


def test_private_helpers_failures_are_never_bugs():
    spec = _spec("test_helper_fuzz", "wording._helper(values=x)", given=[("x", "st.lists(st.integers())")])
    spec.qualname = "_helper"
    outcome = Outcome("test_helper_fuzz", "failed", "IndexError", ["IndexError", "LookupError", "Exception"],
                      frames=[("/x/wording.py", 27, "_helper")])
    kind, reason = classify(outcome, spec, Path("/x/wording.py"))
    assert kind == "strategy" and "private" in reason
    spec.qualname = "helper"
    assert classify(outcome, spec, Path("/x/wording.py"))[0] == "bug"


def test_a_failing_guessed_property_is_narrowed_to_the_examples_where_it_holds(fixtures):
    from fireside.testgen.analysis import analyse_source
    from fireside.testgen.pipeline import _variants

    source = "def normalise(text: str) -> str:\n    if len(text) > 3:\n        return text[:3].lower()\n    return text.strip()\n"
    groups, _, _ = _variants(analyse_source(source, "m"), "m", None, {})
    idempotent = next(g for g in groups if g[0].kind == "idempotent")
    assert idempotent[-1].explicit and idempotent[-1].examples  # the last variant runs only its @examples
    text = render_file([idempotent[-1]], TargetImport("m", "m")).text
    assert "@settings(phases=[Phase.explicit])" in text and "from hypothesis import Phase, example, given, settings" in text

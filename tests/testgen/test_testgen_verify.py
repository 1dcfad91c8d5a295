import sys

from fireside.testgen.properties import TestSpec
from fireside.testgen.render import TargetImport, render_file
from fireside.testgen.verify import classify, collect_check, run_candidates, verify


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

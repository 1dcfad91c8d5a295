"""The shared check (validate.py) on good and bad edits, and the property that every edit an action
returns — whatever the model says — leaves a file that parses."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fireside.actions.body import complete_body
from fireside.actions.docstring import write_docstring
from fireside.actions.quick_fix import Diagnostic, quick_fix
from fireside.actions.type_hints import add_type_hints
from fireside.actions.validate import (
    Check,
    Edit,
    EditRejected,
    checked_edit,
    minimal_edit,
    syntax_errors,
    validate,
)
from tests.support.scripted_model import ScriptedModel


@pytest.fixture
def scripted() -> type[ScriptedModel]:
    return ScriptedModel

SOURCE = '''import os


def clamp(value, low=0, high=10):
    if low > high:
        raise ValueError("low must not exceed high")
    return max(low, min(value, high))


def mean(values):
    """The arithmetic mean."""


def tail(items, count=3):
    ...
'''
CLAMP = (SOURCE.index("def clamp"), SOURCE.index("def mean"))


def test_an_edit_inside_its_region_is_accepted_in_minimal_form():
    body = SOURCE.index("    if low")
    edit = Edit(body, body, '    """Limit value."""\n')
    accepted = validate(SOURCE, edit, Check(claimed=CLAMP))
    assert accepted.apply(SOURCE) == edit.apply(SOURCE)
    assert CLAMP[0] <= accepted.start <= accepted.end <= CLAMP[1]


def test_an_edit_outside_its_claimed_region_is_rejected():
    edit = Edit(0, len("import os"), "import sys")
    with pytest.raises(EditRejected, match="outside the region it claims"):
        validate(SOURCE, edit, Check(claimed=CLAMP))


def test_an_edit_that_breaks_the_syntax_is_rejected_with_the_line():
    at = SOURCE.index("    return max")
    with pytest.raises(EditRejected, match=r"introduces a .* at line 7"):
        validate(SOURCE, Edit(at, at, "    x = (\n"), Check(claimed=CLAMP))


def test_compile_catches_what_tree_sitter_lets_through():
    # `nonlocal` at function level parses, but does not compile.
    at = SOURCE.index("    if low")
    edit = Edit(at, at, "    nonlocal value\n")
    assert validate(SOURCE, edit, Check(claimed=CLAMP)).new_text  # parse-only check: accepted
    with pytest.raises(EditRejected, match="no longer compiles"):
        validate(SOURCE, edit, Check(claimed=CLAMP, compiles=True))


def test_a_syntax_fix_must_remove_errors():
    broken = "def f(x)\n    return x\n"
    assert syntax_errors(broken)
    fixed = validate(broken, Edit(8, 8, ":"), Check(claimed=(0, 9), fixes_syntax=True))
    assert fixed == Edit(8, 8, ":")
    with pytest.raises(EditRejected, match="still"):
        validate(broken, Edit(4, 5, "g"), Check(claimed=(0, 9), fixes_syntax=True))  # renames, still broken


def test_no_change_and_out_of_file_ranges_are_rejected():
    with pytest.raises(EditRejected, match="changes nothing"):
        validate(SOURCE, Edit(3, 5, SOURCE[3:5]), Check(claimed=(0, len(SOURCE))))
    with pytest.raises(EditRejected, match="outside the file"):
        validate(SOURCE, Edit(5, len(SOURCE) + 3, ""), Check(claimed=(0, len(SOURCE))))


def test_checked_edit_retries_once_with_the_error_then_drops():
    errors: list[str | None] = []
    at = SOURCE.index("    return max")

    def propose(error):
        errors.append(error)
        return Edit(at, at, "    x = (\n") if len(errors) == 1 else Edit(at, at, "    x = 1\n")

    outcome = checked_edit(SOURCE, propose, Check(claimed=CLAMP))
    assert outcome.edit is not None and outcome.attempts == 2
    assert errors[0] is None and "line 7" in (errors[1] or "")

    always_bad = checked_edit(SOURCE, lambda error: Edit(at, at, "    x = (\n"), Check(claimed=CLAMP))
    assert always_bad.edit is None and always_bad.attempts == 2
    assert "line 7" in always_bad.reason


@given(st.text(max_size=30), st.text(max_size=30))
def test_minimal_edit_turns_old_into_new(old, new):
    edit = minimal_edit(old, new)
    assert edit.apply(old) == new
    assert 0 <= edit.start <= edit.end <= len(old)


ACTIONS = {
    "docstring": lambda text, model: write_docstring(text, 4, model),
    "docstring-class-less": lambda text, model: write_docstring(text, 14, model),
    "type hints": lambda text, model: add_type_hints(text, 4, model)[0],
    "body": lambda text, model: complete_body(text, 14, model),
    "body after docstring": lambda text, model: complete_body(text, 10, model),
    "quick fix": lambda text, model: quick_fix(text, Diagnostic("undefined name 'foo'", 0, 0, 6), model)[0],
}

model_output = st.one_of(
    st.text(max_size=120),
    st.lists(st.sampled_from(["return", " x", "(", ")", ":", "\n", "    ", '"""', "'", "int", " | None", "pass",
                              "`", "\\", "#", "yield", " = ", "def g():", "\t"]), max_size=25).map("".join),
)


@pytest.mark.parametrize("action", sorted(ACTIONS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=model_output)
def test_any_returned_edit_leaves_a_parseable_file(action, answer, scripted):
    outcome = ACTIONS[action](SOURCE, scripted(answer))
    if outcome.edit is not None:
        assert syntax_errors(outcome.edit.apply(SOURCE)) == []
        compile(outcome.edit.apply(SOURCE), "<edited>", "exec")
    else:
        assert outcome.reason


BROKEN = SOURCE.replace("    return max(low, min(value, high))", "    return max(low, min(value,, high))")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=model_output)
def test_any_returned_syntax_fix_removes_errors(answer, scripted):
    outcome, how = quick_fix(BROKEN, Diagnostic("invalid syntax", 0, 0, 6), scripted(answer))
    if outcome.edit is not None:
        fixed = outcome.edit.apply(BROKEN)
        assert len(syntax_errors(fixed)) < len(syntax_errors(BROKEN))
        assert fixed.split("\n")[:6] == BROKEN.split("\n")[:6] and fixed.split("\n")[7:] == BROKEN.split("\n")[7:]
    else:
        assert how == "model" and outcome.reason


def test_the_syntax_fix_property_is_not_vacuous(scripted):
    outcome, how = quick_fix(BROKEN, Diagnostic("invalid syntax", 0, 0, 6), scripted("return max(low, min(value, high))"))
    assert how == "model" and outcome.edit.apply(BROKEN) == SOURCE
    for action in ("docstring", "type hints", "body"):
        assert ACTIONS[action](SOURCE, scripted("int")).edit is not None

"""Each action's deterministic parts, with a scripted stand-in for the model: the docstring skeleton and
style, which type hints survive the consistency checks, the quick fixes that need no model, the body's
trimming — and the catalogue of what is offered where."""

from __future__ import annotations

from pathlib import Path

import pytest

from fireside.actions.body import complete_body, trim_body
from fireside.actions.catalog import BODY, DOCSTRING, TYPE_HINTS, offers
from fireside.actions.docstring import detect_style, write_docstring
from fireside.actions.quick_fix import Diagnostic, module_name, quick_fix, syntax_candidates, undefined_name
from fireside.actions.source import Source
from fireside.actions.type_hints import add_type_hints
from scripted_model import ScriptedModel


@pytest.fixture
def scripted() -> type[ScriptedModel]:
    return ScriptedModel

CLAMP = '''import os


def clamp(value, low=0, high=10):
    if low > high:
        raise ValueError("low must not exceed high")
    return max(low, min(value, high))
'''


def docstring_of(text: str, line: int, answer: str, scripted) -> str:
    outcome = write_docstring(text, line, scripted(answer))
    assert outcome.edit is not None, outcome.reason
    return outcome.edit.apply(text)


def test_google_skeleton_from_the_signature_and_the_raises(scripted):
    result = docstring_of(CLAMP, 4, " keeps it in range\n", scripted)
    assert '''def clamp(value, low=0, high=10):
    """Keeps it in range.

    Args:
        value: Keeps it in range.
        low: Keeps it in range.
        high: Keeps it in range.

    Returns:
        Keeps it in range.

    Raises:
        ValueError: If `low > high`.
    """
    if low > high:''' in result


def test_numpy_and_rest_styles_follow_the_file(scripted):
    numpy_file = 'def other(a):\n    """Other.\n\n    Parameters\n    ----------\n    a : int\n        A.\n    """\n\n\n' + CLAMP
    assert detect_style(Source(numpy_file)) == "numpy"
    result = docstring_of(numpy_file, 14, "Thing", scripted)
    assert "    Parameters\n    ----------\n    value\n        Thing.\n    low\n" in result
    assert "    Raises\n    ------\n    ValueError\n        If `low > high`.\n" in result
    rest_file = 'def other(a):\n    """Other.\n\n    :param a: A.\n    """\n\n\n' + CLAMP
    assert detect_style(Source(rest_file)) == "rest"
    result = docstring_of(rest_file, 11, "Thing", scripted)
    assert ":param value: Thing.\n    :param low: Thing.\n    :param high: Thing.\n    :returns: Thing.\n    :raises ValueError: If `low > high`." in result
    assert detect_style(Source(CLAMP)) == "google"


def test_methods_skip_self_and_a_docstring_is_never_written_twice(scripted):
    text = "class Box:\n    def area(self, scale):\n        return scale\n"
    result = docstring_of(text, 2, "Area", scripted)
    assert "Args:\n            scale: Area." in result and "self:" not in result
    assert write_docstring(result, 2, scripted("x")).edit is None


def test_an_empty_answer_is_regenerated_once_then_dropped(scripted):
    model = scripted("\n\n")
    outcome = write_docstring(CLAMP, 4, model)
    assert outcome.edit is None and outcome.attempts == 2
    assert "wrote nothing" in outcome.reason
    assert "rejected" in model.prompts[-1]  # the retry tells the model what went wrong


def hints(text: str, line: int, answers: dict[str, str], workspace=()):
    class ByQuestion:
        def __init__(self):
            self.prompts = []

        def generate(self, prompt, *, max_tokens, stop=()):
            self.prompts.append(prompt)
            for key, answer in answers.items():
                if key in prompt.rsplit("\n", 1)[-1]:
                    return answer
            return "object"

    model = ByQuestion()
    outcome, report = add_type_hints(text, line, model, workspace)
    return outcome, report, model


def test_type_hints_must_fit_defaults_call_sites_and_returns():
    answers = {
        "parameter `value` of `clamp`": "int",
        "parameter `low` of `clamp`": "str",  # default 0 is no str
        "parameter `high` of `clamp`": "int",
        "return type of `clamp`": "int",
    }
    caller = ("caller.py", "from m import clamp\nclamp(2.5, high=3)\n")  # 2.5 is no int
    outcome, report, _ = hints(CLAMP, 4, answers, [caller])
    assert outcome.edit is not None
    assert outcome.edit.apply(CLAMP).splitlines()[3] == "def clamp(value, low=0, high: int = 10) -> int:"
    reasons = {p.name: p.reason for p in report.proposals if not p.kept}
    assert "caller.py:2" in reasons["value"] and "0 at the default" in reasons["low"]


def test_type_hints_need_resolvable_names_and_functions_returning_nothing_get_none():
    text = "def log(message, level=None):\n    print(message)\n"
    outcome, report, model = hints(text, 0, {"`message`": "List[str]", "`level`": "int | None"})
    assert outcome.edit is not None
    assert outcome.edit.apply(text).splitlines()[0] == "def log(message, level: int | None = None) -> None:"
    assert "List is not defined" in report.dropped()
    assert not any("return type" in prompt for prompt in model.prompts)  # None needs no model


def test_type_hints_with_nothing_consistent_are_dropped_with_the_reasons():
    outcome, report, _ = hints(CLAMP, 4, {"`value`": "Foo", "`low`": "str", "`high`": "bytes", "`clamp` is": "Bar"})
    assert outcome.edit is None and outcome.attempts == 2
    assert "Foo is not defined" in outcome.reason and "no str" in outcome.reason


def fix(text: str, message: str, line: int, answer: str = "", scripted=None, **kwargs):
    start = sum(len(item) + 1 for item in text.split("\n")[:line])
    model = scripted(answer) if scripted else None
    return quick_fix(text, Diagnostic(message, start, start, line), model, **kwargs)


def test_undefined_names_get_deterministic_imports(scripted):
    text = '"""Paths."""\n\ndef stem(p):\n    return Path(p).stem + os.sep + slugify(p)\n'
    outcome, how = fix(text, "name 'os' is not defined", 3, scripted=scripted)
    assert how == "import" and outcome.edit.apply(text).startswith('"""Paths."""\n\nimport os\n\ndef stem')
    outcome, _ = fix(text, '"Path" is not defined', 3, scripted=scripted)
    assert outcome.edit.new_text.strip() == "from pathlib import Path"
    outcome, _ = fix(text, "Undefined name `slugify`", 3, scripted=scripted, workspace_modules={"slugify": "pkg.text"})
    assert outcome.edit.new_text.strip() == "from pkg.text import slugify"
    imported = "import sys\nimport re\n\nx = os.sep\n"
    outcome, _ = fix(imported, "undefined name 'os'", 3, scripted=scripted)
    assert outcome.edit.apply(imported) == "import sys\nimport re\nimport os\n\nx = os.sep\n"


def test_a_near_miss_of_a_name_in_scope_is_renamed(scripted):
    text = "def total(values, weight):\n    return sum(values) * wieght\n"
    outcome, how = fix(text, "undefined name 'wieght'", 1, scripted=scripted)
    assert how == "rename" and outcome.edit.apply(text).endswith("* weight\n")


def test_syntax_errors_get_the_missing_colon_or_bracket(scripted):
    text = "def f(x)\n    return g(x)\n"
    outcome, how = fix(text, "invalid syntax", 0, scripted=scripted)
    assert how == "syntax" and outcome.edit.apply(text).startswith("def f(x):\n")
    assert [edit.new_text for edit in syntax_candidates("y = g(h(1\n", 0)] == ["))"]
    assert [edit.new_text for edit in syntax_candidates("    retrun x\n", 0)] == ["return"]
    text = "def f(x):\n    if x = 1:\n        print 'one', x\n"
    outcome, how = fix(text, "invalid syntax", 1, scripted=scripted)
    assert how == "syntax" and outcome.edit.apply(text).split("\n")[1] == "    if x == 1:"
    outcome, how = fix(text.replace("x = 1", "x == 1"), "Missing parentheses in call to 'print'", 2, scripted=scripted)
    assert how == "syntax" and outcome.edit.apply(text.replace("x = 1", "x == 1")).split("\n")[2] == "        print('one', x)"


def test_the_model_fallback_rewrites_one_line_and_is_checked(scripted):
    text = "def f(x):\n    return x +* 2\n"
    outcome, how = fix(text, "invalid syntax", 1, "return x * 2", scripted=scripted)
    assert how == "model" and outcome.edit.apply(text) == "def f(x):\n    return x * 2\n"
    outcome, _ = fix(text, "invalid syntax", 1, "return x +* 2", scripted=scripted)
    assert outcome.edit is None and "unchanged" in outcome.reason
    outcome, _ = fix(text, "invalid syntax", 1, "return (x", scripted=scripted)
    assert outcome.edit is None and "syntax error" in outcome.reason
    outcome, _ = fix(text, "invalid syntax", 1, "print('hello world')", scripted=scripted)
    assert outcome.edit is None and "rewrote the line" in outcome.reason
    named = "def f(x):\n    return x + offset\n"
    outcome, _ = fix(named, "undefined name 'offset'", 1, "return x + offset + 0", scripted=scripted)
    assert outcome.edit is None and "still uses the undefined name offset" in outcome.reason


def test_undefined_name_messages_of_several_linters():
    assert undefined_name("undefined name 'os'") == "os"  # pyflakes
    assert undefined_name("Undefined name `os`") == "os"  # ruff
    assert undefined_name('"os" is not defined') == "os"  # pyright
    assert undefined_name("NameError: name 'os' is not defined") == "os"
    assert undefined_name("invalid syntax") is None


def test_module_names_of_workspace_files(tmp_path):
    assert module_name(tmp_path / "src" / "pkg" / "text.py", tmp_path) == "pkg.text"
    assert module_name(tmp_path / "pkg" / "__init__.py", tmp_path) == "pkg"
    assert module_name(tmp_path / "my-scripts" / "x.py", tmp_path) is None
    assert module_name(Path("/elsewhere/x.py"), tmp_path) is None


def test_body_is_trimmed_to_the_function_and_cut_lines_are_dropped(scripted):
    text = "def mean(values):\n    ...\n\n\nprint(1)\n"
    outcome = complete_body(text, 0, scripted("total = sum(values)\n    return total / len(values)\nprint(2)"))
    assert outcome.edit.apply(text) == "def mean(values):\n    total = sum(values)\n    return total / len(values)\n\n\nprint(1)\n"
    outcome = complete_body(text, 0, scripted("total = sum(values)\n    return total / (len(values"))  # token limit
    assert outcome.edit.apply(text).startswith("def mean(values):\n    total = sum(values)\n\n")
    dropped = complete_body(text, 0, scripted("pass"))
    assert dropped.edit is None and "empty body" in dropped.reason
    assert trim_body("a\n    b\n    b\n    b\n    b", "    ") == ["    a", "    b", "    b"]
    # Qwen's tokenizer answers " return ..." after a prompt that ends with the indentation.
    spaced = complete_body(text, 0, scripted(" return sum(values) / len(values)"))
    assert spaced.edit.apply(text).startswith("def mean(values):\n    return sum(values) / len(values)\n")


def test_body_keeps_the_docstring_and_handles_one_line_stubs(scripted):
    text = 'class A:\n    def f(self):\n        """Doc."""\n\n    def g(self): ...\n'
    outcome = complete_body(text, 1, scripted("return 1"))
    assert outcome.edit.apply(text).startswith('class A:\n    def f(self):\n        """Doc."""\n        return 1\n')
    outcome = complete_body(text, 4, scripted("return 2"))
    assert outcome.edit.apply(text).endswith("    def g(self):\n        return 2\n")


def test_offers_depend_on_the_function():
    text = CLAMP + '\n\ndef done(x: int) -> int:\n    """Done."""\n    return x\n\n\ndef todo(x):\n    pass\n'
    assert [o.action for o in offers(text, 4)] == [DOCSTRING, TYPE_HINTS]
    assert offers(text, 11) == []
    assert [o.action for o in offers(text, 15)] == [DOCSTRING, TYPE_HINTS, BODY]
    assert offers(text, 0) == [] and offers("def broken(:\n", 0) == []

"""Post-processing: never repeat what follows the cursor, stop where the code below begins."""

import pytest

from fireside.completion.postprocess import CursorLine, bracket_depth, finalize, stop_index


def cursor(text: str) -> CursorLine:
    return CursorLine.from_text(text.replace("|", ""), text.index("|"))


@pytest.mark.parametrize(
    ("source", "generated", "expected"),
    [
        ("def f(|):", "x, y):", "x, y"),  # closers and colon already follow the cursor
        ("print(|)", "f(a))", "f(a)"),  # keeps the bracket it opened itself
        ("print(|)", "f(a)", "f(a)"),
        ("x = |  # note", "compute()  # note", "compute()"),
        ("value = |", "42\nnext_line()", "42"),  # one line only mid-statement
        ("items = [|]", "1, 2, 3]", "1, 2, 3"),
    ],
)
def test_single_line_overlap_with_the_suffix_is_trimmed(source, generated, expected):
    assert finalize(generated, cursor(source), multiline=False) == expected


def test_multiline_stops_at_the_code_below_the_cursor():
    source = "def f(x):\n    |\n    return y\n"
    generated = "y = x + 1\n    return y\n    extra()"
    assert finalize(generated, cursor(source), multiline=True) == "y = x + 1"


def test_multiline_stops_on_dedent_out_of_the_block():
    source = "def f(x):\n    |\n"
    generated = "a = 1\n    b = 2\ndef other():\n    pass"
    assert finalize(generated, cursor(source), multiline=True) == "a = 1\n    b = 2"


def test_stop_index_waits_for_a_complete_line():
    assert stop_index("abc", cursor("x = |"), multiline=False) is None
    assert stop_index("abc\nd", cursor("x = |"), multiline=False) == 3


def test_whitespace_only_completion_is_empty():
    assert finalize("   \n  ", cursor("def f():\n    |"), multiline=True) == ""


def test_bracket_depth_ignores_strings():
    assert bracket_depth("f('(', [1, 2]") == 1
    assert bracket_depth("a)]") == -2


def test_degenerate_repetition_is_dropped():
    assert finalize("1000000000000000000000000", cursor("x = |"), multiline=False) == ""


def test_repeating_the_line_above_is_dropped():
    source = "total += price\n|"
    assert finalize("total += price", cursor(source), multiline=True) == ""
    assert finalize("total += tax", cursor(source), multiline=True) == "total += tax"


def test_deep_indentation_is_not_mistaken_for_a_loop():
    source = "def f(x):\n    |\n"
    generated = "for a in x:\n        if a:\n            if a > 1:\n                if a > 2:\n                    return a"
    assert finalize(generated, cursor(source), multiline=True).endswith("return a")


@pytest.mark.parametrize(
    ("source", "generated", "expected"),
    [
        # the model re-typed the indentation the user already has: not doubled
        ("def f(x):\n    |", "    y = x\n    return y", "y = x\n    return y"),
        ("def f(x):\n    |", "    y = x\n        return y", "y = x\n    return y"),
        # an empty block body at column 0 gets the block's indentation
        ("def f(x):\n|", "y = x\nreturn y", "    y = x\n    return y"),
        # tabs in a space-indented file become the file's unit
        ("def f(x):\n  a = 1\n  |", "b = 2\n  \tc = 3", "b = 2\n    c = 3"),
        # what is already right stays as it is
        ("def f(x):\n    |", "y = x\n    return y", "y = x\n    return y"),
    ],
)
def test_multiline_indentation_matches_the_file(source, generated, expected):
    assert finalize(generated, cursor(source), multiline=True) == expected


def test_indent_unit_is_detected():
    from fireside.completion.postprocess import indent_unit

    assert indent_unit("def f():\n  x = 1\n  if x:\n    y\n") == "  "
    assert indent_unit("def f():\n\tx = 1\n") == "\t"
    assert indent_unit("x = 1\n") == "    "


def test_a_multiline_completion_cut_by_the_token_limit_keeps_whole_lines():
    from fireside.completion.fake_engine import FakeEngine
    from fireside.completion.pipeline import complete
    from fireside.completion.types import CompletionRequest

    text = "def f(x):\n    \n"
    offset = text.index("    \n") + 4

    def offer(max_tokens: int) -> str:
        engine = FakeEngine(text="y = x + 1\n    return y\n")  # one character per token
        request = CompletionRequest("file:///w/m.py", "python", text, offset, 1, max_tokens, "m.py")
        return complete(engine, request, max_prompt_tokens=500, context_size=4096, cancelled=lambda: False).text

    assert offer(18) == "y = x + 1"  # "y = x + 1\n    retu": the half line is not offered
    assert offer(100) == "y = x + 1\n    return y"


def test_the_whitespace_before_the_cursor_is_typed_again_by_the_model():
    from fireside.completion.healing import after_typed, healed_stop, trailing_whitespace

    assert trailing_whitespace("def f(x):\n    ") == "    "
    assert trailing_whitespace("x = ") == " "
    assert trailing_whitespace("x = 1\n") == ""  # never a line break
    assert after_typed("    return x", "    ") == "return x"
    assert after_typed("  ", "    ") is None  # still typing what the user typed
    assert after_typed("        return x", "    ") == "    return x"  # deeper: left to the indentation rules
    assert after_typed("  return x", "    ") == "return x"  # shallower: the user's indentation stands
    assert after_typed("value", " ") == "value"
    stop = healed_stop(lambda text: text.find("\n") if "\n" in text else None, "    ")
    assert stop("    ret") is None
    assert "    return x\n"[: stop("    return x\n")] == "    return x"


def test_prompts_leave_out_the_whitespace_before_the_cursor():
    from fireside.completion.fake_engine import FakeEngine
    from fireside.completion.pipeline import complete
    from fireside.completion.types import CompletionRequest

    text = "def f(x):\n    \n"
    engine = FakeEngine(text="    return x\n")
    request = CompletionRequest("file:///w/m.py", "python", text, text.index("    \n") + 4, 1, 64, "m.py")
    completion = complete(engine, request, max_prompt_tokens=500, context_size=4096, cancelled=lambda: False)
    assert engine.last_prompt_text.endswith("def f(x):\n")
    assert completion.text == "return x"
    unhealed = complete(FakeEngine(text="return x\n"), request, max_prompt_tokens=500, context_size=4096,
                        cancelled=lambda: False, heal=False)
    assert unhealed.text == "return x"

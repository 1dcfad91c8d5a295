"""Prompt windows are anchored (keystrokes share a prefix) and syntax at the cursor is read right."""

from fireside.completion.prompt import FimTokens, build_prompt
from fireside.completion.types import CompletionRequest
from fireside.context.languages import LANGUAGES, language_for
from fireside.context.syntax import analyse_cursor


class CharTokenizer:
    start_tokens = [1]

    def tokenize(self, text: str) -> list[int]:
        return [ord(c) for c in text]


def request(text: str, offset: int) -> CompletionRequest:
    return CompletionRequest("file:///p/m.py", "python", text, offset, 1, 32, "m.py")


def test_small_prefix_is_given_whole_with_a_path_header():
    text = "import os\nx = "
    prompt = build_prompt(request(text, len(text)), CharTokenizer(), budget_tokens=500, fim=None)
    assert prompt.prefix_text == "# Path: m.py\n" + text
    assert prompt.tokens[0] == 1


def test_window_start_is_stable_while_typing():
    lines = [f"value_{i} = {i}\n" for i in range(2000)]
    text = "".join(lines)
    first = build_prompt(request(text + "ab", len(text) + 2), CharTokenizer(), budget_tokens=2000, fim=None)
    second = build_prompt(request(text + "abc", len(text) + 3), CharTokenizer(), budget_tokens=2000, fim=None)
    assert len(first.tokens) <= 2001
    # Typing one character only appends a token: the whole earlier prompt is a prefix of the new one.
    assert second.tokens[: len(first.tokens)] == first.tokens


def test_fim_prompt_orders_prefix_suffix_middle():
    text = "def f():\n    return 1\n"
    offset = text.index("return")
    fim = FimTokens(prefix=900, suffix=901, middle=902)
    prompt = build_prompt(request(text, offset), CharTokenizer(), budget_tokens=400, fim=fim)
    assert prompt.tokens[1] == 900
    assert prompt.tokens[-1] == 902
    assert 901 in prompt.tokens
    assert prompt.suffix_text.startswith("return 1")


def test_enclosing_scopes_and_multiline_decision():
    spec = LANGUAGES["python"]
    text = "class A(Base):\n    @property\n    def size(self) -> int:\n        \n"
    offset = text.index("        \n") + 8
    syntax = analyse_cursor(spec, text, offset)
    assert [scope.name for scope in syntax.scopes] == ["A", "size"]
    assert syntax.scopes[1].header.startswith("@property")
    assert syntax.wants_multiline
    mid_line = text.index("Base") + 2
    assert not analyse_cursor(spec, text, mid_line).wants_multiline


def test_strings_and_comments_are_recognised():
    spec = LANGUAGES["python"]
    text = 'x = "hello world"  # a comment\n'
    assert analyse_cursor(spec, text, text.index("world")).in_string
    assert analyse_cursor(spec, text, text.index("comment")).in_comment


def test_language_lookup_by_id_or_suffix():
    assert language_for("python").language_id == "python"
    assert language_for(None, "file:///a/b.pyi").language_id == "python"
    assert language_for("cobol", "file:///a.cbl") is None

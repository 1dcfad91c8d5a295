"""Prompt windows are anchored (keystrokes share a prefix) and syntax at the cursor is read right."""

from hypothesis import given, settings
from hypothesis import strategies as st

from fireside.completion import prompt as prompt_module
from fireside.completion.prompt import WINDOW_STEP_LINES, FimTokens, build_prompt
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


def decoded(tokens: list[int]) -> str:
    return "".join(chr(t) if t < 900 else f"<{t}>" for t in tokens[1:])


def test_fim_prompt_orders_prefix_suffix_middle_with_the_cursor_line_in_the_middle():
    fim = FimTokens(prefix=900, suffix=901, middle=902)
    above = "".join(f"x{i} = {i}\n" for i in range(10))  # lines 0-9: the middle starts at line 8
    text = above + "def f():\n    return 1\n"
    offset = text.index("1\n", len(above))
    prompt = build_prompt(request(text, offset), CharTokenizer(), budget_tokens=400, fim=fim)
    lines_0_to_7 = "".join(f"x{i} = {i}\n" for i in range(8))
    middle = "x8 = 8\nx9 = 9\ndef f():\n    return "
    assert decoded(prompt.tokens) == f"<900># Path: m.py\n{lines_0_to_7}<901>1\n<902>{middle}"
    assert prompt.suffix_text.startswith("1")
    assert prompt.prefix_text.endswith("def f():\n    return ")


def test_typing_and_new_lines_only_append_to_a_fim_prompt():
    fim = FimTokens(prefix=900, suffix=901, middle=902)
    lines = [f"value_{i} = {i}\n" for i in range(300)]
    head, tail = "".join(lines[:145]), "".join(lines[145:])  # the middle starts at line 144
    previous = None
    for typed in ("", "r", "re", "res", "result = ", "result = v", "result = v\n", "result = v\n    r"):
        text = head + typed + "\n" + tail
        prompt = build_prompt(request(text, len(head) + len(typed)), CharTokenizer(), budget_tokens=1200, fim=fim)
        if previous is not None:
            shared = next((i for i, (a, b) in enumerate(zip(previous, prompt.tokens)) if a != b), len(previous))
            assert shared >= len(previous) - 1  # only the line's last token may change (here: none)
            assert prompt.tokens.index(902) == previous.index(902)
        previous = prompt.tokens


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


def test_dense_text_moves_the_window_in_anchored_steps():
    class DenseTokenizer(CharTokenizer):
        def tokenize(self, text: str) -> list[int]:
            return [ord(c) for c in text] * 3  # three tokens per character: denser than assumed

    lines = [f"v{i} = {i}\n" for i in range(600)]
    text = "".join(lines)
    first = build_prompt(request(text + "a", len(text) + 1), DenseTokenizer(), budget_tokens=3000, fim=None)
    second = build_prompt(request(text + "ab", len(text) + 2), DenseTokenizer(), budget_tokens=3000, fim=None)
    assert len(first.tokens) <= 3001
    window_line = first.prefix_text.split("\n")[1]
    assert window_line.startswith("v") and int(window_line[1:].split(" ")[0]) % WINDOW_STEP_LINES == 0
    assert first.prefix_text.split("\n")[:3] == second.prefix_text.split("\n")[:3]


def test_definitions_from_other_files_come_first_and_stay_put_while_typing():
    from fireside.completion.prompt import PromptContext
    from fireside.context.definitions import Definition

    calls = []

    def definitions_for(names):
        calls.append(names)
        return [Definition("Catalog", "class", "class Catalog:\n    def get(self, sku): ...", "/w/shop/catalog.py", 3)] if "Catalog" in names else []

    context = PromptContext(definitions_for=definitions_for, workspace_root="/w")
    text = "from shop.catalog import Catalog\n\ncatalog = Catalog()\nitem = catalog.g"
    first = build_prompt(request(text, len(text)), CharTokenizer(), budget_tokens=800, fim=None, context=context)
    assert first.prefix_text.startswith("# Path: shop/catalog.py\nclass Catalog:")
    assert "# Path: m.py\n" in first.prefix_text
    assert "Catalog" in calls[0] and "g" not in calls[0]  # the cursor's own line is not used
    second = build_prompt(request(text + "e", len(text) + 1), CharTokenizer(), budget_tokens=800, fim=None, context=context)
    assert second.tokens[: len(first.tokens)] == first.tokens
    without = build_prompt(request(text, len(text)), CharTokenizer(), budget_tokens=800, fim=None,
                           context=PromptContext(features=frozenset({"imports", "scopes"}), definitions_for=definitions_for))
    assert "class Catalog" not in without.prefix_text


def test_imports_outside_the_window_are_kept():
    from fireside.completion.prompt import PromptContext

    body = "".join(f"x{i} = {i}\n" for i in range(400))
    text = "import numpy as np\n" + body + "y = np."
    context = PromptContext(features=frozenset({"imports"}), imports=[(0, "import numpy as np")])
    prompt = build_prompt(request(text, len(text)), CharTokenizer(), budget_tokens=300, fim=None, context=context)
    assert prompt.prefix_text.startswith("# Path: m.py\nimport numpy as np\n")
    assert not prompt.prefix_text.split("\n", 2)[2].startswith("import numpy")


def test_completions_that_break_a_parsing_file_are_trimmed_or_dropped():
    from fireside.context.trees import CompletionSplice, keep_parseable, reparse

    spec = LANGUAGES["python"]

    def keep(text: str, offset: int, completion: str) -> str:
        parsed = reparse(spec, None, text.encode())
        return keep_parseable(CompletionSplice(spec, parsed, offset, text), completion)

    text = "def f(x):\n    return \n"
    offset = text.index("return ") + 7
    assert keep(text, offset, "x + 1") == "x + 1"
    assert keep(text, offset, "x +") == ""
    assert keep(text, offset, "x\n    y = (") == "x"
    broken = "def f(x):\n    return (\n"  # already broken: nothing to compare, keep it
    assert keep(broken, broken.index("(") + 1, "x +") == "x +"


REPOSITORY_FIM = FimTokens(prefix=900, suffix=901, middle=902, repo_name=903, file_sep=904)


def _render(tokens: list[int]) -> str:
    names = {900: "<P>", 901: "<S>", 902: "<M>", 903: "<R>", 904: "<F>"}
    return "".join(names.get(token, chr(token)) for token in tokens[1:])


def _catalog_context(features):
    from fireside.completion.prompt import PromptContext
    from fireside.context.definitions import Definition

    stub = Definition("Catalog", "class", "class Catalog:\n    def get(self, sku): ...", "/w/shop/catalog.py", 3)
    helper = Definition("price_of", "function", "def price_of(item): ...", "/w/shop/prices.py", 0)
    return PromptContext(
        features=frozenset(features),
        definitions_for=lambda names: [d for d in (stub, helper) if d.name in names],
        workspace_root="/w",
    )


SHOP_TEXT = "from shop.catalog import Catalog\n\ncatalog = Catalog()\ntotal = price_of(catalog.get(1))\nitem = catalog.g"


def test_repository_layout_puts_other_files_first_then_the_current_file_in_fim_order():
    text = SHOP_TEXT + "\nprint(item)\n"
    offset = len(SHOP_TEXT)
    context = _catalog_context({"definitions", "imports", "scopes", "repo-format"})
    prompt = build_prompt(request(text, offset), CharTokenizer(), budget_tokens=800, fim=REPOSITORY_FIM, context=context)
    assert _render(prompt.tokens) == (
        "<R>w\n"
        "<F>shop/catalog.py\nclass Catalog:\n    def get(self, sku): ...\n"
        "<F>shop/prices.py\ndef price_of(item): ...\n"
        "<F>m.py\n"
        # the cursor's line and those above it since the last multiple of 8 follow <M>
        f"<P><S>\nprint(item)\n<M>{SHOP_TEXT}"
    )
    assert "# Path" not in prompt.prefix_text  # the path is in the file separator, not a comment


def test_fim_without_repository_tokens_keeps_definitions_as_comments_inside_the_prefix():
    text = SHOP_TEXT + "\nprint(item)\n"
    fim = FimTokens(prefix=900, suffix=901, middle=902)
    context = _catalog_context({"definitions", "repo-format"})
    prompt = build_prompt(request(text, len(SHOP_TEXT)), CharTokenizer(), budget_tokens=800, fim=fim, context=context)
    rendered = _render(prompt.tokens)
    assert rendered.startswith("<P># Path: shop/catalog.py\nclass Catalog:")
    assert "<R>" not in rendered and "<F>" not in rendered
    assert rendered.endswith(f"# Path: m.py\n<S>\nprint(item)\n<M>{SHOP_TEXT}")


def test_repository_format_can_be_switched_off():
    context = _catalog_context({"definitions"})
    prompt = build_prompt(request(SHOP_TEXT, len(SHOP_TEXT)), CharTokenizer(), budget_tokens=800, fim=REPOSITORY_FIM, context=context)
    assert 903 not in prompt.tokens and 904 not in prompt.tokens
    assert _render(prompt.tokens).startswith("<P># Path: shop/catalog.py\n")


def test_repository_prompt_stays_a_prefix_while_typing_and_fits_the_budget():
    import dataclasses

    body = "".join(f"total_{i} = price_of(Catalog().get({i}))\n" for i in range(300))
    context = dataclasses.replace(
        _catalog_context({"definitions", "imports", "repo-format"}), imports=[(0, "from shop.catalog import Catalog")]
    )
    text = "from shop.catalog import Catalog\n" + body + "item = catalog.g"
    tokenizer = CharTokenizer()
    first = build_prompt(request(text, len(text)), tokenizer, budget_tokens=1200, fim=REPOSITORY_FIM, context=context)
    second = build_prompt(request(text + "e", len(text) + 1), tokenizer, budget_tokens=1200, fim=REPOSITORY_FIM, context=context)
    assert len(first.tokens) <= 1200 + 1
    rendered = _render(first.tokens)
    assert rendered.startswith("<R>w\n<F>shop/catalog.py\n")
    # the imports the window no longer shows open the current file
    assert "<F>m.py\n<P>from shop.catalog import Catalog\ntotal_" in rendered
    prefix_part = first.tokens[: first.tokens.index(901)]
    assert second.tokens[: len(prefix_part)] == prefix_part


def _anchor_by_listing_lines(prefix: str, earliest: int) -> int:
    """The window anchor, as it was first written: list every line start, take the first at or
    after ``earliest``, round its index up to a step."""
    starts = [0] + [i + 1 for i, char in enumerate(prefix) if char == "\n"]
    for index, start in enumerate(starts):
        if start >= earliest:
            anchored = -(-index // prompt_module.WINDOW_STEP_LINES) * prompt_module.WINDOW_STEP_LINES
            return starts[-1] if anchored >= len(starts) else starts[anchored]
    return starts[-1]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.integers(0, 5), max_size=120), st.integers(-3, 400))
def test_the_window_anchor_is_found_without_listing_every_line(line_lengths, earliest):
    prefix = "".join("x" * length + "\n" for length in line_lengths[:-1]) + "y" * (line_lengths[-1] if line_lengths else 0)
    assert prompt_module._anchor_at_or_after(prefix, earliest) == _anchor_by_listing_lines(prefix, earliest)

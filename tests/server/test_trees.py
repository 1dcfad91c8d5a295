"""Trees kept per document (incremental re-parse) and completions checked by splicing them in."""

from hypothesis import example, given, settings
from hypothesis import strategies as st

from fireside.completion.postprocess import CursorLine
from fireside.completion.stopping import SyntaxAwareStop
from fireside.context.languages import LANGUAGES
from fireside.context.syntax import parse
from fireside.context.trees import CompletionSplice, DocumentTrees, reparse

SPEC = LANGUAGES["python"]
SOURCE = "import os\n\n\ndef f(x):\n    y = x + 1\n    return y\n\n\nclass A:\n    def m(self):\n        pass\n"


def sexp(text: str) -> str:
    return str(parse(SPEC, text.encode()).root_node)


@settings(max_examples=60, deadline=None, derandomize=True)  # the same edits in every run: CI never meets a new one
@given(
    edits=st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(0, 8), st.text(alphabet="abc():= \n\té#'\"", max_size=6)),
        min_size=1,
        max_size=6,
    )
)
@example(edits=[(1050, 6, ""), (9995, 7, ":::"), (309, 0, ")=''"), (0, 1, "")])  # error recovery differs here
def test_incremental_reparse_equals_a_fresh_parse(edits):
    """Equal trees for text that parses; for text with syntax errors tree-sitter promises only that both
    trees hold errors (its error recovery may group the broken part differently when it re-parses
    incrementally: the example above), which is all the completion rules ask of them."""
    trees = DocumentTrees()
    text = SOURCE
    trees.parse(SPEC, "file:///m.py", text)
    for position, removed, inserted in edits:
        position %= len(text) + 1
        text = text[:position] + inserted + text[position + removed :]
        parsed = trees.parse(SPEC, "file:///m.py", text)
        assert parsed.source == text.encode()
        fresh = parse(SPEC, text.encode()).root_node
        if fresh.has_error:
            assert parsed.tree.root_node.has_error
        else:
            assert str(parsed.tree.root_node) == str(fresh)


def test_unchanged_text_reuses_the_tree_and_documents_are_bounded():
    trees = DocumentTrees(capacity=2)
    first = trees.parse(SPEC, "file:///a.py", SOURCE)
    assert trees.parse(SPEC, "file:///a.py", SOURCE) is first
    trees.parse(SPEC, "file:///b.py", SOURCE)
    trees.parse(SPEC, "file:///c.py", SOURCE)
    assert trees.parse(SPEC, "file:///a.py", SOURCE) is not first  # evicted, parsed afresh


def splice_at(text: str) -> tuple[CompletionSplice, CursorLine]:
    offset = text.index("|")
    text = text.replace("|", "")
    return CompletionSplice(SPEC, reparse(SPEC, None, text.encode()), offset, text), CursorLine.from_text(text, offset)


def test_splice_reports_where_the_cursor_block_closes():
    splice, _ = splice_at("class A:\n    def m(self):\n        |\n")
    verdict = splice.check("a = 1\n        return a\n    def other(self):\n        pass")
    assert verdict.parses
    assert verdict.block_end == len("a = 1\n        return a")
    assert splice.check("a = 1\n        return a").block_end is None


def test_splice_reports_a_completion_that_does_not_parse():
    splice, _ = splice_at("def f(x):\n    |\n\nz = 1\n")
    assert splice.check("y = x").parses
    assert not splice.check("y = x x").parses


def test_stop_rule_cuts_generation_when_the_block_closes():
    splice, cursor = splice_at("class A:\n    def m(self):\n        |\n")
    stop = SyntaxAwareStop(cursor, True, splice)
    generated = ""
    cut = None
    for piece in ["a = 1", "\n", "        return a", "\n", "    def other", "(self):", "\n"]:
        generated += piece
        cut = stop(generated)
        if cut is not None:
            break
    assert generated[:cut] == "a = 1\n        return a"
    assert stop.tree_checks >= 1


def test_stop_rule_cuts_at_the_last_parsing_line():
    splice, cursor = splice_at("def f(x):\n    |\n\nz = 1\n")
    stop = SyntaxAwareStop(cursor, True, splice)
    assert stop("y = x\n") is None
    assert stop("y = x\n    w = y y\n") == len("y = x")
    # An unfinished line (an open bracket, a block opener) is not judged yet.
    stop = SyntaxAwareStop(cursor, True, splice)
    assert stop("if y:\n") is None
    assert stop("total = f(\n") is None
    # Nor is a docstring (a string spanning lines) that has only been opened.
    stop = SyntaxAwareStop(cursor, True, splice)
    assert stop('"""\n') is None
    assert stop('"""\n    Sum of x.\n') is None
    assert stop('"""\n    Sum of x.\n    """\n') is None
    assert stop('"""\n    Sum of x.\n    """\n    return x x\n') == len('"""\n    Sum of x.\n    """')


@settings(max_examples=60, deadline=None, derandomize=True)  # the same edits in every run: CI never meets a new one
@given(position=st.integers(0, 10_000), completion=st.text(alphabet="abc():= \n\té#'\"", max_size=20))
def test_a_spliced_completion_parses_like_the_merged_text(position, completion):
    position %= len(SOURCE) + 1
    splice = CompletionSplice(SPEC, reparse(SPEC, None, SOURCE.encode()), position, SOURCE)
    tree, _ = splice.parsed_with(completion)
    assert str(tree.root_node) == sexp(SOURCE[:position] + completion + SOURCE[position:])

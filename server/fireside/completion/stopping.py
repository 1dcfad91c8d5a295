"""When to stop decoding: the text rules of ``postprocess.stop_index``, then what tree-sitter says
about the completion spliced into the document — its block has closed, or it stopped parsing.

Checked once per completed line (an incremental re-parse, well under a millisecond for a typical
edit), so a multi-line completion never spends tokens past the end of its block.
"""

from __future__ import annotations

from fireside.completion.postprocess import CursorLine, bracket_depth, stop_index
from fireside.context.trees import CompletionSplice

# Delimiters of strings that span lines (Python's triple quotes, JavaScript's and Go's backticks): an
# odd count means the completion is inside one, which is unfinished, not wrong.
_MULTILINE_STRING_DELIMITERS = ('"""', "'''", "`")


def inside_multiline_string(text: str) -> bool:
    return any(text.count(delimiter) % 2 for delimiter in _MULTILINE_STRING_DELIMITERS)


class SyntaxAwareStop:
    """``stop_at`` for ``Engine.run``: where to cut the text generated so far, or None to go on."""

    def __init__(self, cursor: CursorLine, multiline: bool, splice: CompletionSplice | None) -> None:
        self._cursor = cursor
        self._multiline = multiline
        self._splice = splice
        self._lines_checked = 0
        self._last_parsing_end = 0  # end of the longest prefix of whole lines that parsed
        self.tree_checks = 0

    def __call__(self, generated: str) -> int | None:
        cut = stop_index(generated, self._cursor, self._multiline)
        if cut is not None or not self._multiline or self._splice is None:
            return cut
        complete_end = generated.rfind("\n")
        lines = generated.count("\n")
        if complete_end <= 0 or lines == self._lines_checked:
            return None
        self._lines_checked = lines
        completed = generated[:complete_end].rstrip()
        if not completed.strip():
            return None
        self.tree_checks += 1
        verdict = self._splice.check(completed)
        if verdict.block_end is not None:
            return verdict.block_end  # the block the cursor is in closed inside the completion
        if verdict.parses:
            self._last_parsing_end = len(completed)
            return None
        last_line = completed.rsplit("\n", 1)[-1].rstrip()
        style = self._cursor.style
        if (
            bracket_depth(completed, style.quotes) == 0
            and not last_line.endswith(style.continuation_suffixes)
            and not inside_multiline_string(completed)
            and not style.open_conditionals(completed)
        ):
            return self._last_parsing_end  # a whole statement that does not parse: it won't get better
        return None

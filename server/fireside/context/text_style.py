"""How a language shapes its text, for the rules that work on plain strings (post-processing and the
text half of the stop rule): which line endings open a block, what closes one, what quotes strings.

No tree-sitter here: these rules also serve languages Fireside has no grammar for.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TextStyle:
    block_openers: tuple[str, ...] = (":",)  # a line ending with one of these opens a block
    block_closer: str = ""  # a line starting with it closes a block ("}"); "" where a dedent does (Python)
    quotes: str = "\"'"  # string delimiters, so that brackets inside strings are not counted
    default_indent: str = "    "  # one level of indentation when the file does not show one yet
    # A line ending like this is unfinished: the file cannot parse until the next line comes.
    continuation_suffixes: tuple[str, ...] = (":", ",", "\\", "(", "[", "{")


INDENTED = TextStyle()  # Python: blocks open with ':' and end by dedenting

_BRACE_CONTINUATIONS = (",", "(", "[", "{", "=", "+", "-", "*", "/", "%", "&&", "||", "&", "|", "=>", "->", ".", "?", ":", "\\", "<")


def braces(*, default_indent: str = "    ", quotes: str = "\"'") -> TextStyle:
    """The style of a language whose blocks are ``{ ... }``."""
    return TextStyle(
        block_openers=("{",),
        block_closer="}",
        quotes=quotes,
        default_indent=default_indent,
        continuation_suffixes=_BRACE_CONTINUATIONS,
    )

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
    # Line openers of a block that a later line closes (C's `#if`/`#ifdef`/`#ifndef` … `#endif`): text with
    # more openers than closers is unfinished, like an open bracket.
    conditional_openers: tuple[str, ...] = ()
    conditional_closer: str = ""

    def open_conditionals(self, text: str) -> int:
        """How many of ``text``'s conditional blocks (``#if`` … ``#endif``) are still open."""
        if not self.conditional_closer:
            return 0
        depth = 0
        for line in text.split("\n"):
            stripped = line.lstrip()
            if stripped.startswith(self.conditional_closer):
                depth -= 1
            elif stripped.startswith(self.conditional_openers):
                depth += 1
        return max(depth, 0)

    def is_directive(self, line: str) -> bool:
        """A preprocessor line (`#else`, `#endif`…), which sits at any indentation: not a dedent."""
        return bool(self.conditional_closer) and line.lstrip().startswith("#")


INDENTED = TextStyle()  # Python: blocks open with ':' and end by dedenting

_BRACE_CONTINUATIONS = (",", "(", "[", "{", "=", "+", "-", "*", "/", "%", "&&", "||", "&", "|", "=>", "->", ".", "?", ":", "\\", "<")


def braces(*, default_indent: str = "    ", quotes: str = "\"'", preprocessor: bool = False) -> TextStyle:
    """The style of a language whose blocks are ``{ ... }`` (``preprocessor``: C's ``#if`` … ``#endif``)."""
    return TextStyle(
        block_openers=("{",),
        block_closer="}",
        quotes=quotes,
        default_indent=default_indent,
        continuation_suffixes=_BRACE_CONTINUATIONS,
        conditional_openers=("#if",) if preprocessor else (),  # #if, #ifdef, #ifndef
        conditional_closer="#endif" if preprocessor else "",
    )

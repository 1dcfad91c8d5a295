"""Deciding when to stop generating and cleaning up what was generated.

Pure functions over strings, so every rule is tested without a model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fireside.context.text_style import INDENTED, TextStyle

# A character repeated this often in a row is a degenerate loop ("0000000…"), not code.
_RUNAWAY = re.compile(r"(\S)\1{15,}")  # indentation is not a loop

_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {value: key for key, value in _OPENERS.items()}


@dataclass(frozen=True)
class CursorLine:
    """The line around the cursor and the first meaningful line after it."""

    before: str  # text on the cursor's line before the cursor
    after: str  # text on the cursor's line after the cursor
    next_line: str  # the first non-blank line below the cursor's line ("" if none)
    previous_line: str = ""  # the first non-blank line above the cursor's line
    indent_unit: str = "    "  # one level of indentation in this file (spaces or a tab)
    style: TextStyle = INDENTED  # the language's block and string shapes (braces, quotes)

    @classmethod
    def from_text(cls, text: str, offset: int, style: TextStyle = INDENTED) -> CursorLine:
        line_start = text.rfind("\n", 0, offset) + 1
        previous_line = ""
        for line in reversed(text[max(0, line_start - 4000) : max(0, line_start - 1)].split("\n")[-50:]):
            if line.strip():
                previous_line = line.rstrip("\r")
                break
        line_end = text.find("\n", offset)
        line_end = len(text) if line_end == -1 else line_end
        next_line = ""
        for line in text[line_end + 1 :].split("\n", 50)[:50]:
            if line.strip():
                next_line = line.rstrip("\r")
                break
        unit = indent_unit(text[max(0, line_start - 20_000) : line_start], style.default_indent)
        return cls(text[line_start:offset], text[offset:line_end].rstrip("\r"), next_line, previous_line, unit, style)

    @property
    def indent(self) -> str:
        return self.before[: len(self.before) - len(self.before.lstrip())]


def indent_unit(text: str, default: str = "    ") -> str:
    """The file's indentation step: a tab, or the most common increase in leading spaces (``default``
    when the text shows none: a tab in Go)."""
    steps: dict[int, int] = {}
    tabs = spaces = 0
    previous = 0
    for line in text.split("\n"):
        if not line.strip():
            continue
        if line.startswith("\t"):
            tabs += 1
            continue
        width = len(line) - len(line.lstrip(" "))
        spaces += width > 0
        if width > previous:
            steps[width - previous] = steps.get(width - previous, 0) + 1
        previous = width
    if tabs > spaces:
        return "\t"
    return " " * max(steps, key=lambda step: (steps[step], -step)) if steps else default


def bracket_depth(text: str, quotes: str = "\"'") -> int:
    """Openers minus closers, ignoring brackets inside simple string literals."""
    depth = 0
    quote = ""
    escaped = False
    for char in text:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
            continue
        if char in quotes:
            quote = char
        elif char in _OPENERS:
            depth += 1
        elif char in _CLOSERS:
            depth -= 1
    return depth


def _indent_width(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def stop_index(generated: str, cursor: CursorLine, multiline: bool) -> int | None:
    """Where to cut ``generated`` because it is complete, or None to keep generating."""
    if not multiline:
        newline = generated.find("\n")
        return None if newline == -1 else newline
    lines = generated.split("\n")
    complete = lines[:-1]  # the last line may still be growing
    offset = 0
    base_indent = _indent_width(cursor.before) if not cursor.before.strip() else None
    blank_run = 0
    for index, line in enumerate(complete):
        stripped = line.strip()
        if index > 0 or not cursor.before.strip():
            reached = cursor.next_line.strip() and stripped == cursor.next_line.strip()
            if reached and not _closes_its_own_block(generated[:offset], stripped, cursor.style):
                return max(0, offset - 1) if offset else 0  # the model reached the code below
            dedented = stripped and base_indent is not None and index > 0 and _indent_width(line) < base_indent
            if dedented and not cursor.style.is_directive(line):
                if _closes_unclosed_block(line, cursor):
                    return offset + len(line)  # the `}` the document still lacks
                return max(0, offset - 1)  # dedent: the block the cursor is in has ended
        blank_run = blank_run + 1 if not stripped else 0
        if blank_run >= 2:
            return max(0, offset - 1)
        offset += len(line) + 1
    return None


_CLOSING_LINE = re.compile(r"[}\])]+[;,]?")


def _closes_its_own_block(before: str, stripped: str, style: TextStyle) -> bool:
    """A `}` line that closes a block the completion itself opened, not the one below the cursor."""
    return bool(style.block_closer) and stripped.startswith(style.block_closer) and bracket_depth(before, style.quotes) > 0


def _closes_unclosed_block(line: str, cursor: CursorLine) -> bool:
    """A dedented line of closers (`}`, `});`) that the document does not have yet: the line below the
    cursor is not the same closer at the same depth."""
    closer = cursor.style.block_closer
    stripped = line.strip()
    if not closer or not stripped.startswith(closer) or not _CLOSING_LINE.fullmatch(stripped):
        return False
    below = cursor.next_line
    return not (below.strip().startswith(closer) and _indent_width(below) == _indent_width(line))


def _trim_line_overlap(completion: str, after: str, quotes: str = "\"'") -> str:
    """Drop the end of a one-line completion that the text after the cursor already has."""
    rest = after.strip()
    if not rest:
        return completion
    body = completion.rstrip()
    if body.endswith(rest):
        candidate = body[: len(body) - len(rest)]
        # "f(a)" before ")" is right (it closes its own bracket); "x)" before ")" is a duplicate.
        if not any(char in _CLOSERS for char in rest) or bracket_depth(candidate, quotes) <= 0:
            return candidate.rstrip()
    # Closers that the suffix already supplies, e.g. completion "x)" before "):".
    while body and body[-1] in _CLOSERS and bracket_depth(body, quotes) < 0 and rest.startswith(body[-1]):
        body = body[:-1]
        rest = rest[1:] if rest else rest
    return body


def _trim_repeated_suffix_lines(completion: str, next_line: str, style: TextStyle = INDENTED) -> str:
    if not next_line.strip():
        return completion
    lines = completion.split("\n")
    for index, line in enumerate(lines):
        if index > 0 and line.strip() == next_line.strip():
            if _closes_its_own_block("\n".join(lines[:index]), line.strip(), style):
                continue
            return "\n".join(lines[:index]).rstrip()
    return completion


def _cut_unclosed_tail(completion: str, style: TextStyle) -> str:
    """A multi-line completion in a brace language that ends inside a block it opened (the token limit
    came first) is cut back to its last line where its brackets balance, when there is one."""
    if not style.block_closer or bracket_depth(completion, style.quotes) <= 0:
        return completion
    lines = completion.split("\n")
    for end in range(len(lines) - 1, 0, -1):
        head = "\n".join(lines[:end])
        if bracket_depth(head, style.quotes) <= 0 and head.strip():
            return head.rstrip()
    return completion


def _leading(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def match_indentation(completion: str, cursor: CursorLine) -> str:
    """Re-indent a multi-line completion to the file: its indentation characters, and the depth the
    line above asks for (a block opener wants one level more, nothing wants deeper than that)."""
    unit = cursor.indent_unit
    other = "    " if unit == "\t" else "\t"
    lines = completion.split("\n")
    for index, line in enumerate(lines):
        lead = _leading(line)
        if other in lead:  # tabs in a space-indented file, or the other way round
            lines[index] = lead.replace(other, unit) + line[len(lead) :]
    if cursor.before.strip() or not lines[0].strip():
        return "\n".join(lines)
    previous = cursor.previous_line
    opens_block = previous.rstrip().endswith(cursor.style.block_openers)
    expected = _leading(previous) + (unit if opens_block else "")
    closes = bool(cursor.style.block_closer) and lines[0].strip().startswith(cursor.style.block_closer)
    if closes and not opens_block:
        expected = expected[: max(0, len(expected) - len(unit))]  # a `}` line sits one level out
    typed = cursor.before
    first_lead = _leading(lines[0])
    total = typed + first_lead
    if len(total) == len(expected) or (not opens_block and not closes and len(total) < len(expected)):
        return "\n".join(lines)  # where the line above allows it (a dedent may end a block)
    if len(typed) > len(expected) and not first_lead:
        return "\n".join(lines)  # the user chose this depth; the model followed
    # Shift the first line, and the lines the model put at or below its depth, by the same amount:
    # the completion's own structure is kept (later lines are absolute, the first is after the cursor).
    shift = len(expected) - len(total)
    shifted = []
    for index, line in enumerate(lines):
        lead = _leading(line)
        if index and (len(lead) < len(total) or not line.strip()):
            shifted.append(line)
        elif shift > 0:
            shifted.append((unit * max(1, shift // len(unit)) if unit == "\t" else " " * shift) + line)
        else:
            shifted.append(line[min(-shift, len(lead)) :])
    return "\n".join(shifted)


def finalize(generated: str, cursor: CursorLine, multiline: bool) -> str:
    """The text to insert: cut at the stop point, never repeating what follows the cursor."""
    cut = stop_index(generated + "\n", cursor, multiline)
    text = generated if cut is None else generated[:cut]
    if not multiline:
        text = _trim_line_overlap(text.rstrip("\r"), cursor.after, cursor.style.quotes)
    else:
        text = match_indentation(text, cursor)
        text = _trim_repeated_suffix_lines(text, cursor.next_line, cursor.style)
        text = _cut_unclosed_tail(text, cursor.style)
        text = "\n".join(line.rstrip() for line in text.split("\n")).rstrip("\n")
        if cursor.after.strip() and "\n" in text:
            text = _trim_line_overlap(text.split("\n", 1)[0], cursor.after, cursor.style.quotes)
    if not text.strip() or _RUNAWAY.search(text):
        return ""
    if cursor.previous_line and (cursor.before + text.split("\n", 1)[0]).strip() == cursor.previous_line.strip():
        return ""  # the model is repeating the line above
    return text

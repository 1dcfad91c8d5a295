"""Open documents and LSP positions, exactly as the LSP 3.17 spec defines them.

Hand-written on purpose: pygls' document model splits lines with ``str.splitlines``, which also breaks
on form feeds, U+2028 and other characters that LSP does not treat as line ends, so positions after
such a character drift. Here lines end only at ``\\n``, ``\\r\\n`` or ``\\r``, and columns are counted
in the negotiated position encoding (UTF-16 by default).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlparse

Encoding = Literal["utf-8", "utf-16", "utf-32"]
_LINE_END = re.compile(r"\r\n|\r|\n")


def uri_to_path(uri: str) -> Path | None:
    """The file system path of a file:// URI (None for other schemes, e.g. unsaved buffers)."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    return Path(unquote(parsed.path))


def _units(char: str, encoding: Encoding) -> int:
    code = ord(char)
    if encoding == "utf-16":
        return 2 if code > 0xFFFF else 1
    if encoding == "utf-8":
        return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
    return 1


def line_starts(text: str) -> list[int]:
    """Offsets (in code points) where each line starts; always at least one line."""
    return [0, *(match.end() for match in _LINE_END.finditer(text))]


def _line_content_end(text: str, starts: list[int], line: int) -> int:
    """Offset just before the line's terminator."""
    if line + 1 < len(starts):
        end = starts[line + 1]
        if text[end - 2 : end] == "\r\n":
            return end - 2
        return end - 1
    return len(text)


def column_to_offset(line_text: str, column: int, encoding: Encoding) -> int | None:
    """Code-point index in ``line_text`` for a column in ``encoding`` units; None if past the end."""
    if encoding == "utf-32" or line_text.isascii():
        return column if column <= len(line_text) else None
    units = 0
    for index, char in enumerate(line_text):
        if units >= column:
            return index
        units += _units(char, encoding)
    return len(line_text) if units >= column else None


def offset_to_column(line_text: str, offset: int, encoding: Encoding) -> int:
    prefix = line_text[:offset]
    if encoding == "utf-32" or prefix.isascii():
        return len(prefix)
    return sum(_units(char, encoding) for char in prefix)


@dataclass(frozen=True)
class Position:
    line: int
    character: int


class Unfit(enum.StrEnum):
    """Why a text gets no model work."""

    TOO_LARGE = "too large"
    BINARY = "binary"  # it contains NUL bytes


def unfit_for_model(text: str, max_chars: int) -> Unfit | None:
    """The one rule for texts the model features leave alone (completions, code actions, the workspace
    index, each with its own limit): longer than ``max_chars`` code points, or binary. None: fit."""
    if len(text) > max_chars:
        return Unfit.TOO_LARGE
    if "\x00" in text:
        return Unfit.BINARY
    return None


@dataclass
class Document:
    uri: str
    language_id: str
    version: int
    text: str
    _starts: list[int] | None = field(default=None, repr=False)

    @property
    def starts(self) -> list[int]:
        if self._starts is None:
            self._starts = line_starts(self.text)
        return self._starts

    @property
    def line_count(self) -> int:
        return len(self.starts)

    def line_text(self, line: int) -> str:
        starts = self.starts
        return self.text[starts[line] : _line_content_end(self.text, starts, line)]

    def offset_at(self, position: Position, encoding: Encoding, *, clamp: bool = False) -> int | None:
        """Code-point offset of ``position``; None when it lies past the end (unless ``clamp``)."""
        starts = self.starts
        if position.line < 0 or position.character < 0:
            return 0 if clamp else None
        if position.line >= len(starts):
            return len(self.text) if clamp else None
        line_text = self.line_text(position.line)
        column = column_to_offset(line_text, position.character, encoding)
        if column is None:
            if not clamp:
                return None
            column = len(line_text)  # the spec: a character past the line end means the line end
        return starts[position.line] + column

    def position_at(self, offset: int, encoding: Encoding) -> Position:
        starts = self.starts
        offset = max(0, min(offset, len(self.text)))
        # Binary search for the line holding the offset.
        low, high = 0, len(starts) - 1
        while low < high:
            middle = (low + high + 1) // 2
            if starts[middle] <= offset:
                low = middle
            else:
                high = middle - 1
        line_text = self.text[starts[low] : offset]
        return Position(low, offset_to_column(line_text, len(line_text), encoding))

    def apply_change(self, start: Position, end: Position, new_text: str, encoding: Encoding) -> None:
        begin = self.offset_at(start, encoding, clamp=True)
        finish = self.offset_at(end, encoding, clamp=True)
        assert begin is not None and finish is not None
        if finish < begin:
            begin, finish = finish, begin
        self.text = self.text[:begin] + new_text + self.text[finish:]
        self._starts = None

    def replace_all(self, new_text: str) -> None:
        self.text = new_text
        self._starts = None


class DocumentStore:
    """The documents the client has opened, keyed by URI."""

    def __init__(self) -> None:
        self._documents: dict[str, Document] = {}

    def open(self, uri: str, language_id: str, version: int, text: str) -> Document:
        document = Document(uri, language_id, version, text)
        self._documents[uri] = document
        return document

    def close(self, uri: str) -> None:
        self._documents.pop(uri, None)

    def get(self, uri: str) -> Document | None:
        return self._documents.get(uri)

    def __contains__(self, uri: str) -> bool:
        return uri in self._documents

    def __len__(self) -> int:
        return len(self._documents)

"""Translation between lsprotocol types and Fireside's domain types. No logic beyond that."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from lsprotocol import types

from fireside.completion.types import Completion, CompletionRequest
from fireside.config import FiresideConfig
from fireside.documents import Document, Encoding, Position, uri_to_path

_WORD_BEFORE = re.compile(r"[A-Za-z_0-9]*$")


def encoding_of(kind: types.PositionEncodingKind | str | None) -> Encoding:
    value = getattr(kind, "value", kind) or "utf-16"
    return value if value in ("utf-8", "utf-16", "utf-32") else "utf-16"  # type: ignore[return-value]


def to_position(position: types.Position) -> Position:
    return Position(position.line, position.character)


def apply_changes(
    document: Document, changes: Sequence[types.TextDocumentContentChangeEvent], encoding: Encoding
) -> int | None:
    """Apply a didChange's content changes to ``document``; the offset after the last incremental edit
    (where the user is typing), or None when the last change replaced the whole text."""
    cursor: int | None = None
    for change in changes:
        if isinstance(change, types.TextDocumentContentChangePartial):
            start = to_position(change.range.start)
            document.apply_change(start, to_position(change.range.end), change.text, encoding)
            begin = document.offset_at(start, encoding, clamp=True)
            cursor = None if begin is None else begin + len(change.text)
        else:
            document.replace_all(change.text)
            cursor = None
    return cursor


def path_hint(uri: str, root: Path | None) -> str:
    path = uri_to_path(uri)
    if path is None:
        return ""
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return path.name


def completion_request(
    document: Document, offset: int, config: FiresideConfig, root: Path | None
) -> CompletionRequest:
    return CompletionRequest(
        uri=document.uri,
        language_id=document.language_id,
        text=document.text,
        offset=offset,
        version=document.version,
        max_tokens=config.max_tokens,
        path_hint=path_hint(document.uri, root),
    )


def inline_completion_list(completion: Completion | None, position: types.Position) -> types.InlineCompletionList:
    if completion is None or not completion.text:
        return types.InlineCompletionList(items=[])
    return types.InlineCompletionList(
        items=[
            types.InlineCompletionItem(
                insert_text=completion.text,
                range=types.Range(start=position, end=position),
            )
        ]
    )


def completion_list(
    completion: Completion | None, document: Document, offset: int, position: types.Position, encoding: Encoding
) -> types.CompletionList:
    """The model's completion as one item whose edit starts at the word being typed.

    Clients filter items by the word before the cursor, so the edit replaces that word with the word
    plus the completion; ``isIncomplete`` makes the client ask again as the user keeps typing.
    """
    if completion is None or not completion.text:
        return types.CompletionList(is_incomplete=True, items=[])
    word = _WORD_BEFORE.search(document.text[:offset]).group(0)  # type: ignore[union-attr]
    start = document.position_at(offset - len(word), encoding)
    new_text = word + completion.text
    first_line = new_text.split("\n", 1)[0].strip() or new_text.strip()
    label = first_line if len(first_line) <= 60 else first_line[:57] + "..."
    item = types.CompletionItem(
        label=label,
        kind=types.CompletionItemKind.Text,
        detail="Fireside (local model)",
        documentation=types.MarkupContent(kind=types.MarkupKind.Markdown, value=f"```\n{new_text}\n```"),
        filter_text=new_text,
        sort_text="0",
        insert_text_format=types.InsertTextFormat.PlainText,
        text_edit=types.TextEdit(
            range=types.Range(start=types.Position(start.line, start.character), end=position),
            new_text=new_text,
        ),
    )
    return types.CompletionList(is_incomplete=True, items=[item])

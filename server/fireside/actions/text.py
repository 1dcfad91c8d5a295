"""Cleaning what the model wrote into one safe line of prose, and the retry note for prompts."""

from __future__ import annotations

import re

MAX_LINE_CHARS = 100


def one_line(answer: str, *, limit: int = MAX_LINE_CHARS) -> str:
    """The first non-empty line of ``answer``, without quotes that could end a docstring or backslashes."""
    for line in answer.splitlines():
        line = line.replace('"""', "").replace("'''", "").replace("\\", "").strip().strip("#").strip()
        line = re.sub(r"\s+", " ", line)
        if line:
            if len(line) > limit:
                line = line[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "..."
            return line
    return ""


def sentence(text: str) -> str:
    """Capitalised, ending with a full stop."""
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def retry_note(error: str | None) -> str:
    """A comment that tells the model what went wrong with its previous answer (empty on the first try)."""
    return f"# A previous answer was rejected: {one_line(error, limit=160)}. Answer differently.\n" if error else ""

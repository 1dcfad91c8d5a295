"""Prompt construction: the text around the cursor, cut to a token budget, FIM when the model has it.

The window's start is anchored to a line that only moves in large steps, so successive keystrokes
share the longest possible token prefix and the model re-evaluates only what was typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from fireside.completion.types import CompletionRequest
from fireside.context.syntax import CursorSyntax

# A conservative bound on characters per token for code; used to cut by characters before
# tokenising, so a huge file never reaches the tokenizer whole.
CHARS_PER_TOKEN_BOUND = 6
WINDOW_STEP_LINES = 32


class Tokenizer(Protocol):
    def tokenize(self, text: str) -> list[int]:
        """Tokens of ``text`` without any BOS token."""
        ...

    @property
    def start_tokens(self) -> list[int]:
        """What every prompt starts with (the BOS token when the model wants one)."""
        ...


@dataclass(frozen=True)
class FimTokens:
    prefix: int
    suffix: int
    middle: int


@dataclass(frozen=True)
class Prompt:
    tokens: list[int]
    prefix_text: str  # the text the model sees before the cursor (for logs and tests)
    suffix_text: str  # the text after the cursor given to a FIM model ("" otherwise)


def _window_start(prefix: str, char_budget: int) -> int:
    """Start offset of the prefix window: a line start, moved in steps of WINDOW_STEP_LINES lines."""
    if len(prefix) <= char_budget:
        return 0
    line_starts = [0]
    position = prefix.find("\n")
    while position != -1:
        line_starts.append(position + 1)
        position = prefix.find("\n", position + 1)
    earliest = len(prefix) - char_budget
    # The first line start at or after `earliest`, rounded up to the next step so the anchor is
    # stable while the cursor moves within a block of lines.
    for index, start in enumerate(line_starts):
        if start >= earliest:
            anchored = -(-index // WINDOW_STEP_LINES) * WINDOW_STEP_LINES
            return line_starts[min(anchored, len(line_starts) - 1)]
    return line_starts[-1]


def _header(request: CompletionRequest, syntax: CursorSyntax | None, window_start: int, comment: str) -> str:
    lines = []
    if request.path_hint:
        lines.append(f"{comment} Path: {request.path_hint}")
    if syntax is not None:
        # Enclosing scopes that start above the window: their signatures say where the cursor is.
        lines.extend(scope.header for scope in syntax.scopes if scope.start_offset < window_start)
    return "".join(line + "\n" for line in lines)


def build_prompt(
    request: CompletionRequest,
    tokenizer: Tokenizer,
    *,
    budget_tokens: int,
    fim: FimTokens | None,
    syntax: CursorSyntax | None = None,
    comment: str = "#",
) -> Prompt:
    suffix_budget = budget_tokens // 4 if fim else 0
    prefix_budget = budget_tokens - suffix_budget
    prefix = request.prefix
    start = _window_start(prefix, prefix_budget * CHARS_PER_TOKEN_BOUND // 2)
    prefix_text = _header(request, syntax, start, comment) + prefix[start:]
    prefix_tokens = tokenizer.tokenize(prefix_text)
    if len(prefix_tokens) > prefix_budget:
        # Rare (dense text): cut whole lines from the front until it fits.
        cut = start
        while len(prefix_tokens) > prefix_budget and cut < len(prefix):
            next_line = prefix.find("\n", cut + 1)
            cut = len(prefix) if next_line == -1 else next_line + 1
            prefix_text = _header(request, syntax, cut, comment) + prefix[cut:]
            prefix_tokens = tokenizer.tokenize(prefix_text)
        prefix_tokens = prefix_tokens[-prefix_budget:]
    start_tokens = list(tokenizer.start_tokens)
    if fim is None:
        return Prompt(start_tokens + prefix_tokens, prefix_text, "")
    suffix = request.suffix[: suffix_budget * CHARS_PER_TOKEN_BOUND // 2]
    if len(suffix) < len(request.suffix) and "\n" in suffix:
        suffix = suffix[: suffix.rfind("\n") + 1]
    suffix_tokens = tokenizer.tokenize(suffix)[:suffix_budget]
    tokens = [*start_tokens, fim.prefix, *prefix_tokens, fim.suffix, *suffix_tokens, fim.middle]
    return Prompt(tokens, prefix_text, suffix)

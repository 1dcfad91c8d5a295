"""Prompt construction: the text around the cursor, cut to a token budget, in the layout the model
was trained for. The layout follows the model's vocabulary, never its name:

- fill-in-the-middle with repository tokens (Qwen2.5-Coder's ``<|repo_name|>`` and ``<|file_sep|>``):
  other files' definitions as files of the repository, then the current file in FIM order::

      <|repo_name|>name\\n<|file_sep|>pkg/other.py\\nstubs\\n<|file_sep|>pkg/current.py\\n
      <|fim_prefix|>imports, scopes, window<|fim_suffix|>suffix<|fim_middle|>

- fill-in-the-middle without them: ``<fim_prefix>`` comment header + window ``<fim_suffix>`` suffix
  ``<fim_middle>``;
- no FIM: the comment header and the window before the cursor.

The stable parts come first (other files' definitions change only when the names above the cursor's
line do), and the window's start is anchored to a line that only moves in large steps, so successive
keystrokes share the longest possible token prefix and the model re-evaluates only what was typed.

A FIM prompt puts the cursor's line up to the cursor (and the few lines above it since the last
multiple of ``MIDDLE_STEP_LINES``) after ``<fim_middle>``, as text the model has already written:
``<fim_prefix> lines above <fim_suffix> text after the cursor <fim_middle> lines so far``. Typing,
Enter included, then appends to the very end of the prompt, so the prefix and the suffix stay in
the KV cache exactly and a keystroke evaluates only the tokens it changed. (In the usual order the
suffix follows the typed text: every keystroke would evaluate the whole suffix again, ~250 tokens,
and keeping the suffix's old cells instead makes the model repeat its previous answer; measured
in eval/kv_reuse_eval.py, with the same or better quality for this layout.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Protocol

from fireside.completion.types import CompletionRequest
from fireside.context.definitions import Definition
from fireside.context.syntax import CursorSyntax

# A conservative bound on characters per token for code; used to cut by characters before
# tokenising, so a huge file never reaches the tokenizer whole.
CHARS_PER_TOKEN_BOUND = 6
# The window's start moves in steps of this many lines: a smaller step wastes less of the budget (on
# average half a step of lines is left out), a larger one re-evaluates the whole prompt less often
# while the user writes new lines (once per step).
WINDOW_STEP_LINES = 16
# The FIM middle starts at the last line whose number is a multiple of this: a new line (Enter) also
# appends to the prompt, and the suffix is evaluated again only when the cursor crosses such a line
# (measured with 1 and 8: no worse, eval/kv_reuse_eval.py). FIM_LINE_IN_MIDDLE False: the usual
# order, everything before the cursor in the prefix (for that comparison).
MIDDLE_STEP_LINES = 8
FIM_LINE_IN_MIDDLE = True
DEFINITIONS_SHARE = 4  # at most 1/4 of the prefix budget goes to other files' definitions
SUFFIX_SHARE = 4  # a FIM prompt gives 1/4 of its budget to the text after the cursor
# The features that shape the prompt (``syntax-check`` acts on the completion instead).
PROMPT_FEATURES = frozenset({"definitions", "imports", "scopes", "repo-format"})
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class PromptContext:
    """What the prompt may draw on beyond the text around the cursor."""

    features: frozenset[str] = PROMPT_FEATURES
    imports: Sequence[tuple[int, str]] = ()  # (code-point offset, text) of the file's imports
    definitions_for: Callable[[list[str]], list[Definition]] = field(default=lambda names: [])
    workspace_root: str = ""


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
    """The model's fill-in-the-middle tokens, and its repository tokens when it has them."""

    prefix: int
    suffix: int
    middle: int
    repo_name: int | None = None  # starts the repository's name (Qwen2.5-Coder: <|repo_name|>)
    file_sep: int | None = None  # starts each file: its path, a newline, its text (<|file_sep|>)

    @property
    def repository(self) -> bool:
        return self.repo_name is not None and self.file_sep is not None


@dataclass(frozen=True)
class Prompt:
    tokens: list[int]
    prefix_text: str  # the current file's text the model sees before the cursor (for logs and tests)
    suffix_text: str  # the text after the cursor given to a FIM model ("" otherwise)
    context_text: str = ""  # other files, in the repository layout (special tokens left out)


def _window_start(prefix: str, char_budget: int) -> int:
    """Start offset of the prefix window: a line start whose index is a multiple of
    WINDOW_STEP_LINES, so it stays put while the cursor moves within a block of lines."""
    if len(prefix) <= char_budget:
        return 0
    return _anchor_at_or_after(prefix, len(prefix) - char_budget)


def _anchor_at_or_after(prefix: str, earliest: int) -> int:
    """The first line start at or after ``earliest`` whose line index is a multiple of
    WINDOW_STEP_LINES; the cursor's own line when there is none. ``str.count`` and ``str.find`` do
    the walking (a Python loop over every line of a 1,500-line prefix cost ~7 ms per keystroke)."""
    last = prefix.rfind("\n") + 1  # the cursor's own line
    if earliest <= 0:
        return 0
    if earliest > last:
        return last
    index = prefix.count("\n", 0, earliest - 1) + 1  # the first line starting at or after ``earliest``
    position = prefix.find("\n", earliest - 1) + 1  # ... starts here
    for _ in range(-(-index // WINDOW_STEP_LINES) * WINDOW_STEP_LINES - index):
        newline = prefix.find("\n", position)
        if newline == -1:
            return last
        position = newline + 1
    return position


def names_near_cursor(text: str, window_start: int, offset: int) -> list[str]:
    """Identifiers in the window above the cursor's line, nearest first.

    The cursor's own line is left out on purpose: it changes with every keystroke, and the
    definitions chosen from these names sit early in the prompt, where a change costs a re-evaluation.
    """
    line_start = text.rfind("\n", window_start, offset) + 1 if offset > window_start else window_start
    names = _IDENTIFIER.findall(text, window_start, max(window_start, line_start))
    seen: dict[str, None] = {}
    for name in reversed(names):
        seen.setdefault(name, None)
    return list(seen)


def _relative(path: str, root: str) -> str:
    if root and path.startswith(root.rstrip("/") + "/"):
        return path[len(root.rstrip("/")) + 1 :]
    return PurePosixPath(path).name


def _choose_definitions(definitions: list[Definition], tokenizer: Tokenizer, budget: int) -> list[Definition]:
    """The definitions that fit ``budget`` (nearest names first), in a stable order (by file, then
    position) so that the same set always reads the same."""
    chosen: list[Definition] = []
    used = 0
    for definition in definitions:
        cost = len(tokenizer.tokenize(definition.stub)) + 2
        if used + cost > budget:
            continue
        chosen.append(definition)
        used += cost
    return sorted(chosen, key=lambda d: (d.path, d.line))


def _by_file(definitions: list[Definition], root: str) -> list[tuple[str, str]]:
    """(workspace-relative path, the file's stubs) in order."""
    files: dict[str, list[str]] = {}
    for definition in definitions:
        files.setdefault(_relative(definition.path, root), []).append(definition.stub)
    return [(path, "\n\n".join(stubs)) for path, stubs in files.items()]


def _definitions_as_comments(definitions: list[Definition], comment: str, root: str) -> str:
    return "".join(f"{comment} Path: {path}\n{stubs}\n\n" for path, stubs in _by_file(definitions, root))


def _repository_lead(
    definitions: list[Definition], tokenizer: Tokenizer, fim: FimTokens, context: PromptContext, path: str
) -> tuple[list[int], str]:
    """``<|repo_name|>name`` and one ``<|file_sep|>`` file per other file, then the current file's
    ``<|file_sep|>path``: the tokens, and the same as text without the special tokens."""
    assert fim.repo_name is not None and fim.file_sep is not None
    name = PurePosixPath(context.workspace_root.rstrip("/")).name or PurePosixPath(path).parent.name
    tokens = [fim.repo_name, *tokenizer.tokenize(f"{name}\n")]
    texts = [f"{name}\n"]
    for file_path, stubs in _by_file(definitions, context.workspace_root):
        text = f"{file_path}\n{stubs}\n"
        tokens += [fim.file_sep, *tokenizer.tokenize(text)]
        texts.append(text)
    current = f"{path or 'untitled'}\n"
    tokens += [fim.file_sep, *tokenizer.tokenize(current)]
    texts.append(current)
    return tokens, "".join(texts)


def _header_lines(
    request: CompletionRequest,
    syntax: CursorSyntax | None,
    window_start: int,
    comment: str,
    context: PromptContext,
    *,
    path_comment: bool,
) -> str:
    lines = []
    if path_comment and request.path_hint:
        lines.append(f"{comment} Path: {request.path_hint}")
    if "imports" in context.features:
        # The file's imports, when the window no longer shows them: they say what names mean.
        lines.extend(text for start, text in context.imports if start < window_start)
    if syntax is not None and "scopes" in context.features:
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
    context: PromptContext | None = None,
) -> Prompt:
    context = context or PromptContext(features=frozenset({"imports", "scopes"}))
    repository = fim is not None and fim.repository and "repo-format" in context.features
    suffix_budget = budget_tokens // SUFFIX_SHARE if fim else 0
    prefix_budget = budget_tokens - suffix_budget
    prefix = request.prefix
    definitions_budget = prefix_budget // DEFINITIONS_SHARE if "definitions" in context.features else 0
    # Start generous (a bound on characters per token), then let the loop below move the window
    # down in anchored steps until the real token count fits.
    start = _window_start(prefix, (prefix_budget - definitions_budget) * CHARS_PER_TOKEN_BOUND)
    chosen: list[Definition] = []
    if definitions_budget:
        definitions = context.definitions_for(names_near_cursor(request.text, start, request.offset))
        chosen = _choose_definitions(definitions, tokenizer, definitions_budget) if definitions else []
    lead_tokens: list[int] = []
    context_text = lead_text = ""
    if repository:
        assert fim is not None
        lead_tokens, context_text = _repository_lead(chosen, tokenizer, fim, context, request.path_hint)
    else:
        lead_text = _definitions_as_comments(chosen, comment, context.workspace_root)

    line_in_middle = fim is not None and FIM_LINE_IN_MIDDLE
    cursor_line = request.prefix.count("\n") if line_in_middle else 0

    def window(start: int) -> tuple[str, list[int], list[int]]:
        """The current file's text before the cursor from ``start``, and the tokens of the parts
        before and after where its FIM middle starts (separately: the part before is the same text,
        tokenized already, at the next keystroke)."""
        header = _header_lines(request, syntax, start, comment, context, path_comment=not repository)
        text = lead_text + header + prefix[start:]
        if not line_in_middle:
            return text, tokenizer.tokenize(text), []
        cut = _middle_start(text, len(text) - (len(prefix) - start), cursor_line)
        return text, tokenizer.tokenize(text[:cut]), tokenizer.tokenize(text[cut:])

    body_budget = max(1, prefix_budget - len(lead_tokens))
    prefix_text, above_tokens, middle_tokens = window(start)
    while len(above_tokens) + len(middle_tokens) > body_budget and start < len(prefix):
        # Denser text than expected: move the window down by whole anchored steps (never one line
        # at a time, which would shift the prompt, and re-evaluate it, at every keystroke).
        moved = _anchor_at_or_after(prefix, start + 1)
        if moved <= start:
            break
        start = moved
        prefix_text, above_tokens, middle_tokens = window(start)
    # Cut only what does not fit (the window already fits, but for a line longer than the budget).
    middle_tokens = middle_tokens[-body_budget:]
    above_tokens = above_tokens[max(0, len(above_tokens) + len(middle_tokens) - body_budget) :]
    prefix_tokens = above_tokens + middle_tokens
    start_tokens = list(tokenizer.start_tokens)
    if fim is None:
        return Prompt(start_tokens + prefix_tokens, prefix_text, "")
    suffix = request.suffix[: suffix_budget * CHARS_PER_TOKEN_BOUND // 2]
    if len(suffix) < len(request.suffix) and "\n" in suffix:
        suffix = suffix[: suffix.rfind("\n") + 1]
    suffix_tokens = tokenizer.tokenize(suffix)[:suffix_budget]
    tokens = [
        *start_tokens, *lead_tokens, fim.prefix, *above_tokens, fim.suffix, *suffix_tokens, fim.middle, *middle_tokens
    ]
    return Prompt(tokens, prefix_text, suffix, context_text)


def _middle_start(prefix_text: str, window_at: int, cursor_line: int) -> int:
    """Where the FIM middle starts in ``prefix_text``: the start of the cursor's line, or of the
    line ``cursor_line % MIDDLE_STEP_LINES`` lines above it, never inside the header (which ends at
    ``window_at``)."""
    start = len(prefix_text)
    for _ in range(cursor_line % MIDDLE_STEP_LINES + 1):
        start = prefix_text.rfind("\n", 0, start)
        if start < window_at:
            return window_at
    return start + 1

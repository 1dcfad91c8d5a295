"""The check every proposed edit passes before it is offered.

1. The edit lies inside the region its action claims (a docstring stays in its function, an import in the
   import block), and nothing outside that region changes.
2. The resulting file parses with tree-sitter without ERROR/MISSING nodes that were not there before (a
   syntax fix must remove some).
3. For type hints and bodies, the module still compiles (``compile()`` catches what tree-sitter's forgiving
   grammar lets through: ``return`` outside a function, bad ``nonlocal``, duplicate arguments).

:func:`checked_edit` asks an action for an edit, checks it, and on failure asks once more with the error;
then the edit is dropped with the reason, never offered broken.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from fireside.context.languages import LANGUAGES
from fireside.context.syntax import parse


class EditRejected(Exception):
    """A proposed edit failed the check; the message says why (it goes into the retry prompt and to the user)."""


@dataclass(frozen=True)
class Edit:
    """Replace ``text[start:end]`` (code-point offsets) with ``new_text``."""

    start: int
    end: int
    new_text: str

    def apply(self, text: str) -> str:
        return text[: self.start] + self.new_text + text[self.end :]


@dataclass(frozen=True)
class Check:
    claimed: tuple[int, int]  # code-point offsets of the region the action may change
    compiles: bool = False  # the module must still compile (type hints, bodies)
    fixes_syntax: bool = False  # the file must have fewer syntax errors afterwards (syntax quick fixes)


@dataclass(frozen=True)
class Outcome:
    edit: Edit | None  # the minimal checked edit; None when dropped
    attempts: int  # 1: passed first time, 2: passed after regeneration (or dropped)
    reason: str = ""  # why it was dropped (empty when it passed)


def minimal_edit(old: str, new: str) -> Edit:
    """The smallest single replacement that turns ``old`` into ``new``."""
    prefix = 0
    limit = min(len(old), len(new))
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[len(old) - 1 - suffix] == new[len(new) - 1 - suffix]:
        suffix += 1
    return Edit(prefix, len(old) - suffix, new[prefix : len(new) - suffix])


def syntax_errors(text: str) -> list[tuple[int, str]]:
    """(0-based line, "error"/"missing X") of every ERROR and MISSING node tree-sitter finds."""
    return list(_syntax_errors(text))


@lru_cache(maxsize=4)  # one resolve checks several candidate edits against the same original text
def _syntax_errors(text: str) -> tuple[tuple[int, str], ...]:
    tree = parse(LANGUAGES["python"], text.encode("utf-8", "surrogatepass"))
    found: list[tuple[int, str]] = []
    if not tree.root_node.has_error:
        return ()
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_missing:
            found.append((node.start_point[0], f"missing {node.type}"))
        elif node.is_error:
            found.append((node.start_point[0], "syntax error"))
        if node.has_error:
            stack.extend(node.children)
    return tuple(sorted(found))


@lru_cache(maxsize=4)  # the same texts are compiled by the action (body trimming, quick fix) and by validate
def compile_error(text: str) -> str | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings (invalid escapes) are not failures
            compile(text, "<edit>", "exec", dont_inherit=True)
    except SyntaxError as error:
        return f"line {error.lineno}: {error.msg}"
    except (ValueError, RecursionError, MemoryError) as error:
        return f"{type(error).__name__}: {error}"
    return None


def validate(text: str, edit: Edit, check: Check) -> Edit:
    """The minimal form of ``edit`` if it passes the check; raises :class:`EditRejected` otherwise."""
    if not (0 <= edit.start <= edit.end <= len(text)):
        raise EditRejected(f"the edit's range {edit.start}-{edit.end} is outside the file")
    new_text = edit.apply(text)
    minimal = minimal_edit(text, new_text)
    if minimal.start == minimal.end and not minimal.new_text:
        raise EditRejected("the edit changes nothing")
    low, high = check.claimed
    if minimal.start < low or minimal.end > high:
        raise EditRejected(
            f"the edit changes text outside the region it claims (offsets {minimal.start}-{minimal.end}, "
            f"claimed {low}-{high})"
        )
    # Defence in depth: the text around the change must be byte-identical.
    tail = len(text) - minimal.end
    if new_text[: minimal.start] != text[: minimal.start] or new_text[len(new_text) - tail :] != text[minimal.end :]:
        raise EditRejected("the edit changes text outside its range")
    before = syntax_errors(text)
    after = syntax_errors(new_text)
    if check.fixes_syntax:
        if len(after) >= len(before) and (after or compile_error(new_text) is not None):
            line = after[0][0] + 1 if after else 0
            raise EditRejected(f"the file still has a syntax error (line {line})" if line else "the file still does not compile")
    elif len(after) > len(before) or (not before and after):
        line, kind = next(((line, kind) for line, kind in after if (line, kind) not in before), after[0])
        raise EditRejected(f"the edit introduces a {kind} at line {line + 1}")
    if check.compiles and compile_error(text) is None:
        error = compile_error(new_text)
        if error is not None:
            raise EditRejected(f"the module no longer compiles: {error}")
    return minimal


def checked_edit(text: str, propose: Callable[[str | None], Edit], check: Check) -> Outcome:
    """Ask ``propose(previous_error)`` for an edit and check it; once more with the error if it fails.

    ``propose`` raises :class:`EditRejected` itself when the model gave nothing usable. Other exceptions
    (cancellation, a failing model) propagate.
    """
    error: str | None = None
    for attempt in (1, 2):
        try:
            return Outcome(validate(text, propose(error), check), attempt)
        except EditRejected as rejected:
            error = str(rejected)
    return Outcome(None, 2, error or "no edit")

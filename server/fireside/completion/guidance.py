"""Identifier-aware greedy decoding (issue 18): while the model writes a name where the name oracle
(``fireside.context.names``) knows the valid ones, the chosen token is the most likely one that
keeps the name a prefix of a valid name, or completes one.

The ``GuidedChooser`` is a ``TokenChooser``: the decoding loop asks it for every position, drafts
included (speculative decoding checks drafted tokens against the same rule, so a draft that writes an
invented name is cut where the rule says no). Cost per position: a slot scan of the text's tail (tens
of microseconds); in a slot, the candidates in logit order until one fits (usually the first); only
when none of the best ``TOP_CANDIDATES`` fits, every token that spells a valid continuation is looked
up in the vocabulary's text index (built once per model).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

import numpy

from fireside.completion.decoding import Choice, GreedyChooser
from fireside.context.names import NameSet, NameTable, Slot, find_slot, is_name_char

logger = logging.getLogger(__name__)

TOP_CANDIDATES = 32
NAMES_WAIT_S = 0.5  # the longest a completion waits for its name table; then decoding is free
MAX_ENUMERATED_NAMES = 4000


@dataclass
class NameGuide:
    """What one request's guided decoding needs: the text before the cursor (its tail; the slot
    scan reads it with what the model wrote) and the name table, maybe still being computed.
    ``wait_s``: how long to wait for the table the first time a slot needs it (None: as long as it
    takes, for tests and the evaluation)."""

    lead: str
    table: Future[NameTable] | NameTable
    wait_s: float | None = NAMES_WAIT_S
    waited_ms: float = 0.0
    _resolved: NameTable | None = field(default=None, repr=False)

    def resolve(self) -> NameTable:
        if self._resolved is None:
            if isinstance(self.table, NameTable):
                self._resolved = self.table
            else:
                started = time.perf_counter()
                try:
                    self._resolved = self.table.result(timeout=self.wait_s)
                except CancelledError:  # a newer request's table replaced it: this one was superseded
                    self._resolved = NameTable()
                except FutureTimeout:
                    logger.info("name table not ready after %.0f ms: this completion is not guided", (self.wait_s or 0) * 1000)
                    self._resolved = NameTable()
                except Exception:
                    logger.exception("name table failed")
                    self._resolved = NameTable()
                self.waited_ms = (time.perf_counter() - started) * 1000
        return self._resolved

    def names_at(self, text: str) -> tuple[Slot, NameSet] | None:
        """The slot at the end of ``lead + text`` and its valid names, or None (free decoding)."""
        slot = find_slot(self.lead + text)
        if slot is None:
            return None
        names = self.resolve().names_for(slot)
        if names is None or len(names) == 0:
            return None
        return slot, names


class VocabText:
    """Token texts: one token's (cached) and, built on first need, text → token ids for all."""

    def __init__(self, piece: Callable[[int], bytes], vocab_size: int) -> None:
        self._piece = piece
        self._size = vocab_size
        self._texts: dict[int, str | None] = {}
        self._by_text: dict[str, list[int]] | None = None

    def text(self, token: int) -> str | None:
        """The token's text, or None when it is not whole UTF-8 (a byte of a longer character)."""
        if token not in self._texts:
            try:
                self._texts[token] = self._piece(token).decode("utf-8")
            except UnicodeDecodeError:
                self._texts[token] = None
        return self._texts[token]

    def tokens_spelling(self, text: str) -> list[int]:
        """The tokens whose text is ``text`` (names only: ASCII letters, digits, underscores)."""
        return self.build().get(text, [])

    def build(self) -> dict[str, list[int]]:
        """The text index (~0.5 s for 150k tokens once; the server builds it off the model thread)."""
        if self._by_text is None:
            started = time.perf_counter()
            by_text: dict[str, list[int]] = {}
            for token in range(self._size):
                piece = self.text(token)
                if piece and piece.isascii() and all(is_name_char(char) for char in piece):
                    by_text.setdefault(piece, []).append(token)
            self._by_text = by_text
            logger.info("name guidance: vocabulary index built in %.0f ms", (time.perf_counter() - started) * 1000)
        return self._by_text


@dataclass(frozen=True)
class Change:
    """A position where guidance chose another token than the model's best."""

    model: str  # the model's best token's text
    chosen: str


class GuidedChooser:
    """Greedy, except in a name slot the oracle knows: there, the best token that keeps the name
    valid (see ``fits``). ``changes`` lists where that differed from the model's best."""

    def __init__(self, guide: NameGuide, vocab: VocabText, is_end: Callable[[int], bool]) -> None:
        self.guide = guide
        self.vocab = vocab
        self.is_end = is_end
        self.changes: list[Change] = []
        self.guided_positions = 0
        self.seconds = 0.0  # time spent choosing in slots (the cost per guided token; waits excluded)
        self._greedy = GreedyChooser()
        self._broken = False

    def choose(self, logits: numpy.ndarray, generated: Sequence[int], text: str) -> Choice:
        found = None
        if not self._broken:
            try:
                found = self.guide.names_at(text)  # waits for the table the first time a slot needs it
            except Exception:  # never a failed completion: the rest of this one is unguided
                logger.exception("name guidance failed; this completion continues unguided")
                self._broken = True
        if found is None:
            return self._greedy.choose(logits, generated, text)
        started = time.perf_counter()
        slot, names = found
        self.guided_positions += 1
        try:
            return self._choose_in_slot(logits, slot, names, text)
        finally:
            self.seconds += time.perf_counter() - started

    def _choose_in_slot(self, logits: numpy.ndarray, slot: Slot, names: NameSet, text: str) -> Choice:
        # Half a name may not be left: stopping is allowed before a name or after a whole one.
        may_end = not slot.typed or slot.typed in names
        greedy = self._greedy.choose(logits, (), text)
        if self.fits(greedy.token, slot, names, may_end):
            # The model's best fits (the usual case): its lead over every other token is a lower
            # bound of its lead over the other allowed ones, and costs no sort.
            return greedy
        count = min(TOP_CANDIDATES, len(logits))
        top = numpy.argpartition(logits, -count)[-count:]
        top = top[numpy.argsort(logits[top])[::-1]]
        fitting = [int(token) for token in top if self.fits(int(token), slot, names, may_end)][:2]
        floor = float(logits[top[-1]])  # no token outside ``top`` is more likely than this
        if not fitting:
            # None among the best: every token spelling a continuation of a valid name.
            extra: set[int] = set()
            for name in names.with_prefix(slot.typed, MAX_ENUMERATED_NAMES):
                rest = name[len(slot.typed) :]
                for end in range(1, len(rest) + 1):
                    extra.update(self.vocab.tokens_spelling(rest[:end]))
            fitting = sorted(extra, key=lambda token: -logits[token])[:2]
            floor = -numpy.inf
        best_model = int(top[0])
        if not fitting:  # nothing spells a valid name here: leave the choice to the model
            return self._greedy.choose(logits, (), "")
        chosen = fitting[0]
        # The lead over the best other allowed token; when only one of ``top`` fits, a lower bound.
        runner_up = float(logits[fitting[1]]) if len(fitting) > 1 else floor
        margin = float(logits[chosen]) - runner_up
        if chosen != best_model:
            change = Change(self.vocab.text(best_model) or "", self.vocab.text(chosen) or "")
            self.changes.append(change)
            logger.debug("name guidance: %r instead of %r after %r.%s", change.chosen, change.model, slot.key, slot.typed)
        return Choice(chosen, margin)

    def fits(self, token: int, slot: Slot, names: NameSet, may_end: bool = True) -> bool:
        """Whether writing ``token`` in ``slot`` keeps the name valid: the name it extends is still a
        prefix of a valid name, or the token ends it (with a character that cannot be in a name) on
        a valid name; in an argument slot a name followed by ``=`` must be a keyword parameter. The
        end of the completion fits when ``may_end`` (no completion is not a wrong one, but half a
        name is: the user typed ``self.quan`` to get a whole name)."""
        if self.is_end(token):
            return may_end
        piece = self.vocab.text(token)
        if piece is None:
            return False  # part of a non-ASCII character: no name we know has one
        typed = slot.typed
        if slot.after_space and not piece.startswith((" ", "\t")):
            return True  # ``from x import(`` or a line break: no name yet
        if not typed and slot.kind != "member":
            piece = piece.lstrip(" ")  # ``import  x`` / ``f(a, b)``: a space may come first
            if piece[:1].isdigit():
                return True  # a number, not a name
        length = 0
        while length < len(piece) and is_name_char(piece[length]):
            length += 1
        name = typed + piece[:length]
        if length == len(piece):
            return names.has_prefix(name) if piece else (not typed or typed in names)
        if not name:
            # Something other than a name right away: never after ``x.``; elsewhere (``f(1``,
            # ``f("a"``, ``from x import (``) the slot had no name to write.
            return slot.kind != "member"
        rest = piece[length:]
        if slot.kind == "argument" and rest.startswith("=") and not rest.startswith("=="):
            return name in names.keywords
        return name in names

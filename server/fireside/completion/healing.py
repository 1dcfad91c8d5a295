"""Token healing for the whitespace before the cursor.

Code tokenizers attach a space to the word after it (" return", " value"), and runs of indentation
split so that the last space goes with the next word. A prompt that ends in whitespace — the
indentation of an empty line, or the space typed after ``=`` — therefore ends on a token boundary
the model hardly ever saw in training, and it answers worse (it often types another space). So the
prompt leaves that whitespace out, the model types it again, and the completion drops the part the
user had already typed. Where the model chooses other whitespace (a deeper indentation), the part
the two share is dropped and the rest is left for the indentation rules.
"""

from __future__ import annotations

import os
from collections.abc import Callable

_BLANK = " \t"


def trailing_whitespace(prefix: str) -> str:
    """The spaces and tabs at the end of ``prefix`` (never a line break): what the prompt leaves out."""
    return prefix[len(prefix.rstrip(_BLANK)) :]


def after_typed(generated: str, typed: str) -> str | None:
    """``generated`` without the whitespace the user already typed; None while the model is still
    typing that whitespace (all it generated so far is part of it)."""
    if not typed:
        return generated
    if len(generated) < len(typed) and typed.startswith(generated):
        return None
    return generated[len(os.path.commonprefix([generated, typed])) :]


def healed_stop(stop_at: Callable[[str], int | None], typed: str) -> Callable[[str], int | None]:
    """``stop_at`` for the text after the cursor, as a stop rule for what the model generates (which
    starts with the whitespace the user typed)."""
    if not typed:
        return stop_at

    def stop(generated: str) -> int | None:
        rest = after_typed(generated, typed)
        if rest is None:
            return None
        cut = stop_at(rest)
        return None if cut is None else cut + len(generated) - len(rest)

    return stop

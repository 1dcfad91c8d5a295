"""Answers without the model: the same request again, or the user typing what is on screen.

Decoding is greedy, so the same prompt always gives the same completion: an exact hit is as good
as a fresh run. "Typing through" covers the commonest keystroke: the user types the first
characters of the suggestion being shown, and the rest of it is still the answer.

The key is everything that shapes the prompt: the text around the cursor and the document (its path
is in the prompt), plus a ``shape`` the service gives: the settings that build the prompt (context
features, budgets) and the workspace index's generation. A document's entries go when it closes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

from fireside.completion.types import CompletionRequest, StopReason

# Enough text on each side to stand for the prompt (the window is ~1k tokens ≈ 4k characters).
PREFIX_KEY_CHARS = 6000
SUFFIX_KEY_CHARS = 1500


@dataclass(frozen=True)
class _Shown:
    prefix: str
    suffix: str
    shape: Hashable
    text: str


_Key = tuple[str, str, str, str, int, Hashable]


def _key(request: CompletionRequest, shape: Hashable) -> _Key:
    return (
        request.uri, request.language_id, request.prefix[-PREFIX_KEY_CHARS:], request.suffix[:SUFFIX_KEY_CHARS],
        request.max_tokens, shape,
    )


class CompletionCache:
    def __init__(self, capacity: int = 512) -> None:
        self._capacity = capacity
        self._exact: OrderedDict[_Key, str] = OrderedDict()
        self._shown: dict[str, _Shown] = {}  # the last suggestion per document

    def lookup(self, request: CompletionRequest, shape: Hashable = ()) -> tuple[str, StopReason] | None:
        """(completion, EXACT | TYPING_THROUGH), or None."""
        key = _key(request, shape)
        if key in self._exact:
            self._exact.move_to_end(key)
            return self._exact[key], StopReason.EXACT
        shown = self._shown.get(request.uri)
        if shown is None or not shown.text or shown.shape != shape:
            return None
        prefix = request.prefix
        if len(prefix) <= len(shown.prefix) or not prefix.startswith(shown.prefix):
            return None
        typed = prefix[len(shown.prefix) :]
        if request.suffix[:SUFFIX_KEY_CHARS] != shown.suffix[:SUFFIX_KEY_CHARS]:
            return None
        if shown.text.startswith(typed) and len(typed) < len(shown.text):
            return shown.text[len(typed) :], StopReason.TYPING_THROUGH
        return None

    def store(self, request: CompletionRequest, text: str, shape: Hashable = ()) -> None:
        key = _key(request, shape)
        self._exact[key] = text
        self._exact.move_to_end(key)
        while len(self._exact) > self._capacity:
            self._exact.popitem(last=False)
        self._shown[request.uri] = _Shown(request.prefix, request.suffix, shape, text)

    def forget(self, uri: str) -> None:
        """The document closed: its entries go (its next answers could not be shown anyway)."""
        self._shown.pop(uri, None)
        for key in [key for key in self._exact if key[0] == uri]:
            del self._exact[key]

    def __len__(self) -> int:
        return len(self._exact)

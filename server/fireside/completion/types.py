"""Domain types of a completion, independent of LSP."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class StopReason(enum.StrEnum):
    """Why a generation ended (``Generation.stopped_by``, ``Completion.stopped_by``). A ``StrEnum``: logs
    and comparisons read the plain word."""

    EOS = "eos"  # the model ended it
    LIMIT = "limit"  # max tokens, or no room left in the context
    STOP = "stop"  # a stop rule cut it (line end, closed block, stop string)
    CANCELLED = "cancelled"  # superseded, $/cancelRequest, a code action cancelled, shutdown
    UNAVAILABLE = "unavailable"  # no remote engine answered and there is no local fall-back
    EXACT = "exact"  # not generated: the cache had this very request
    TYPING_THROUGH = "typing-through"  # not generated: the user typed the start of the shown suggestion


@dataclass(frozen=True)
class CompletionRequest:
    uri: str
    language_id: str
    text: str
    offset: int  # code points from the start of ``text``
    version: int
    max_tokens: int
    path_hint: str = ""  # a workspace-relative path for the prompt header

    @property
    def prefix(self) -> str:
        return self.text[: self.offset]

    @property
    def suffix(self) -> str:
        return self.text[self.offset :]


@dataclass(frozen=True)
class Completion:
    text: str  # what to insert at the cursor; may be empty
    multiline: bool
    prompt_tokens: int
    reused_tokens: int  # prompt tokens whose KV state was kept from the previous request
    generated_tokens: int
    stopped_by: StopReason
    model_ms: float  # time spent in the model (prompt evaluation + generation)
    # Filled in by the completion service: waiting for the model thread (debounce included) and the
    # whole stay on it; prompt tokens evaluated; draft tokens verified and kept (speculative decoding).
    queue_ms: float = 0.0
    worker_ms: float = 0.0
    evaluated_tokens: int = 0
    drafted_tokens: int = 0
    accepted_tokens: int = 0
    threads: int = 0  # the model's thread count (local engine)
    guided_changes: int = 0  # tokens name guidance chose instead of the model's best (issue 18)

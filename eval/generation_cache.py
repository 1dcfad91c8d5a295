"""Greedy generations kept on disk, so that an evaluation re-run after a change to prompts or
post-processing only pays for the prompts that changed.

Greedy decoding makes a generation a function of its prompt tokens, and every stop rule of the
pipeline is a function of the text generated so far. So one recording per prompt — the text after
each generated token, up to end-of-sequence, ``RECORDED_TOKENS``, or the point where the first
caller's ``stop_at`` cut it — replays exactly what ``LlamaEngine.run`` would return for any
``stop_at`` that stops no later, and any ``max_tokens`` up to that bound; a caller that needs more
records the prompt again, to its end.
The model time of a replay is the recorded time up to the token where it stops (noisy: recorded
whenever the prompt was first seen, under whatever load the machine had then).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from fireside.completion.engine import Engine, Generation

RECORDED_TOKENS = 64  # the server's default `maxTokens`


class CachedEngine:
    """An ``Engine`` that answers from recordings and records what it has not seen."""

    def __init__(self, engine: Engine, cache_file: Path) -> None:
        self._engine = engine
        self.info = engine.info
        self._file = cache_file
        self._records: dict[str, dict] = {}
        self.hits = self.misses = 0
        if cache_file.exists():
            for line in cache_file.read_text().splitlines():
                if line.strip():
                    record = json.loads(line)
                    self._records[record["key"]] = record

    @property
    def start_tokens(self) -> list[int]:
        return self._engine.start_tokens

    @property
    def context_size(self) -> int:
        return int(getattr(self._engine, "context_size", 4096))

    def tokenize(self, text: str) -> list[int]:
        return self._engine.tokenize(text)

    def generate(self, prompt: str, *, max_tokens: int, stop: Sequence[str] = ()) -> str:
        return self._engine.generate(prompt, max_tokens=max_tokens, stop=stop)

    def _record(
        self, prompt_tokens: Sequence[int], key: str, limit: int, stop_at: Callable[[str], int | None] | None
    ) -> tuple[dict, Generation]:
        texts: list[str] = []
        times: list[float] = []
        started = time.perf_counter()

        def watch(text: str) -> int | None:
            texts.append(text)
            times.append(time.perf_counter() - started)
            return stop_at(text) if stop_at is not None else None

        generation = self._engine.run(prompt_tokens, max_tokens=limit, stop_at=watch, cancelled=lambda: False)
        record = {
            "key": key,
            "texts": texts,
            "times": times,
            "ended": generation.stopped_by,  # "eos", "limit", or "stop": a later caller may need more
            "seconds": generation.seconds,
            "prompt_tokens": len(prompt_tokens),
        }
        self._records[key] = record
        with self._file.open("a") as handle:
            handle.write(json.dumps(record) + "\n")
        return record, generation

    def run(
        self,
        prompt_tokens: Sequence[int],
        *,
        max_tokens: int,
        stop_at: Callable[[str], int | None],
        cancelled: Callable[[], bool],
    ) -> Generation:
        limit = max(RECORDED_TOKENS, max_tokens)
        key = hashlib.sha256(json.dumps([limit, list(prompt_tokens)]).encode()).hexdigest()
        record = self._records.get(key)
        if record is not None:
            replayed = self._replay(record, len(prompt_tokens), max_tokens, stop_at)
            if replayed is not None:
                self.hits += 1
                return replayed
        # Not seen, or recorded only as far as an earlier caller's stop: this run is live.
        self.misses += 1
        _, generation = self._record(prompt_tokens, key, limit, stop_at)
        if generation.generated_tokens > max_tokens:  # recorded past the caller's limit: cut as it would
            return self._replay(self._records[key], len(prompt_tokens), max_tokens, lambda text: None) or generation
        return generation

    @staticmethod
    def _replay(record: dict, prompt_count: int, max_tokens: int, stop_at: Callable[[str], int | None]) -> Generation | None:
        texts, times = record["texts"], record["times"]
        for index, text in enumerate(texts):
            cut = stop_at(text)
            if cut is not None:
                return Generation(text[:cut], prompt_count, 0, index + 1, "stop", times[index])
            if index + 1 >= max_tokens:
                return Generation(text, prompt_count, 0, index + 1, "limit", times[index])
        if record["ended"] == "stop":
            return None
        return Generation(texts[-1] if texts else "", prompt_count, 0, len(texts), record["ended"], record["seconds"])

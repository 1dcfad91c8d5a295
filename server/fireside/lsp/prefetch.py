"""Prefetch: a completion nobody asked for yet, so that the request that follows is a cache hit — at the
end of a file when it opens (where new code is usually written), and where the user paused typing."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from fireside.completion.scheduling import PAUSE_MS
from fireside.documents import Document
from fireside.lsp.feature import LanguageFeature

if TYPE_CHECKING:
    from fireside.lsp.completion_feature import CompletionFeature


class PrefetchFeature(LanguageFeature):
    name = "prefetch"

    def __init__(self, completion: CompletionFeature) -> None:
        self.completion = completion
        self._pause_tasks: dict[str, asyncio.Task[None]] = {}

    def document_opened(self, document: Document) -> None:
        self.completion.prefetch_at(document.uri, len(document.text.rstrip()))

    def document_changed(self, document: Document, cursor: int | None) -> None:
        if cursor is not None:
            self.schedule_pause_prefetch(document.uri, cursor)

    def document_closed(self, uri: str) -> None:
        if (task := self._pause_tasks.pop(uri, None)) is not None:
            task.cancel()

    async def shutdown(self) -> None:
        for task in self._pause_tasks.values():
            task.cancel()
        self._pause_tasks.clear()

    def schedule_pause_prefetch(self, uri: str, offset: int) -> None:
        """After PAUSE_MS without a keystroke, prefetch where the user stopped typing."""
        previous = self._pause_tasks.pop(uri, None)
        if previous is not None:
            previous.cancel()

        async def wait_for_pause() -> None:
            await asyncio.sleep(PAUSE_MS / 1000)
            self._pause_tasks.pop(uri, None)
            self.completion.prefetch_at(uri, offset)

        self._pause_tasks[uri] = asyncio.ensure_future(wait_for_pause())

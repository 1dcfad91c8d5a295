"""What a part of the server is: a :class:`LanguageFeature` (after esbonio's) with no-op hooks for the
session's events. The composition root (``fireside.lsp.app``) builds the features with what each needs
and hands them to the server, which registers their handlers and calls their hooks in order, each one
guarded: a feature's failure is logged (never to stdout, the transport) and never stops another.

A feature imports the server's type for typing only; it gets the server as an argument.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from lsprotocol import types

if TYPE_CHECKING:
    from fireside.documents import Document
    from fireside.lsp.server import FiresideServer

logger = logging.getLogger(__name__)

T = TypeVar("T")


class LanguageFeature:
    """A part of the server. Every hook is optional; the server calls each on every feature, in order."""

    name = "feature"

    def register(self, server: FiresideServer) -> None:
        """Add the LSP handlers this feature answers (``server.feature(...)``)."""

    def initialize(self, params: types.InitializeParams) -> None:
        """``initialize``: the root and the editor's settings are known (``server.config``)."""

    async def initialized(self) -> None:
        """``initialized``: start the feature's own work (a model, a watcher, a child process)."""

    async def configuration_changed(self) -> None:
        """The settings changed (``server.config`` holds the new ones)."""

    def document_opened(self, document: Document) -> None:
        """A document was opened (after the server holds it)."""

    def document_changed(self, document: Document, cursor: int | None) -> None:
        """A document changed; ``cursor`` is the offset after the last incremental edit (None after a full replace)."""

    def document_closed(self, uri: str) -> None:
        """A document was closed (the server still holds it while the hooks run)."""

    async def shutdown(self) -> None:
        """The session ends (``shutdown``, or the connection went): stop everything the feature started."""


async def guarded(feature: str, empty: Callable[[], T], work: Awaitable[T]) -> T:
    """Run one feature's work; any failure is logged and answered with an empty result."""
    try:
        return await work
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("%s failed; answering with an empty result", feature)
        return empty()


def guarded_sync(feature: str, work: Callable[[], object]) -> None:
    """``guarded`` for synchronous work."""
    try:
        work()
    except Exception:
        logger.exception("%s failed", feature)

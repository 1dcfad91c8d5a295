"""A scripted editor: drives `fireside serve` over stdio exactly as an editor would, with pygls'
own LSP client. Used by `scripts/demo` and the benchmarks in eval/."""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient


@dataclass(frozen=True)
class TimedCompletion:
    text: str
    milliseconds: float


class EditorSession:
    def __init__(self, *server_args: str, root: Path | None = None) -> None:
        self.client = LanguageClient("fireside-editor-session", "1")
        self.server_args = server_args
        self.root = root
        self.ready = asyncio.Event()
        self.status: dict = {}
        self.messages: list[str] = []
        self._versions: dict[str, int] = {}

        @self.client.feature("fireside/status")
        def on_status(params) -> None:  # noqa: ANN001 - a namedtuple from pygls
            self.status = {"state": params.state, "model": params.model, "message": params.message}
            if params.state in ("ready", "degraded"):
                self.ready.set()

        @self.client.feature(types.WINDOW_SHOW_MESSAGE)
        def on_message(params: types.ShowMessageParams) -> None:
            self.messages.append(params.message)

    async def __aenter__(self) -> EditorSession:
        await self.client.start_io(sys.executable, "-m", "fireside", "serve", *self.server_args)
        await self.client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(
                    general=types.GeneralClientCapabilities(position_encodings=[types.PositionEncodingKind.Utf16])
                ),
                root_uri=self.root.as_uri() if self.root else None,
            )
        )
        self.client.initialized(types.InitializedParams())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await asyncio.wait_for(self.client.shutdown_async(None), 10)
            self.client.exit(None)
        finally:
            await self.client.stop()

    async def wait_until_loaded(self, timeout: float = 120.0) -> dict:
        await asyncio.wait_for(self.ready.wait(), timeout)
        return self.status

    def open(self, path: Path, text: str | None = None, language_id: str = "python") -> str:
        uri = path.resolve().as_uri()
        self._versions[uri] = 1
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id=language_id, version=1, text=path.read_text() if text is None else text
                )
            )
        )
        return uri

    def insert(self, uri: str, line: int, character: int, text: str) -> None:
        self._versions[uri] += 1
        position = types.Position(line, character)
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self._versions[uri]),
                content_changes=[types.TextDocumentContentChangePartial(range=types.Range(position, position), text=text)],
            )
        )

    async def inline(self, uri: str, line: int, character: int) -> TimedCompletion:
        started = time.perf_counter()
        result = await self.client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line, character),
                context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
            )
        )
        elapsed = (time.perf_counter() - started) * 1000
        text = result.items[0].insert_text if result and result.items else ""
        return TimedCompletion(text if isinstance(text, str) else text.value, elapsed)

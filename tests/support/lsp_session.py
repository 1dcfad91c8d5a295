"""Helpers for language-server tests over stdio (pytest-lsp): the server command, the session start-up,
and the params of the requests the tests send. The fixtures that use them are in tests/server/conftest.py."""

from __future__ import annotations

import sys
from pathlib import Path

from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

REPO = Path(__file__).resolve().parents[2]
SAMPLE_PROJECT = REPO / "eval" / "sample_project"
SAMPLE_ROOT_URI = SAMPLE_PROJECT.as_uri()


def serve(*args: str) -> list[str]:
    return [sys.executable, "-m", "fireside", "serve", *args]


async def start_session(client: LanguageClient, options: dict | None = None) -> types.InitializeResult:
    return await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=SAMPLE_ROOT_URI,
            initialization_options=options,
        )
    )


def open_document(client: LanguageClient, uri: str, text: str, version: int = 1, language: str = "python") -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id=language, version=version, text=text)
        )
    )


def inline_params(uri: str, line: int, character: int) -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=character),
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
    )


def completion_params(uri: str, line: int, character: int) -> types.CompletionParams:
    return types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=line, character=character)
    )

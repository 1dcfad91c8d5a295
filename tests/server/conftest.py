"""Fixtures for the language-server tests: real server processes over stdio (pytest-lsp)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

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


@pytest_lsp.fixture(config=ClientServerConfig(server_command=serve("--engine", "fake", "--debounce-ms", "0")))
async def fake_client(lsp_client: LanguageClient):
    lsp_client.initialize_result = await start_session(lsp_client)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=serve("--engine", "fake", "--fake-token-delay-ms", "100", "--debounce-ms", "0"))
)
async def slow_fake_client(lsp_client: LanguageClient):
    await start_session(lsp_client)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=serve("--debounce-ms", "0")))
async def model_client(lsp_client: LanguageClient):
    await start_session(lsp_client)
    yield
    await lsp_client.shutdown_session()


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


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="rewrite the golden prompt files")

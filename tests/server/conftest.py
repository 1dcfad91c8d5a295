"""Fixtures for the language-server tests: real server processes over stdio (pytest-lsp). The helpers
they use (and tests import) are in tests/support/lsp_session.py."""

from __future__ import annotations

import pytest_lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.support.lsp_session import serve, start_session


@pytest_lsp.fixture(config=ClientServerConfig(server_command=serve("--engine", "fake", "--debounce-ms", "0")))
async def fake_client(lsp_client: LanguageClient):
    lsp_client.initialize_result = await start_session(lsp_client)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=serve("--debounce-ms", "0")))
async def model_client(lsp_client: LanguageClient):
    await start_session(lsp_client)
    yield
    await lsp_client.shutdown_session()


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="rewrite the golden prompt files")

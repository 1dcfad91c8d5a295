"""A models directory watched by a real server with the real model: corrupt, half-written and valid
files, and rollback from the CLI — all while the editor keeps getting completions."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from fireside.completion.default_model import default_model_path

pytestmark = pytest.mark.model

PROJECT = Path(__file__).resolve().parents[2] / "eval" / "sample_project"
URI = "file:///tmp/fireside_models/swap.py"
TEXT = "def add(first, second):\n    \"\"\"Return the sum of two numbers.\"\"\"\n    return "


def place_model(target: Path) -> None:
    """The embedded GGUF under another name (a hard link: no 250 MB copy)."""
    try:
        os.link(default_model_path(), target)
    except OSError:
        shutil.copyfile(default_model_path(), target)


class Events:
    def __init__(self, client: LanguageClient) -> None:
        self.changed: list[dict[str, Any]] = []
        self.rejected: list[dict[str, Any]] = []
        client.feature("fireside/modelChanged")(lambda params: self.changed.append(_plain(params)))
        client.feature("fireside/modelRejected")(lambda params: self.rejected.append(_plain(params)))
        client.feature("fireside/status")(lambda params: None)


def _plain(params: Any) -> dict[str, Any]:
    return params if isinstance(params, dict) else {k: getattr(params, k) for k in params._fields}


async def until(condition, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def complete(client: LanguageClient, version: int) -> str:
    text = TEXT + " " * (version % 2)  # a different document each time: no cache hit
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    lines = text.split("\n")
    result = await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            position=types.Position(line=len(lines) - 1, character=len(lines[-1])),
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
        )
    )
    return result.items[0].insert_text if result.items else ""


async def test_models_directory_hot_swap_rejects_bad_files_and_rolls_back(tmp_path: Path):
    models = tmp_path / "models"
    models.mkdir()
    config = ClientServerConfig(
        server_command=[sys.executable, "-m", "fireside", "serve", "--debounce-ms", "0", "--max-tokens", "16",
                        "--models-dir", str(models), "--log-file", str(tmp_path / "server.log")]
    )
    server_log = tmp_path / "server.log"
    client = await config.start()
    events = Events(client)
    try:
        await client.initialize_session(
            types.InitializeParams(capabilities=client_capabilities("visual-studio-code"), root_uri=PROJECT.as_uri())
        )
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(URI, "python", 1, TEXT))
        )
        assert (await complete(client, 2)).strip(), "the embedded model serves before any candidate arrives"

        # 1. A corrupt file: rejected, named, and the current model keeps serving.
        (models / "corrupt.gguf").write_bytes(os.urandom(4096))
        await until(lambda: events.rejected, 60, "the corrupt file's rejection")
        assert events.rejected[0]["path"].endswith("corrupt.gguf")
        assert "not a GGUF" in events.rejected[0]["reason"]
        assert any("corrupt.gguf" in m.message and "rejected" in m.message for m in client.messages)
        assert not events.changed
        assert (await complete(client, 3)).strip(), "still served by the embedded model"

        # 2. A valid file: validated, swapped in, announced.
        place_model(models / "first.gguf")
        await until(lambda: events.changed, 120, "the swap to first.gguf")
        assert events.changed[0]["path"] == str(models / "first.gguf")
        assert events.changed[0]["previous"] is None
        assert any("first.gguf" in m.message for m in client.messages if m.type == types.MessageType.Info)
        assert (await complete(client, 4)).strip()

        # 3. A half-written file: never served while incomplete, served once complete.
        source = default_model_path().read_bytes()
        partial = models / "second.gguf"
        with partial.open("wb") as handle:
            handle.write(source[: len(source) // 2])
            handle.flush()
            # The watcher looks at it once it has settled, and gives its verdict (the server logs it).
            await until(lambda: "model second.gguf rejected" in server_log.read_text(), 120, "the half-written file's verdict")
            assert len(events.changed) == 1, "a half-written model is never swapped in"
            handle.write(source[len(source) // 2 :])
        await until(lambda: len(events.changed) == 2, 120, "the swap to the completed second.gguf")
        assert events.changed[1]["path"] == str(partial)
        assert events.changed[1]["previous"] == "first.gguf"
        assert (await complete(client, 5)).strip()

        # 4. Rollback from the CLI: the running server follows the registry.
        rollback = subprocess.run(
            [sys.executable, "-m", "fireside", "models", "rollback", "--models-dir", str(models)],
            capture_output=True, text=True, timeout=60,
        )
        assert rollback.returncode == 0, rollback.stderr
        await until(lambda: len(events.changed) == 3, 60, "the rollback swap")
        assert events.changed[2]["path"] == str(models / "first.gguf")
        assert events.changed[2]["reason"] == "rollback"
        assert (await complete(client, 6)).strip()

        listing = subprocess.run(
            [sys.executable, "-m", "fireside", "models", "list", "--models-dir", str(models)],
            capture_output=True, text=True, timeout=60,
        ).stdout
        lines = {line.split()[0]: line for line in listing.splitlines()[1:]}
        assert "active" in lines["first.gguf"]
        assert "previous" in lines["second.gguf"]
        assert "rejected" in lines["corrupt.gguf"]
        await client.shutdown_session()
    finally:
        await client.stop()

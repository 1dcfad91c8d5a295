"""`fireside serve` without modelPath when the default model is missing, or sound on disk but refused
by llama.cpp: one message naming `fireside models install`, and completions from the bundled fallback
meanwhile. (A corrupt one takes the first path; its message is checked in test_model_catalog.py.)"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, client_capabilities

from fireside.models.catalog import CATALOG, inspect, write_stamp

pytestmark = pytest.mark.model

QWEN_05B = CATALOG.get("qwen2.5-coder-0.5b")
URI = "file:///tmp/fireside_fallback/add.py"
TEXT = "def add(first, second):\n    \"\"\"Return the sum of two numbers.\"\"\"\n    return "


def prepare(home: Path, kind: str) -> None:
    home.mkdir()
    if kind == "missing":
        return
    target = home / QWEN_05B.file_name
    with target.open("wb") as handle:  # sparse: the right size, no disk used, not a GGUF
        handle.truncate(QWEN_05B.gguf_size)
    write_stamp(target, QWEN_05B.gguf_sha256)  # the stamp says sound: only loading it shows the problem


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        ("missing", "the default model qwen2.5-coder-0.5b is not installed"),
        ("refused", "the default model qwen2.5-coder-0.5b could not be loaded (see the log)"),
    ],
)
async def test_serve_says_once_what_is_wrong_and_completes_with_the_fallback(tmp_path: Path, kind: str, said: str):
    home = tmp_path / "home"
    prepare(home, kind)
    config = ClientServerConfig(
        server_command=[sys.executable, "-m", "fireside", "serve", "--debounce-ms", "0", "--max-tokens", "16",
                        "--threads", "1", "--log-file", str(tmp_path / "server.log")],
        server_env={**os.environ, "FIRESIDE_MODELS_HOME": str(home)},
    )
    client = await config.start()
    statuses: list[str] = []
    client.feature("fireside/status")(lambda params: statuses.append(params.state))
    try:
        await client.initialize_session(types.InitializeParams(capabilities=client_capabilities("visual-studio-code")))
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(URI, "python", 1, TEXT))
        )
        lines = TEXT.split("\n")
        result = await client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=URI),
                position=types.Position(line=len(lines) - 1, character=len(lines[-1])),
                context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
            )
        )
        assert result.items and result.items[0].insert_text.strip(), "the fallback completes meanwhile"
        assert statuses[-1] == "ready"
        notices = [message for message in client.messages if "fireside models install" in message.message]
        assert len(notices) == 1, [message.message for message in client.messages]
        assert notices[0].type == types.MessageType.Warning
        assert notices[0].message.startswith(f"Fireside: {said}. Completing with the fallback gemma-3-270m meanwhile")
    finally:
        await client.shutdown_session()
    log = (tmp_path / "server.log").read_text()
    assert said in log, "the log says it too"
    assert "Model ready: Gemma" in log and str(inspect(CATALOG.get("gemma-3-270m")).path) in log

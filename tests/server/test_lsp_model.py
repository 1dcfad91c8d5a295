"""Completion behaviour with the real embedded model (Gemma 3 270M, Q4_K_M) through the real LSP path."""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
import textwrap as stdlib_textwrap
import time
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from conftest import completion_params, inline_params, open_document
from lsp_wire import RawServer

pytestmark = pytest.mark.model

# Real code nobody here wrote: the standard library's textwrap module.
REAL_SOURCE = Path(inspect.getsourcefile(stdlib_textwrap)).read_text()
URI = "file:///tmp/fireside_model/textwrap_copy.py"


def hole(source: str, marker: str, keep: int, *, keep_rest: bool) -> tuple[str, int, int, str]:
    """Cursor `keep` characters into the line holding `marker`; unless `keep_rest`, the rest of
    that line is cut away (a hole to fill), the lines below stay."""
    offset = source.index(marker) + keep
    line_end = source.index("\n", offset)
    rest = source[offset:line_end]
    text = source if keep_rest else source[:offset] + source[line_end:]
    before = text[:offset]
    return text, before.count("\n"), len(before) - (before.rfind("\n") + 1), rest if keep_rest else ""


@pytest.mark.parametrize(
    ("marker", "keep"),
    [
        ("        self.width = width", 8),  # a statement inside __init__
        ("        chunks.reverse()", 8),
        ("        lines = []", 8),
    ],
)
async def test_inline_completion_fills_holes_in_real_code(model_client: LanguageClient, marker, keep):
    text, line, character, _ = hole(REAL_SOURCE, marker, keep, keep_rest=False)
    open_document(model_client, URI, text)
    result = await model_client.text_document_inline_completion_async(inline_params(URI, line, character))
    assert len(result.items) == 1, "the model proposes something at a natural completion point"
    assert result.items[0].insert_text.strip()
    assert result.items[0].range.start == types.Position(line, character)


@pytest.mark.parametrize(
    ("marker", "keep"),
    [("def dedent(text):", 11), ("        if self.width <= 0:", 22), ("    def _split(self, text):", 15)],
)
async def test_mid_line_completion_never_repeats_the_rest_of_the_line(model_client: LanguageClient, marker, keep):
    text, line, character, rest = hole(REAL_SOURCE, marker, keep, keep_rest=True)
    open_document(model_client, URI, text)
    result = await model_client.text_document_inline_completion_async(inline_params(URI, line, character))
    for item in result.items:
        assert "\n" not in item.insert_text
        assert not item.insert_text.rstrip().endswith(rest.strip()), (item.insert_text, rest)


async def test_plain_completion_offers_the_model_completion(model_client: LanguageClient):
    text = "import os\n\n\ndef list_python_files(folder):\n    return [name for name in os.listdir(folder) if name.endswith("
    open_document(model_client, URI, text)
    last = text.split("\n")[-1]
    result = await model_client.text_document_completion_async(completion_params(URI, 4, len(last)))
    assert len(result.items) == 1
    item = result.items[0]
    assert item.text_edit.new_text.strip()
    assert item.detail.startswith("Fireside")


def test_cancel_request_stops_real_generation():
    server = RawServer("--debounce-ms", "0", "--max-tokens", "400")
    try:
        server.initialize()
        server.wait_for(lambda m: m.get("method") == "fireside/status" and m["params"]["state"] == "ready", timeout=60)
        text = "class Matrix:\n    \"\"\"A dense matrix of floats.\"\"\"\n\n    def __init__(self, rows):\n        \n"
        server.open(URI, text)
        request_id = server.request(
            "textDocument/inlineCompletion",
            {"textDocument": {"uri": URI}, "position": {"line": 4, "character": 8}, "context": {"triggerKind": 1}},
        )
        time.sleep(1.0)
        started = time.perf_counter()
        server.notify("$/cancelRequest", {"id": request_id})
        response = server.response(request_id, timeout=30)
        assert response["error"]["code"] == -32800
        assert time.perf_counter() - started < 1.0
        # The worker really stopped generating, well before the 400-token limit.
        deadline = time.monotonic() + 10
        stopped = []
        while not stopped and time.monotonic() < deadline:
            stopped = [line for line in server.stderr_lines if "generation cancelled after" in line]
            time.sleep(0.1)
        assert stopped, "the model worker did not report a cancelled generation"
        tokens = int(stopped[0].split("cancelled after ")[1].split()[0])
        assert tokens < 400
    finally:
        server.close()


def test_shutdown_while_the_model_generates_exits_cleanly():
    """The llama context is freed on the model thread after its work stops, never under a running
    decode (which killed the process with SIGSEGV)."""
    server = RawServer("--debounce-ms", "0", "--max-tokens", "400")
    server.initialize()
    server.wait_for(lambda m: m.get("method") == "fireside/status" and m["params"]["state"] == "ready", timeout=60)
    server.open(URI, "class Matrix:\n    \"\"\"A dense matrix of floats.\"\"\"\n\n    def __init__(self, rows):\n        \n")
    server.request(
        "textDocument/inlineCompletion",
        {"textDocument": {"uri": URI}, "position": {"line": 4, "character": 8}, "context": {"triggerKind": 1}},
    )
    assert server.close() == 0, "".join(server.stderr_lines[-20:])


def _corrupt_model(tmp_path: Path) -> Path:
    path = tmp_path / "corrupt.gguf"
    path.write_bytes(b"GGUF" + os.urandom(4096))
    return path


@pytest.mark.parametrize("kind", ["missing", "corrupt", "not-gguf"])
def test_bad_model_starts_degraded_says_so_once_and_answers_empty(tmp_path, kind):
    model = {
        "missing": tmp_path / "nope.gguf",
        "corrupt": _corrupt_model(tmp_path),
        "not-gguf": tmp_path / "notes.txt",
    }[kind]
    if kind == "not-gguf":
        model.write_text("hello")
    server = RawServer("--model", str(model), "--debounce-ms", "0")
    try:
        server.initialize()
        status = server.wait_for(lambda m: m.get("method") == "fireside/status" and m["params"]["state"] == "degraded", timeout=60)
        assert status["params"]["message"]
        shown = server.wait_for(lambda m: m.get("method") == "window/showMessage", timeout=10)
        assert shown["params"]["type"] == 1 and "could not be loaded" in shown["params"]["message"]
        server.open(URI, "x = \n")
        for _ in range(2):
            response = server.call("textDocument/inlineCompletion", {"textDocument": {"uri": URI}, "position": {"line": 0, "character": 4}, "context": {"triggerKind": 1}})
            assert response["result"]["items"] == []
        with pytest.raises(AssertionError):
            server.wait_for(lambda m: m.get("method") == "window/showMessage", timeout=1.0)  # only once
        assert server.alive()
    finally:
        assert server.close() == 0
    assert server.garbage == []


def test_completions_work_with_no_network_at_all():
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-n", "--", "true"], capture_output=True).returncode != 0:
        pytest.skip("unshare -n is not permitted here (needs root or user namespaces)")
    server = RawServer("--debounce-ms", "0", prefix=[unshare, "-n", "--"])
    try:
        server.initialize()
        server.open(URI, "def add(a, b):\n    return ")
        response = server.call(
            "textDocument/inlineCompletion",
            {"textDocument": {"uri": URI}, "position": {"line": 1, "character": 11}, "context": {"triggerKind": 1}},
            timeout=120,
        )
        assert response["result"]["items"] and response["result"]["items"][0]["insertText"].strip()
    finally:
        server.close()
    assert server.garbage == []


async def test_typing_session_reuses_the_model_and_types_through_suggestions(model_client: LanguageClient):
    """Type a line keystroke by keystroke, asking after each one as an editor does."""
    text, line, _, _ = hole(REAL_SOURCE, "        chunks.reverse()", 8, keep_rest=False)
    open_document(model_client, URI, text)
    suggestion = await model_client.text_document_inline_completion_async(inline_params(URI, line, 8))
    assert suggestion.items, "a suggestion for the empty line"
    shown = suggestion.items[0].insert_text
    # Type the first characters of the suggestion itself: each answer must come from the cache.
    version = 1
    column = 8
    for char in shown.split("\n")[0][:4]:
        version += 1
        model_client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=version),
                content_changes=[types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(line, column), types.Position(line, column)), text=char)],
            )
        )
        column += 1
        started = time.perf_counter()
        result = await model_client.text_document_inline_completion_async(inline_params(URI, line, column))
        elapsed = time.perf_counter() - started
        remaining = shown[column - 8 :]
        if remaining.strip():
            assert result.items and result.items[0].insert_text == remaining
            assert elapsed < 0.5, f"typing-through took {elapsed:.3f}s"
    # A character that departs from the suggestion asks the model again, with the prompt's prefix reused.
    version += 1
    model_client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=version),
            content_changes=[types.TextDocumentContentChangePartial(
                range=types.Range(types.Position(line, column), types.Position(line, column)), text="\u00a7")],
        )
    )
    result = await model_client.text_document_inline_completion_async(inline_params(URI, line, column + 1))
    assert isinstance(result, types.InlineCompletionList)


def block_hole(source: str, opener: str, body_lines: int) -> tuple[str, int, int, str]:
    """The ``body_lines`` lines after the line ``opener`` removed, the cursor on an empty line at the
    body's indentation; also the first line below the removed body."""
    start = source.index(opener) + len(opener)
    lines_after = source[start:].split("\n")
    indent = lines_after[0][: len(lines_after[0]) - len(lines_after[0].lstrip())]
    text = source[:start] + indent + "\n" + "\n".join(lines_after[body_lines:])
    before = source[:start]
    below = next(line for line in lines_after[body_lines:] if line.strip())
    return text, before.count("\n"), len(indent), below


def _parses(text: str) -> bool:
    from fireside.context.languages import language_for
    from fireside.context.syntax import parse

    return not parse(language_for("python"), text.encode()).root_node.has_error


@pytest.mark.parametrize(
    ("opener", "body_lines"),
    [
        ('            if chunks[i+1] == " " and patsearch(chunks[i]):\n', 2),  # a block just opened
        ("            for i, (x, y) in enumerate(zip(margin, indent)):\n", 4),  # a loop body with a nested block
    ],
)
async def test_a_block_is_offered_inside_its_block_and_parses(model_client: LanguageClient, opener, body_lines):
    text, line, character, below = block_hole(REAL_SOURCE, opener, body_lines)
    open_document(model_client, URI, text)
    result = await model_client.text_document_inline_completion_async(inline_params(URI, line, character))
    assert len(result.items) == 1, "a block opener on the line above asks for its body"
    offer = result.items[0].insert_text
    lines = offer.split("\n")
    assert lines[0].strip(), offer
    # It stays in the block: nothing dedented past the body's indentation, never the code below it.
    for later in lines[1:]:
        assert not later.strip() or len(later) - len(later.lstrip()) >= character, offer
    assert below.strip() not in [later.strip() for later in lines], offer
    offset = sum(len(row) + 1 for row in text.split("\n")[:line]) + character
    assert _parses(text[:offset] + offer + text[offset:]), offer

"""The LSP surface, end to end over stdio, with the deterministic fake engine."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pytest_lsp import LanguageClient

from fireside.completion.fake_engine import FAKE_COMPLETION, HOLD_MARKER
from tests.support.lsp_session import SAMPLE_PROJECT, completion_params, inline_params, open_document

URI = (SAMPLE_PROJECT / "scratch.py").as_uri()


async def test_capabilities_advertise_inline_and_plain_completion(fake_client: LanguageClient):
    result = fake_client.initialize_result
    capabilities = result.capabilities
    assert capabilities.inline_completion_provider is not None
    assert capabilities.completion_provider is not None
    assert "." in capabilities.completion_provider.trigger_characters
    sync = capabilities.text_document_sync
    assert sync.change == types.TextDocumentSyncKind.Incremental and sync.open_close
    assert capabilities.position_encoding in (None, types.PositionEncodingKind.Utf16)
    assert result.server_info.name == "fireside" and result.server_info.version


async def test_inline_completion_inserts_at_the_cursor(fake_client: LanguageClient):
    open_document(fake_client, URI, "def f(x):\n    return \n")
    result = await fake_client.text_document_inline_completion_async(inline_params(URI, 1, 11))
    assert result is not None and len(result.items) == 1
    item = result.items[0]
    assert item.insert_text == FAKE_COMPLETION
    assert item.range.start == item.range.end == types.Position(1, 11)


async def test_plain_completion_item_replaces_the_word_being_typed(fake_client: LanguageClient):
    open_document(fake_client, URI, "value = comp\n")
    result = await fake_client.text_document_completion_async(completion_params(URI, 0, 12))
    assert isinstance(result, types.CompletionList) and result.is_incomplete
    (item,) = result.items
    assert item.text_edit.new_text == "comp" + FAKE_COMPLETION
    assert item.text_edit.range.start == types.Position(0, 8)
    assert item.text_edit.range.end == types.Position(0, 12)
    assert item.filter_text.startswith("comp")


@pytest.mark.parametrize(
    ("text", "line", "character"),
    [
        ("x = 1\n", 5, 0),  # line past the end
        ("x = 1\n", 0, 99),  # character past the end of the line
        ("x = '\x00\x01'\n", 0, 3),  # NUL bytes: a binary file
    ],
)
async def test_bad_positions_and_binary_text_get_empty_answers(fake_client: LanguageClient, text, line, character):
    open_document(fake_client, URI, text)
    result = await fake_client.text_document_inline_completion_async(inline_params(URI, line, character))
    assert result.items == ()
    # …and the server still serves a good request afterwards.
    open_document(fake_client, URI, "y = \n", version=2)
    result = await fake_client.text_document_inline_completion_async(inline_params(URI, 0, 4))
    assert result.items[0].insert_text == FAKE_COMPLETION


async def test_unopened_document_gets_an_empty_answer(fake_client: LanguageClient):
    result = await fake_client.text_document_inline_completion_async(inline_params(SAMPLE_PROJECT.as_uri() + "/nope.py", 0, 0))
    assert result.items == ()
    plain = await fake_client.text_document_completion_async(completion_params(SAMPLE_PROJECT.as_uri() + "/nope.py", 0, 0))
    assert plain.items == ()


async def test_five_megabyte_file_gets_an_empty_answer_and_one_message(fake_client: LanguageClient):
    # How fast the answer comes is measured in eval/, not here; the test's timeout bounds it.
    big = "x = 1\n" * (5 * 1024 * 1024 // 6)
    open_document(fake_client, URI, big)
    for _ in range(2):
        result = await fake_client.text_document_inline_completion_async(inline_params(URI, 100, 0))
        assert result.items == ()
    # The server writes its showMessage before the answer it belongs to, and the client reads in order:
    # both messages there were to be had have arrived with the answers.
    large = [m for m in fake_client.messages if "larger than maxFileSize" in m.message]
    assert len(large) == 1


async def test_unknown_method_gets_method_not_found(fake_client: LanguageClient):
    with pytest.raises(Exception) as caught:
        await fake_client.protocol.send_request_async("fireside/noSuchMethod", {})
    assert "-32601" in repr(caught.value) or "Method Not Found" in str(caught.value)


async def test_newer_request_for_the_same_document_supersedes_the_older(fake_client: LanguageClient):
    # The fake engine holds a prompt with HOLD_MARKER until it is cancelled: the first request (line 1) can
    # only end because the newer one (line 0, no marker above it) superseded it, while generating or before.
    client = fake_client
    held = f"{HOLD_MARKER} = "
    open_document(client, URI, f"y = \n{held}\n")
    first = asyncio.ensure_future(client.text_document_inline_completion_async(inline_params(URI, 1, len(held))))
    second = asyncio.ensure_future(client.text_document_inline_completion_async(inline_params(URI, 0, 4)))
    first_result = await first
    second_result = await second
    assert first_result.items == () or len(first_result.items[0].insert_text) < len(FAKE_COMPLETION)
    assert second_result.items[0].insert_text == FAKE_COMPLETION


def _utf16_position(text: str, offset: int) -> types.Position:
    import re

    line_starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
    line = max(i for i, start in enumerate(line_starts) if start <= offset)
    column = len(text[line_starts[line] : offset].encode("utf-16-le")) // 2
    return types.Position(line, column)


_pieces = st.sampled_from(["a", "b", " ", "\n", "\r\n", "\t", "😀", "漢字", "é", "\u2028", "\x0c", "def f():\n"])
_text = st.lists(_pieces, max_size=12).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(initial=_text, edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6), _text), min_size=1, max_size=6))
async def test_incremental_sync_matches_applying_the_same_edits(fake_client: LanguageClient, initial, edits):
    uri = SAMPLE_PROJECT.as_uri() + f"/sync_{hashlib.sha1(repr((initial, edits)).encode()).hexdigest()}.py"
    open_document(fake_client, uri, initial)
    text = initial
    for version, (a, b, new) in enumerate(edits, start=2):
        start, end = sorted((a % (len(text) + 1), b % (len(text) + 1)))
        # Never split a "\r\n" pair: the spec has no position between its two characters.
        if 0 < start < len(text) and text[start - 1 : start + 1] == "\r\n":
            start -= 1
        if 0 < end < len(text) and text[end - 1 : end + 1] == "\r\n":
            end += 1
        change = types.TextDocumentContentChangePartial(
            range=types.Range(start=_utf16_position(text, start), end=_utf16_position(text, end)), text=new
        )
        fake_client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[change],
            )
        )
        text = text[:start] + new + text[end:]
    info = await fake_client.protocol.send_request_async("fireside/documentInfo", {"textDocument": {"uri": uri}})
    assert info.version == len(edits) + 1
    assert info.sha256 == hashlib.sha256(text.encode()).hexdigest(), (initial, edits, text)
    fake_client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))

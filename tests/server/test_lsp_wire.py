"""Bytes on the wire: malformed input, cancellation, stdout hygiene, other transports."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from lsp_wire import RawServer
from fireside.completion.fake_engine import FAKE_COMPLETION

URI = "file:///tmp/fireside_wire_test.py"


def inline(server: RawServer, line: int, character: int) -> int:
    return server.request(
        "textDocument/inlineCompletion",
        {"textDocument": {"uri": URI}, "position": {"line": line, "character": character}, "context": {"triggerKind": 1}},
    )


@pytest.fixture
def fake_server():
    server = RawServer("--engine", "fake", "--debounce-ms", "0")
    server.initialize()
    yield server
    assert server.close() == 0
    assert server.garbage == [], "stdout carried something that is not an LSP frame"


def still_serving(server: RawServer) -> None:
    server.open(URI, "value = \n")
    response = server.response(inline(server, 0, 8))
    assert response["result"]["items"][0]["insertText"] == FAKE_COMPLETION


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"{not json}", -32700),
        (b"\xff\xfe\x00garbage", -32700),  # not even UTF-8
        (b"[1, 2, 3]", -32600),  # JSON, but no JSON-RPC message
        (b'{"hello": "world"}', -32600),
    ],
)
def test_malformed_frames_get_an_error_with_null_id_and_the_server_keeps_reading(fake_server, frame, code):
    fake_server.send_bytes(b"Content-Length: %d\r\n\r\n" % len(frame) + frame)
    error = fake_server.wait_for(lambda m: "error" in m and m.get("id") is None, timeout=10)
    assert error["error"]["code"] == code
    still_serving(fake_server)


def test_garbage_headers_are_skipped(fake_server):
    fake_server.send_bytes(b"X-Nonsense: 1\r\nthis is not a header\r\n")
    still_serving(fake_server)


def test_request_with_invalid_params_gets_invalid_params_with_its_id(fake_server):
    request_id = fake_server.request("textDocument/inlineCompletion", {"textDocument": 42, "position": "here"})
    response = fake_server.response(request_id, timeout=10)
    assert response["error"]["code"] == -32602
    still_serving(fake_server)


def test_unknown_method_gets_method_not_found(fake_server):
    response = fake_server.call("fireside/doesNotExist", {}, timeout=10)
    assert response["error"]["code"] == -32601
    still_serving(fake_server)


def test_changes_for_unopened_documents_and_stale_versions_are_ignored(fake_server):
    fake_server.notify("textDocument/didChange", {"textDocument": {"uri": "file:///nope.py", "version": 3}, "contentChanges": [{"text": "x"}]})
    fake_server.open(URI, "abc\n", version=5)
    fake_server.notify("textDocument/didChange", {"textDocument": {"uri": URI, "version": 4}, "contentChanges": [{"text": "stale"}]})
    info = fake_server.call("fireside/documentInfo", {"textDocument": {"uri": URI}})["result"]
    assert info["version"] == 5 and info["length"] == 4
    still_serving(fake_server)


def test_cancel_request_answers_at_once_and_frees_the_model_worker():
    server = RawServer("--engine", "fake", "--fake-token-delay-ms", "100", "--debounce-ms", "0")
    try:
        server.initialize()
        server.open(URI, "x = \n")
        time.sleep(0.3)  # let the (fake) model load
        started = time.perf_counter()
        request_id = inline(server, 0, 4)  # ~1.9 s of generation if nobody stops it
        time.sleep(0.3)
        server.notify("$/cancelRequest", {"id": request_id})
        response = server.response(request_id, timeout=10)
        assert response["error"]["code"] == -32800
        assert time.perf_counter() - started < 1.0
        # Had generation gone on, this one would wait ~1.6 s more before its own ~1.9 s.
        follow_up = server.response(inline(server, 0, 4), timeout=10)
        assert follow_up["result"]["items"][0]["insertText"] == FAKE_COMPLETION
        assert time.perf_counter() - started < 3.2
    finally:
        server.close()


def test_logs_never_reach_stdout_even_at_debug_level():
    server = RawServer("--engine", "fake", "--debounce-ms", "0", "--log-level", "debug")
    try:
        server.initialize()
        server.open(URI, "x = \n")
        assert server.response(inline(server, 0, 4))["result"]["items"]
        assert server.stderr_lines, "debug logs go to stderr"
    finally:
        server.close()
    assert server.garbage == []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listening on {port}")


TOKEN = "wire-test-auth-token-0123456789"  # see test_transports.py for what happens without it


def test_tcp_transport_serves_lsp():
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "fireside", "serve", "--engine", "fake", "--tcp", f"127.0.0.1:{port}"],
        stderr=subprocess.DEVNULL, env={**os.environ, "FIRESIDE_AUTH_TOKEN": TOKEN},
    )
    try:
        _wait_for_port(port)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            params = {"capabilities": {}, "initializationOptions": {"authToken": TOKEN}}
            body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}).encode()
            connection.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            data = b""
            while b"\r\n\r\n" not in data:
                data += connection.recv(65536)
            header, _, rest = data.partition(b"\r\n\r\n")
            length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
            while len(rest) < length:
                rest += connection.recv(65536)
            response = json.loads(rest[:length])
        assert response["id"] == 1
        assert "inlineCompletionProvider" in response["result"]["capabilities"]
    finally:
        process.kill()
        process.wait()


def test_websocket_transport_serves_lsp():
    from websockets.sync.client import connect

    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "fireside", "serve", "--engine", "fake", "--ws", f"127.0.0.1:{port}"],
        stderr=subprocess.DEVNULL, env={**os.environ, "FIRESIDE_AUTH_TOKEN": TOKEN},
    )
    try:
        _wait_for_port(port)
        with connect(f"ws://127.0.0.1:{port}") as websocket:
            params = {"capabilities": {}, "initializationOptions": {"authToken": TOKEN}}
            websocket.send(json.dumps({"jsonrpc": "2.0", "id": 7, "method": "initialize", "params": params}))
            response = json.loads(websocket.recv(timeout=10))
        assert response["id"] == 7
        assert "inlineCompletionProvider" in response["result"]["capabilities"]
    finally:
        process.kill()
        process.wait()


def test_cli_version_and_help():
    version = subprocess.run([sys.executable, "-m", "fireside", "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("fireside ")
    helptext = subprocess.run([sys.executable, "-m", "fireside", "serve", "--help"], capture_output=True, text=True, check=True)
    for flag in ("--tcp", "--ws", "--model", "--log-file", "--max-tokens", "--threads", "--debounce-ms"):
        assert flag in helptext.stdout
    bad = subprocess.run([sys.executable, "-m", "fireside", "serve", "--tcp", "nonsense"], capture_output=True, text=True)
    assert bad.returncode == 2 and "HOST:PORT" in bad.stderr

"""TCP and WebSocket: loopback only, the auth token, WebSocket Origin/Host checks, one client at a time,
and nothing left behind when a client goes (100 connect/disconnect cycles)."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from fireside.completion.fake_engine import FAKE_COMPLETION
from fireside.lsp.auth import AuthToken, load_token
from fireside.lsp.transports import (
    Refused,
    TransportPolicy,
    authenticate,
    binds_to_loopback_only,
    handshake_refusal,
    message_limit,
)
from fireside.protocol import AUTH_FAILED_ERROR, SESSION_BUSY_ERROR
from socket_client import TOKEN, SocketServer, TcpClient, free_port, initialize_params, inline_params, wait_until

URI = "file:///tmp/fireside_transport_test.py"


# ----- pure decisions ---------------------------------------------------------------------------
def policy(**changes) -> TransportPolicy:  # noqa: ANN003
    return TransportPolicy(host="127.0.0.1", port=0, token=AuthToken(TOKEN, "test"), **changes)


@pytest.mark.parametrize(
    ("origin", "host", "refused"),
    [
        (None, "127.0.0.1:2087", False),  # not a browser: no Origin
        (None, "localhost:2087", False),
        (None, "[::1]:2087", False),
        ("https://evil.example", "127.0.0.1:2087", True),
        ("null", "127.0.0.1:2087", True),  # a sandboxed iframe or a file:// page
        ("http://localhost:3000", "127.0.0.1:2087", True),  # not named with --allow-origin
        (None, "evil.example:2087", True),  # DNS rebinding: a page's own name resolving to 127.0.0.1
        (None, "127.0.0.1.evil.example", True),
        (None, None, True),
    ],
)
def test_handshake_checks(origin, host, refused):
    assert (handshake_refusal(origin, host, policy()) is not None) is refused


def test_allowed_origins_and_hosts_are_let_in():
    allowed = policy(allowed_origins=frozenset({"http://localhost:3000"}), allowed_hosts=frozenset({"devbox.lan"}))
    assert handshake_refusal("http://localhost:3000", "127.0.0.1:1", allowed) is None
    assert handshake_refusal("HTTP://LOCALHOST:3000/", "127.0.0.1:1", allowed) is None
    assert handshake_refusal(None, "devbox.lan:2087", allowed) is None
    assert handshake_refusal("https://evil.example", "devbox.lan:2087", allowed) is not None


def test_only_loopback_addresses_bind_without_allow_remote():
    assert binds_to_loopback_only("127.0.0.1") and binds_to_loopback_only("localhost") and binds_to_loopback_only("[::1]")
    assert not binds_to_loopback_only("0.0.0.0") and not binds_to_loopback_only("::") and not binds_to_loopback_only("")


def test_authenticate_takes_the_token_out_and_refuses_anything_else():
    good = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": initialize_params(maxTokens=5)}
    message = authenticate(json.dumps(good).encode(), AuthToken(TOKEN, "test"))
    assert message["params"]["initializationOptions"] == {"maxTokens": 5}, "the token goes no further"
    for body in (
        {**good, "params": initialize_params(token=None)},
        {**good, "params": initialize_params(token=TOKEN[:-1] + "x")},
        {**good, "params": initialize_params(token=12345)},
        {**good, "method": "textDocument/didOpen"},
        {"jsonrpc": "2.0", "method": "initialize", "params": initialize_params()},  # a notification
    ):
        with pytest.raises(Refused):
            authenticate(json.dumps(body).encode(), AuthToken(TOKEN, "test"))
    with pytest.raises(Refused):
        authenticate(b"{nope", AuthToken(TOKEN, "test"))


def test_a_maximum_size_document_fits_in_one_message():
    text = "\x01" * 1000  # the worst case: every character escaped as \u0001
    did_open = json.dumps({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": "file:///x.py", "languageId": "python", "version": 1, "text": text}}})
    assert len(did_open.encode()) <= message_limit(1000)


def test_a_generated_token_is_in_a_file_only_the_user_can_read(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    token, warnings = load_token(None, "tcp-1234.token", environ={})
    assert token.generated_file == tmp_path / "fireside" / "tcp-1234.token" and warnings == []
    assert token.generated_file.read_text().strip() == token.value and len(token.value) >= 32
    assert stat.S_IMODE(token.generated_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(token.generated_file.parent.stat().st_mode) == 0o700
    assert token.value not in repr(token)
    token.remove_generated_file()
    assert not token.generated_file.exists()


def test_token_sources_and_their_errors(tmp_path):
    from fireside.lsp.auth import AuthSetupError

    file = tmp_path / "token"
    file.write_text("from-the-file-0123456789\n")
    file.chmod(0o644)
    token, warnings = load_token(str(file), "", environ={"FIRESIDE_AUTH_TOKEN": "from-the-environment-0123"})
    assert token.value == "from-the-file-0123456789"
    assert any("other users" in warning for warning in warnings) and any("ignored" in warning for warning in warnings)
    token, _ = load_token(None, "", environ={"FIRESIDE_AUTH_TOKEN": "from-the-environment-0123"})
    assert token.value == "from-the-environment-0123" and token.generated_file is None
    with pytest.raises(AuthSetupError, match="too short"):
        load_token(None, "", environ={"FIRESIDE_AUTH_TOKEN": "short"})
    with pytest.raises(AuthSetupError, match="cannot read"):
        load_token(str(tmp_path / "missing"), "", environ={})


# ----- TCP --------------------------------------------------------------------------------------
def initialize(client: TcpClient, **kwargs) -> dict:  # noqa: ANN003
    return client.response(client.request("initialize", initialize_params(**kwargs)))


def completes(client: TcpClient) -> str:
    client.notify("initialized", {})
    client.notify("textDocument/didOpen", {"textDocument": {"uri": URI, "languageId": "python", "version": 1, "text": "x = \n"}})
    answer = client.response(client.request("textDocument/inlineCompletion", inline_params(URI, 0, 4)))
    return answer["result"]["items"][0]["insertText"]


@pytest.fixture
def tcp_server(tmp_path):
    server = SocketServer("tcp", "--debounce-ms", "0", "--log-level", "debug", "--log-file", str(tmp_path / "server.log"))
    yield server
    server.stop()
    log = (tmp_path / "server.log").read_text()
    assert TOKEN not in log and TOKEN not in server.stderr, "the token never reaches a log"


def test_tcp_initialize_without_the_right_token_is_refused_and_the_connection_closed(tcp_server):
    for token in (None, "a-wrong-token-of-enough-length"):
        client = TcpClient(tcp_server.port)
        answer = initialize(client, token=token)
        assert answer["error"]["code"] == AUTH_FAILED_ERROR
        assert "authToken" in answer["error"]["message"]
        assert client.closed_by_server()
        client.close()
    # A request before initialize is refused the same way; nothing reached a handler.
    client = TcpClient(tcp_server.port)
    client.notify("textDocument/didOpen", {"textDocument": {"uri": URI, "languageId": "python", "version": 1, "text": "x"}})
    assert client.receive()["error"]["code"] == AUTH_FAILED_ERROR
    assert client.closed_by_server()


def test_tcp_with_the_token_completions_work_and_a_second_client_is_refused_meanwhile(tcp_server):
    first = TcpClient(tcp_server.port)
    assert "inlineCompletionProvider" in initialize(first)["result"]["capabilities"]
    assert completes(first) == FAKE_COMPLETION
    second = TcpClient(tcp_server.port)
    answer = initialize(second)
    assert answer["error"]["code"] == SESSION_BUSY_ERROR
    assert second.closed_by_server()
    first.close()
    # The first client gone, the next one is served.
    third = TcpClient(tcp_server.port)
    wait_until(lambda: "client disconnected" in (tcp_server.stderr + _log(tcp_server)), 20, "the first session's end")
    assert "result" in initialize(third)
    assert completes(third) == FAKE_COMPLETION
    third.close()


def _log(server: SocketServer) -> str:
    log = next((arg for arg in server.process.args if str(arg).endswith("server.log")), None)
    return Path(log).read_text() if log else ""


def test_an_http_request_aimed_at_the_tcp_port_gets_no_lsp_answer(tcp_server):
    # What a web page can send to a local port: an HTTP POST whose body is an LSP message.
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": initialize_params()}).encode()
    request = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    with socket.create_connection(("127.0.0.1", tcp_server.port), timeout=30) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    assert received == b"", "closed without an answer"


def test_tcp_refuses_to_listen_beyond_loopback_without_allow_remote():
    result = subprocess.run(
        [sys.executable, "-m", "fireside", "serve", "--engine", "fake", "--tcp", f"0.0.0.0:{free_port()}"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "FIRESIDE_AUTH_TOKEN": TOKEN},
    )
    assert result.returncode != 0 and "--allow-remote" in result.stderr


def test_without_a_token_the_server_makes_one_and_prints_where(tmp_path):
    server = SocketServer("tcp", token=None, env={"XDG_RUNTIME_DIR": str(tmp_path)})
    try:
        token_file = tmp_path / "fireside" / f"tcp-{server.port}.token"
        assert str(token_file) in server.stderr
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text().strip()
        assert token not in server.stderr
        client = TcpClient(server.port)
        assert "result" in initialize(client, token=token)
        client.close()
    finally:
        assert server.stop() == 0
    assert not token_file.exists(), "the generated token file goes with the server"


# ----- WebSocket --------------------------------------------------------------------------------
def ws_connect(port: int, host: str = "127.0.0.1", **headers: str):  # noqa: ANN201
    """A WebSocket to the server; ``host`` is the name in the URL (and the Host header), whatever it resolves
    to: the connection goes to 127.0.0.1, as when a page's own name has been re-pointed there (DNS rebinding)."""
    from websockets.sync.client import connect

    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    return connect(f"ws://{host}:{port}", sock=sock, additional_headers=headers or None, open_timeout=30)


def ws_call(websocket, method: str, params, message_id: int = 1) -> dict:  # noqa: ANN001
    websocket.send(json.dumps({"jsonrpc": "2.0", "id": message_id, "method": method, "params": params}))
    while True:
        message = json.loads(websocket.recv(timeout=30))
        if message.get("id") == message_id and "method" not in message:
            return message


@pytest.fixture
def ws_server():
    server = SocketServer("ws", "--debounce-ms", "0", "--allow-origin", "http://localhost:3000")
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("host", "headers"),
    [
        ("127.0.0.1", {"Origin": "https://evil.example"}),
        ("evil.example", {}),
        ("evil.example", {"Origin": "http://evil.example"}),
        ("127.0.0.1", {"Host": "127.0.0.1"}),  # a second Host header
    ],
)
def test_ws_handshake_from_a_foreign_origin_or_host_is_refused(ws_server, host, headers):
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as refused:
        ws_connect(ws_server.port, host, **headers)
    assert refused.value.response.status_code == 403


def test_ws_initialize_without_the_token_is_refused_and_closed_with_it_completions_work(ws_server):
    from websockets.exceptions import ConnectionClosed

    with ws_connect(ws_server.port, Origin="http://localhost:3000") as websocket:  # an allowed browser editor
        answer = ws_call(websocket, "initialize", initialize_params(token="a-wrong-token-of-enough-length"))
        assert answer["error"]["code"] == AUTH_FAILED_ERROR
        with pytest.raises(ConnectionClosed) as closed:
            websocket.recv(timeout=30)
        assert closed.value.rcvd.code == 1008
    with ws_connect(ws_server.port) as websocket:
        assert "result" in ws_call(websocket, "initialize", initialize_params())
        websocket.send(json.dumps({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
        websocket.send(json.dumps({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
            "textDocument": {"uri": URI, "languageId": "python", "version": 1, "text": "x = \n"}}}))
        answer = ws_call(websocket, "textDocument/inlineCompletion", inline_params(URI, 0, 4), message_id=2)
        assert answer["result"]["items"][0]["insertText"] == FAKE_COMPLETION


# ----- nothing left behind ----------------------------------------------------------------------
def test_100_connect_disconnect_cycles_leave_no_threads_files_children_or_memory_behind(tmp_path):
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    for index in range(5):
        (workspace / f"module_{index}.py").write_text(f"def function_{index}(value):\n    return value + {index}\n")
    models = tmp_path / "models"
    dead_prometheus = f"http://127.0.0.1:{free_port()}"  # nothing listens: the monitor child just keeps trying
    server = SocketServer(
        "tcp", "--debounce-ms", "0", "--fake-token-delay-ms", "50", "--models-dir", str(models),
        "--prometheus-url", dead_prometheus, "--log-file", str(tmp_path / "server.log"),
    )

    def cycle(number: int) -> None:
        client = TcpClient(server.port)
        assert "result" in initialize(client, root=workspace)
        client.notify("initialized", {})
        if number % 4 == 3:  # gone before the session has started everything: it must start nothing after
            client.close()
            return
        client.wait_for(lambda m: m.get("method") == "fireside/status" and m["params"]["state"] == "ready")
        # Everything the session starts is running: the workspace and models watchers, the monitor child,
        # and a completion that takes ~3 s is being generated when the client goes.
        wait_until(server.children, 30, f"the monitor child in cycle {number}", interval=0.02)
        client.notify("textDocument/didOpen", {"textDocument": {"uri": URI, "languageId": "python", "version": 1, "text": "x = \n"}})
        client.request("textDocument/inlineCompletion", inline_params(URI, 0, 4))
        client.close()
        wait_until(lambda: not server.children(), 30, f"the monitor child to go after cycle {number}", interval=0.02)

    def settled(threads: int, files: int) -> bool:
        return server.threads() <= threads and server.open_files() <= files and not server.children()

    try:
        for number in range(5):  # warm-up: lazily created pools and caches
            cycle(number)
        wait_until(lambda: settled(10**6, 10**6), 30, "the warm-up sessions to end")
        # Threads end a little after their session (a worker finishes its current token first).
        wait_until(lambda: server.threads() <= 4, 30, "the warm-up sessions' threads to end", interval=0.2)
        threads, files, rss = server.threads(), server.open_files(), server.rss_bytes()
        cycles = int(os.environ.get("FIRESIDE_LEAK_CYCLES", "100"))  # more, to see the memory plateau
        for number in range(cycles):
            cycle(number)
            if number % 50 == 49:
                print(f"cycle {number + 1}: RSS {(server.rss_bytes() - rss) / 2**20:+.1f} MiB, {server.threads()} threads")
        wait_until(lambda: settled(threads + 1, files + 1), 60, "the sessions' threads and files to be released", interval=0.2)
        log = tmp_path / "server.log"
        wait_until(lambda: log.read_text().count("client disconnected") == cycles + 5, 30, "every session's end in the log")
        growth = server.rss_bytes() - rss
        print(f"after {cycles} sessions: {server.threads()} threads (before: {threads}), {server.open_files()} files "
              f"(before: {files}), RSS {growth / 2**20:+.1f} MiB")
        assert growth < 40 * 2**20, f"memory grew by {growth / 2**20:.0f} MiB over {cycles} sessions"
    finally:
        server.stop()


def test_ws_messages_up_to_the_documents_size_limit_pass_and_bigger_ones_close_the_connection(ws_server):
    from websockets.exceptions import ConnectionClosed

    with ws_connect(ws_server.port) as websocket:
        # maxFileSize 1,500,000 characters: messages up to 6 × 1,500,000 + 1 MiB bytes (before initialize: 1 MiB).
        assert "result" in ws_call(websocket, "initialize", initialize_params(maxFileSize=1_500_000))
        websocket.send(json.dumps({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
        text = "x = 1\n" * 240_000 + "y = \n"  # 1,440,005 characters: a document near the limit, over 1 MiB
        websocket.send(json.dumps({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
            "textDocument": {"uri": URI, "languageId": "python", "version": 1, "text": text}}}))
        info = ws_call(websocket, "fireside/documentInfo", {"textDocument": {"uri": URI}}, message_id=2)
        assert info["result"]["length"] == len(text)
        websocket.send(json.dumps({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
            "textDocument": {"uri": URI + "2", "languageId": "python", "version": 1, "text": "x" * (10 << 20)}}}))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                websocket.recv(timeout=30)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # message too big

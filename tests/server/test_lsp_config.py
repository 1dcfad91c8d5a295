"""Configuration from initializationOptions, workspace/didChangeConfiguration and flags; bad values
are reported once with window/showMessage and replaced by defaults."""

from __future__ import annotations

import http.server
import threading
import time
from pathlib import Path

from lsp_wire import RawServer

URI = "file:///tmp/fireside_config_test.py"


def messages(server: RawServer, needle: str, timeout: float = 5.0) -> list[dict]:
    found = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found.append(server.wait_for(lambda m: m.get("method") == "window/showMessage" and needle in m["params"]["message"], timeout=max(0.05, deadline - time.monotonic())))
        except AssertionError:
            break
    return found


def test_bad_initialization_options_are_reported_once_and_defaults_used():
    server = RawServer("--engine", "fake", "--debounce-ms", "0")
    try:
        server.initialize({"maxTokens": -5, "logLevel": "shouty", "enabledLanguages": ["python"]})
        reported = messages(server, "maxTokens", timeout=3)
        assert len(reported) == 1
        assert "using the default" in reported[0]["params"]["message"]
        assert reported[0]["params"]["type"] == 2  # Warning
        # The same bad value sent again as a settings change is not reported a second time.
        server.notify("workspace/didChangeConfiguration", {"settings": {"fireside": {"maxTokens": -5}}})
        assert messages(server, "maxTokens", timeout=1.5) == []
        # Defaults are in force: the completion is not cut to a negative length.
        server.open(URI, "x = \n")
        response = server.call("textDocument/inlineCompletion", {"textDocument": {"uri": URI}, "position": {"line": 0, "character": 4}, "context": {"triggerKind": 1}})
        assert response["result"]["items"]
    finally:
        server.close()


def test_settings_change_applies_new_values():
    server = RawServer("--engine", "fake", "--debounce-ms", "0")
    try:
        server.initialize()
        server.open(URI, "x = \n")
        server.notify("workspace/didChangeConfiguration", {"settings": {"fireside": {"maxTokens": 5}}})
        response = server.call("textDocument/inlineCompletion", {"textDocument": {"uri": URI}, "position": {"line": 0, "character": 4}, "context": {"triggerKind": 1}})
        assert response["result"]["items"][0]["insertText"] == "fake_"
        # A language that is not enabled gets nothing.
        server.notify("workspace/didChangeConfiguration", {"settings": {"fireside": {"enabledLanguages": ["rust"]}}})
        response = server.call("textDocument/inlineCompletion", {"textDocument": {"uri": URI}, "position": {"line": 0, "character": 4}, "context": {"triggerKind": 1}})
        assert response["result"]["items"] == []
    finally:
        server.close()


def test_command_line_flags_win_and_bad_flags_are_reported():
    server = RawServer("--engine", "fake", "--debounce-ms", "0", "--max-tokens", "3", "--context-size", "0")
    try:
        server.initialize({"maxTokens": 50})
        assert len(messages(server, "contextSize", timeout=3)) == 1
        server.open(URI, "x = \n")
        response = server.call("textDocument/inlineCompletion", {"textDocument": {"uri": URI}, "position": {"line": 0, "character": 4}, "context": {"triggerKind": 1}})
        assert response["result"]["items"][0]["insertText"] == "fak"
    finally:
        server.close()


def test_an_unset_api_key_variable_is_reported_once_and_the_server_serves():
    server = RawServer(
        "--engine", "fake", "--debounce-ms", "0",
        "--endpoint", "http://127.0.0.1:9", "--endpoint-api-key-env", "FIRESIDE_TEST_KEY_NOT_SET",
    )
    try:
        server.initialize({})
        reported = messages(server, "FIRESIDE_TEST_KEY_NOT_SET", timeout=3)
        assert len(reported) == 1 and "not set" in reported[0]["params"]["message"]
        server.notify("workspace/didChangeConfiguration", {"settings": {"fireside": {"maxTokens": 20}}})
        assert messages(server, "FIRESIDE_TEST_KEY_NOT_SET", timeout=1.5) == []
        assert server.alive()
    finally:
        server.close()


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        self.requests.append(self.path)
        self.send_response(500)
        self.end_headers()

    do_POST = do_GET  # noqa: N815

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


def test_settings_a_workspace_could_use_to_point_elsewhere_are_ignored_from_the_editor(tmp_path):
    """endpoints, endpointApiKeyEnv, modelPath, modelsDir, prometheusUrl, alertmanagerUrl and monitorConfig
    from initializationOptions or didChangeConfiguration (which may be a workspace's) take no effect: each
    is reported once, naming the flag to use instead; nothing is contacted, loaded or watched."""
    recorder = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=recorder.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{recorder.server_address[1]}"
    models = tmp_path / "models"
    restricted = {
        "endpoints": [url], "endpointApiKeyEnv": "HOME", "modelPath": str(tmp_path / "evil.gguf"),
        "modelsDir": str(models), "prometheusUrl": url, "alertmanagerUrl": url, "monitorConfig": str(tmp_path / "m.toml"),
    }
    server = RawServer("--engine", "fake", "--debounce-ms", "0")
    try:
        server.initialize({**restricted, "maxTokens": 3})
        told = [m["params"]["message"] for m in messages(server, "ignored", timeout=3)]
        assert len(told) == len(restricted), told
        for name, flag in (("endpoints", "--endpoint"), ("modelPath", "--model"), ("prometheusUrl", "--prometheus-url")):
            assert any(f"ignored {name} " in message and flag in message for message in told), told
        server.notify("workspace/didChangeConfiguration", {"settings": {"fireside": {**restricted, "maxTokens": 3}}})
        assert messages(server, "ignored", timeout=1.5) == [], "told once"
        server.open(URI, "x = \n")
        response = server.call("textDocument/inlineCompletion", {"textDocument": {"uri": URI}, "position": {"line": 0, "character": 4}, "context": {"triggerKind": 1}})
        assert response["result"]["items"][0]["insertText"] == "fak", "the local (fake) engine answers; maxTokens applies"
        assert recorder.RequestHandlerClass.requests == [], "neither the endpoint nor a Prometheus was contacted"
        assert not models.exists(), "the models directory was not watched (it would have been created)"
        children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
        assert children == [], "no monitor was started"
    finally:
        server.close()
        recorder.shutdown()

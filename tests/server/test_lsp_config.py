"""Configuration from initializationOptions, workspace/didChangeConfiguration and flags; bad values
are reported once with window/showMessage and replaced by defaults."""

from __future__ import annotations

import time

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
    server = RawServer("--engine", "fake", "--debounce-ms", "0")
    try:
        settings = {"endpoints": ["http://127.0.0.1:9"], "endpointApiKeyEnv": "FIRESIDE_TEST_KEY_NOT_SET"}
        server.initialize(settings)
        reported = messages(server, "FIRESIDE_TEST_KEY_NOT_SET", timeout=3)
        assert len(reported) == 1 and "not set" in reported[0]["params"]["message"]
        server.notify("workspace/didChangeConfiguration", {"settings": {"fireside": settings}})
        assert messages(server, "FIRESIDE_TEST_KEY_NOT_SET", timeout=1.5) == []
        assert server.alive()
    finally:
        server.close()

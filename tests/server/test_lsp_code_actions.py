"""The "Generate Hypothesis tests" code action over LSP: listed at once, resolved into a
WorkspaceEdit (CreateFile + TextDocumentEdit) with $/progress, never overwriting silently."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


from lsp_wire import RawServer

SOURCE = '''"""Small numeric helpers."""


def clamp(value: int, low: int = 0, high: int = 10) -> int:
    """Limit value to the range [low, high]."""
    if low > high:
        raise ValueError("low must not exceed high")
    return max(low, min(value, high))
'''


def _project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'mathy'\nversion = '0'\n")
    (tmp_path / "mathy.py").write_text(SOURCE)
    return tmp_path / "mathy.py"


def _request(server: RawServer, uri: str, line: int) -> list[dict]:
    return server.call(
        "textDocument/codeAction",
        {"textDocument": {"uri": uri}, "range": {"start": {"line": line, "character": 4}, "end": {"line": line, "character": 4}}, "context": {"diagnostics": []}},
    )["result"]


def test_generate_tests_action_creates_a_verified_test_file(tmp_path):
    path = _project(tmp_path)
    server = RawServer("--engine", "fake")
    try:
        server.call("initialize", {"processId": None, "rootUri": tmp_path.as_uri(),
                                   "capabilities": {"window": {"workDoneProgress": True},
                                                    "workspace": {"workspaceEdit": {"documentChanges": True, "resourceOperations": ["create"]}}}})
        server.notify("initialized", {})
        uri = path.as_uri()
        server.open(uri, SOURCE)
        capabilities_line = SOURCE.split("\n").index("def clamp(value: int, low: int = 0, high: int = 10) -> int:")
        actions = _request(server, uri, capabilities_line + 2)
        assert [a["title"] for a in actions] == ["Generate Hypothesis tests for clamp"]
        assert "edit" not in actions[0]  # computed lazily
        assert _request(server, uri, 0) == []  # the module docstring is no function
        resolved = server.call("codeAction/resolve", actions[0], timeout=240)["result"]
        changes = resolved["edit"]["documentChanges"]
        assert changes[0]["kind"] == "create" and changes[0]["uri"].endswith("/tests/test_mathy.py")
        assert changes[0]["options"] == {"overwrite": False, "ignoreIfExists": True}
        text = changes[1]["edits"][0]["newText"]
        assert "@given" in text and "clamp" in text and "pytest.raises(ValueError" in text
        # The client saw progress while the tests were generated and verified.
        server.wait_for(lambda m: m.get("method") == "$/progress" and m["params"]["value"]["kind"] == "end", timeout=10)
        # Applying the edit gives a test file that passes.
        test_file = tmp_path / "tests" / "test_mathy.py"
        test_file.parent.mkdir()
        test_file.write_text(text)
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)], cwd=tmp_path, capture_output=True, text=True, timeout=240)
        assert run.returncode == 0, run.stdout + run.stderr
        # Asked again with the file in place: the edit replaces it whole, keeping what it had.
        test_file.write_text(text + "\n\ndef test_mine():\n    assert True\n")
        resolved = server.call("codeAction/resolve", actions[0], timeout=240)["result"]
        (edit,) = resolved["edit"]["documentChanges"]
        assert edit["edits"][0]["range"]["start"] == {"line": 0, "character": 0}
        assert "def test_mine" in edit["edits"][0]["newText"]
    finally:
        server.close()
    assert server.garbage == []


def test_no_action_on_broken_or_unopened_files(tmp_path):
    server = RawServer("--engine", "fake")
    try:
        server.initialize(root=str(tmp_path))
        uri = (tmp_path / "broken.py").as_uri()
        assert _request(server, uri, 0) == []
        server.open(uri, "def broken(:\n    pass\n")
        assert _request(server, uri, 0) == []
    finally:
        server.close()


def test_symbol_lookup_is_innermost():
    from fireside.lsp.code_actions import symbol_at

    text = "class A:\n    def m(self):\n        return 1\n"
    assert symbol_at(text, 2) == "A.m"
    assert symbol_at(text, 0) == "A"

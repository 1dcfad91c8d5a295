"""Code actions over LSP. "Generate Hypothesis tests": listed at once, resolved into a WorkspaceEdit
(CreateFile + TextDocumentEdit) with $/progress, never overwriting silently. The model actions (docstring, type
hints, body, quick fix): listed at once, resolved with progress and cancellation, every edit checked — with the
fake engine for the protocol, the real model for the actions end to end."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from fireside.actions.validate import compile_error, syntax_errors
from fireside.completion.fake_engine import HOLD_MARKER
from fireside.documents import Document, Position
from tests.support.lsp_session import open_document
from tests.support.lsp_wire import RawServer


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


def _start_generating(tmp_path: Path, *capabilities_extra: str) -> RawServer:
    server = RawServer("--engine", "fake")
    server.call("initialize", {"processId": None, "rootUri": tmp_path.as_uri(),
                               "capabilities": {"window": {"workDoneProgress": True},
                                                "workspace": {"workspaceEdit": {"documentChanges": True, "resourceOperations": ["create"]}}}})
    server.notify("initialized", {})
    return server


def test_a_buffer_that_differs_from_the_saved_file_is_never_run(tmp_path):
    # Issue 13: a saved harmless file, opened with a different docstring whose example writes a marker.
    path = _project(tmp_path)
    marker = tmp_path / "marker"
    buffer = SOURCE.replace('"""Limit value to the range [low, high]."""',
                            f'"""Limit value.\n\n    >>> open({str(marker)!r}, "w").write("ran")\n    3\n    """')
    assert buffer != SOURCE
    server = _start_generating(tmp_path)
    try:
        uri = path.as_uri()
        server.open(uri, buffer)
        line = buffer.split("\n").index("def clamp(value: int, low: int = 0, high: int = 10) -> int:")
        (action,) = _request(server, uri, line + 1)
        resolved = server.call("codeAction/resolve", action, timeout=240)["result"]
        text = resolved["edit"]["documentChanges"][1]["edits"][0]["newText"]
        assert "test_clamp_docstring_examples" in text and "NOT VERIFIED" in text  # written, not run
        message = server.wait_for(lambda m: m.get("method") == "window/showMessage" and "NOT VERIFIED" in m["params"]["message"])
        assert message["params"]["type"] == 2 and "unsaved changes" in message["params"]["message"]  # a warning saying why
        assert not marker.exists()
    finally:
        server.close()
    assert not marker.exists()


def test_new_tests_are_merged_into_the_open_test_buffer_at_its_version(tmp_path):
    path = _project(tmp_path)
    test_file = tmp_path / "tests" / "test_mathy.py"
    test_file.parent.mkdir()
    test_file.write_text("def test_saved():\n    assert True\n")
    unsaved = "def test_saved():\n    assert True\n\n\ndef test_typed_but_not_saved():\n    assert 2 > 1\n"
    server = _start_generating(tmp_path)
    try:
        server.open(path.as_uri(), SOURCE)
        server.open(test_file.as_uri(), unsaved, version=7)
        line = SOURCE.split("\n").index("def clamp(value: int, low: int = 0, high: int = 10) -> int:")
        (action,) = _request(server, path.as_uri(), line + 1)
        resolved = server.call("codeAction/resolve", action, timeout=240)["result"]
        (change,) = resolved["edit"]["documentChanges"]
        assert change["textDocument"] == {"uri": test_file.as_uri(), "version": 7}
        (edit,) = change["edits"]
        assert edit["range"] == {"start": {"line": 0, "character": 0}, "end": {"line": 6, "character": 0}}
        assert "def test_typed_but_not_saved" in edit["newText"] and "def test_clamp_fuzz" in edit["newText"]
    finally:
        server.close()


def test_cancelling_test_generation_kills_the_running_tests(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'slowpoke'\nversion = '0'\n")
    started, marker = tmp_path / "started", f"fireside-lsp-cancel-{os.getpid()}-{time.monotonic_ns()}"
    source = textwrap.dedent(f'''
        import pathlib, subprocess, sys, time


        def slow() -> int:
            """Takes its time.

            >>> slow()
            1
            """
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", {marker!r}])
            pathlib.Path({str(started)!r}).write_text("yes")
            time.sleep(600)
            return 1
    ''')
    path = tmp_path / "slowpoke.py"
    path.write_text(source)
    server = _start_generating(tmp_path)
    try:
        server.open(path.as_uri(), source)
        line = source.split("\n").index("def slow() -> int:")
        (action,) = _request(server, path.as_uri(), line)
        request_id = server.request("codeAction/resolve", action)
        deadline = time.monotonic() + 120
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert started.exists(), "the tests never started"
        server.notify("$/cancelRequest", {"id": request_id})
        assert server.response(request_id, timeout=30)["error"]["code"] == -32800
        deadline = time.monotonic() + 10
        while _running(marker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _running(marker), "the test run was left running"
        assert server.alive()
    finally:
        server.close()


def _running(marker: str) -> bool:
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                return (entry / "stat").read_text().split(") ", 1)[1][:1] != "Z"
        except OSError:
            continue
    return False


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


# ----- the model actions: docstring, type hints, quick fix, body ------------------------------------------

ACTIONS_SOURCE = '''import sys


def clamp(value, low=0, high=10):
    if low > high:
        raise ValueError("low must not exceed high")
    return max(low, min(value, high))


def mean(values):
    """The arithmetic mean of a list of numbers."""
    ...


def title(text):
    return slugify(text) + os.sep
'''
CLAMP_LINE = 4  # inside clamp
MEAN_LINE = 10
TITLE_LINE = 15


def _apply(text: str, edit: dict) -> tuple[str, dict]:
    """The text after a WorkspaceEdit with one TextDocumentEdit holding one TextEdit, and that TextEdit."""
    (change,) = edit["documentChanges"]
    (text_edit,) = change["edits"]
    document = Document("file:///x.py", "python", 0, text)
    r = text_edit["range"]
    start = document.offset_at(Position(r["start"]["line"], r["start"]["character"]), "utf-16")
    end = document.offset_at(Position(r["end"]["line"], r["end"]["character"]), "utf-16")
    return text[:start] + text_edit["newText"] + text[end:], text_edit


def _lines_outside(text: str, first: int, last: int) -> list[str]:
    lines = text.split("\n")
    return lines[:first] + lines[last + 1 :]


def _range(line: int, start: int = 0, end: int | None = None) -> dict:
    return {"start": {"line": line, "character": start}, "end": {"line": line, "character": start if end is None else end}}


def _actions(server: RawServer, uri: str, line: int, diagnostics: list | None = None, only: list | None = None) -> list[dict]:
    context: dict = {"diagnostics": diagnostics or []}
    if only:
        context["only"] = only
    return server.call("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": _range(line), "context": context})["result"]


def _start(tmp_path: Path, *args: str, source: str = ACTIONS_SOURCE) -> tuple[RawServer, str]:
    (tmp_path / "helpers.py").write_text('def slugify(text):\n    """Lower-case words joined by dashes."""\n    return "-".join(text.lower().split())\n')
    (tmp_path / "app.py").write_text(source)
    server = RawServer(*args)
    server.call("initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {"window": {"workDoneProgress": True}}})
    server.notify("initialized", {})
    uri = (tmp_path / "app.py").as_uri()
    server.open(uri, source)
    return server, uri


def test_model_actions_are_listed_at_once_and_quick_fixes_import_known_names(tmp_path):
    server, uri = _start(tmp_path, "--engine", "fake")
    try:
        listed = _actions(server, uri, CLAMP_LINE)  # no model involved: listing is a parse of the buffer
        assert [(a["title"], a["kind"]) for a in listed] == [
            ("Generate Hypothesis tests for clamp", "source.fireside.generateTests"),
            ("Write docstring for clamp", "refactor.rewrite.fireside.docstring"),
            ("Add type hints to clamp", "refactor.rewrite.fireside.typeHints"),
        ]
        assert all("edit" not in action for action in listed)
        assert "Complete function body of mean" in [a["title"] for a in _actions(server, uri, MEAN_LINE)]
        diagnostics = [
            {"range": _range(TITLE_LINE, 11, 18), "message": "undefined name 'slugify'", "source": "pyflakes"},
            {"range": _range(TITLE_LINE, 30, 32), "message": "undefined name 'os'", "source": "pyflakes"},
        ]
        fixes = _actions(server, uri, TITLE_LINE, diagnostics, only=["quickfix"])
        assert [a["title"] for a in fixes] == ["Fireside: define or import `slugify`", "Fireside: define or import `os`"]
        assert fixes[0]["diagnostics"][0]["message"] == "undefined name 'slugify'"
        # Deterministic fixes: an import from the workspace index, an import of a standard module.
        server.wait_for(lambda m: m.get("method") == "fireside/status" and m["params"]["state"] == "ready", timeout=30)
        fixed, edit = _apply(ACTIONS_SOURCE, server.call("codeAction/resolve", fixes[0])["result"]["edit"])
        assert edit["newText"] == "from helpers import slugify\n" and edit["range"]["start"]["line"] == 1
        assert fixed.startswith("import sys\nfrom helpers import slugify\n\n\ndef clamp")
        fixed, edit = _apply(ACTIONS_SOURCE, server.call("codeAction/resolve", fixes[1])["result"]["edit"])
        assert edit["newText"] == "import os\n"
    finally:
        server.close()


def test_the_new_kinds_are_advertised(fake_client: LanguageClient):
    provider = fake_client.initialize_result.capabilities.code_action_provider
    assert provider.resolve_provider
    assert {"refactor.rewrite.fireside.docstring", "refactor.rewrite.fireside.typeHints",
            "refactor.rewrite.fireside.completeBody", "quickfix"} <= set(provider.code_action_kinds)


async def test_a_dropped_edit_comes_back_without_an_edit_saying_why(fake_client: LanguageClient):
    # The fake model answers "fake_complet" (its text cut at the token limit) to every type question: a name
    # the module does not define, so nothing is kept.
    uri = "file:///tmp/fireside_actions/dropped.py"
    open_document(fake_client, uri, ACTIONS_SOURCE)
    listed = await fake_client.text_document_code_action_async(
        types.CodeActionParams(types.TextDocumentIdentifier(uri), types.Range(types.Position(CLAMP_LINE, 0), types.Position(CLAMP_LINE, 0)),
                               types.CodeActionContext(diagnostics=[], only=["refactor.rewrite.fireside.typeHints"]))
    )
    (hints,) = listed
    resolved = await fake_client.code_action_resolve_async(hints)
    assert resolved.edit is None
    assert "no proposed annotation was consistent" in resolved.disabled.reason
    assert "fake_complet is not defined or imported in this module" in resolved.disabled.reason
    if not fake_client.messages:
        await fake_client.wait_for_notification(types.WINDOW_SHOW_MESSAGE)
    assert any(m.message.startswith("Fireside: Add type hints to clamp: no proposed annotation") for m in fake_client.messages)


def test_cancelling_a_resolve_stops_the_model_at_once(tmp_path):
    # HOLD_MARKER in mean's docstring: the fake engine holds the body's generation until it is cancelled, so
    # the resolve can only end through the cancel (and the log line says the model stopped).
    held = ACTIONS_SOURCE.replace("numbers.", f"numbers ({HOLD_MARKER}).")
    server, uri = _start(tmp_path, "--engine", "fake", source=held)
    try:
        server.wait_for(lambda m: m.get("method") == "fireside/status" and m["params"]["state"] == "ready", timeout=30)
        (body,) = _actions(server, uri, MEAN_LINE, only=["refactor.rewrite.fireside.completeBody"])
        request_id = server.request("codeAction/resolve", body)
        server.wait_for(lambda m: m.get("method") == "$/progress" and m["params"]["value"].get("kind") == "report", timeout=10)
        server.notify("$/cancelRequest", {"id": request_id})
        assert server.response(request_id, timeout=10)["error"]["code"] == -32800
        server.wait_for_stderr("code action cancelled", timeout=30)
    finally:
        server.close()


@pytest.fixture
def model_server(tmp_path):
    server, uri = _start(tmp_path, "--threads", "1")
    server.wait_for(lambda m: m.get("method") == "fireside/status" and m["params"]["state"] == "ready", timeout=120)
    yield server, uri
    server.close()


def _resolve(server: RawServer, action: dict) -> dict:
    resolved = server.call("codeAction/resolve", action, timeout=180)["result"]
    server.wait_for(lambda m: m.get("method") == "$/progress" and m["params"]["value"].get("kind") == "end", timeout=10)
    return resolved


def _only(server: RawServer, uri: str, line: int, kind: str, diagnostics: list | None = None) -> dict:
    (action,) = _actions(server, uri, line, diagnostics, only=[kind])
    return action


@pytest.mark.model
def test_real_model_actions_end_to_end(model_server):
    """Each action with the real model over LSP: the edit parses, stays where it claims, and the
    deterministic parts are exact."""
    server, uri = model_server
    source_lines = ACTIONS_SOURCE.split("\n")

    # Write docstring: the skeleton's names are exact, the prose is the model's.
    docstring = _resolve(server, _only(server, uri, CLAMP_LINE, "refactor.rewrite.fireside.docstring"))
    text, edit = _apply(ACTIONS_SOURCE, docstring["edit"])
    assert syntax_errors(text) == [] and compile_error(text) is None
    assert edit["range"]["start"] == {"line": 4, "character": 4} == edit["range"]["end"]
    for expected in ("\n    Args:\n        value: ", "\n        low: ", "\n        high: ", "\n    Returns:\n        ",
                     "\n    Raises:\n        ValueError: If `low > high`.\n"):
        assert expected in edit["newText"]
    assert text.replace(edit["newText"], "", 1) == ACTIONS_SOURCE

    # Add type hints: only the signature changes and the module compiles; no kept hint contradicts a default.
    hints = _resolve(server, _only(server, uri, CLAMP_LINE, "refactor.rewrite.fireside.typeHints"))
    assert "edit" in hints, hints.get("disabled")
    text, edit = _apply(ACTIONS_SOURCE, hints["edit"])
    assert compile_error(text) is None
    assert _lines_outside(text, 3, 3) == _lines_outside(ACTIONS_SOURCE, 3, 3)
    signature = text.split("\n")[3]
    assert signature.startswith("def clamp(") and ("low: str" not in signature and "high: str" not in signature)

    # Complete function body: the body compiles, the docstring and everything else stay.
    body = _resolve(server, _only(server, uri, MEAN_LINE, "refactor.rewrite.fireside.completeBody"))
    assert "edit" in body, body.get("disabled")
    text, edit = _apply(ACTIONS_SOURCE, body["edit"])
    assert compile_error(text) is None
    assert text.startswith("\n".join(source_lines[:11]) + "\n")  # up to and including the docstring
    assert text.endswith("\n".join(source_lines[12:]))
    assert "\n    ...\n" not in text.split("def mean")[1].split("def title")[0]

    # A syntax error no deterministic repair covers: the model rewrites the line, the file parses again.
    broken = ACTIONS_SOURCE.replace("min(value, high)", "min(value,, high)")
    server.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": broken}]})
    diagnostic = {"range": _range(6, 23, 24), "message": "invalid syntax", "source": "python"}
    fix = _resolve(server, _only(server, uri, 6, "quickfix", [diagnostic]))
    assert "edit" in fix, fix.get("disabled")
    text, edit = _apply(broken, fix["edit"])
    assert syntax_errors(text) == [] and edit["range"]["start"]["line"] == 6 == edit["range"]["end"]["line"]
    assert text == ACTIONS_SOURCE
    assert server.alive()


def test_an_action_listed_before_an_edit_is_resolved_only_if_it_still_applies(tmp_path):
    server, uri = _start(tmp_path, "--engine", "fake")
    try:
        server.wait_for(lambda m: m.get("method") == "fireside/status" and m["params"]["state"] == "ready", timeout=30)
        (docstring,) = _actions(server, uri, CLAMP_LINE, only=["refactor.rewrite.fireside.docstring"])
        diagnostic = {"range": _range(TITLE_LINE, 30, 32), "message": "undefined name 'os'"}
        (fix,) = _actions(server, uri, TITLE_LINE, [diagnostic], only=["quickfix"])
        # A comment added at the end: clamp is still where it was, the diagnostic's range is stale.
        server.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                                 "contentChanges": [{"text": ACTIONS_SOURCE + "# end\n"}]})
        assert "edit" in server.call("codeAction/resolve", docstring)["result"]
        assert "changed since" in server.call("codeAction/resolve", fix)["result"]["disabled"]["reason"]
        # The function is gone from that line: the docstring action no longer applies.
        server.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 3},
                                                 "contentChanges": [{"text": "\n\n\n\n\n" + ACTIONS_SOURCE}]})
        assert "changed since" in server.call("codeAction/resolve", docstring)["result"]["disabled"]["reason"]
    finally:
        server.close()


def test_generating_tests_for_a_buffer_that_no_longer_parses_says_why(tmp_path):
    path = _project(tmp_path)
    server = RawServer("--engine", "fake")
    try:
        server.initialize(root=str(tmp_path))
        uri = path.as_uri()
        server.open(uri, SOURCE)
        (action,) = _request(server, uri, SOURCE.split("\n").index("def clamp(value: int, low: int = 0, high: int = 10) -> int:"))
        server.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                                 "contentChanges": [{"text": SOURCE + "def broken(:\n"}]})
        resolved = server.call("codeAction/resolve", action)["result"]
        assert "edit" not in resolved and "SyntaxError" in resolved["disabled"]["reason"]
        server.wait_for(lambda m: m.get("method") == "window/showMessage" and "SyntaxError" in m["params"]["message"], timeout=10)
        assert server.alive()
    finally:
        server.close()

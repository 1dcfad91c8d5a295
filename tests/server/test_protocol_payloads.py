"""Custom payloads (fireside.protocol): dataclasses on the inside, camelCase JSON on the wire, structured
once at the edge, and a malformed payload is one clear error, never a crash."""

from __future__ import annotations

from collections import namedtuple

import pytest

from fireside import protocol
from tests.support.lsp_wire import RawServer


def test_payloads_go_to_the_wire_in_camel_case_and_come_back_equal():
    info = protocol.DocumentInfo("file:///a.py", 3, 10, 2, "ab" * 32)
    assert protocol.to_wire(info) == {"uri": "file:///a.py", "version": 3, "length": 10, "lineCount": 2, "sha256": "ab" * 32}
    action = protocol.ModelActionData("file:///a.py", 4, 7, "quickFix", diagnostic=protocol.DiagnosticData("undefined name 'os'", (4, 1, 4, 3)))
    assert protocol.from_wire(protocol.ModelActionData, protocol.to_wire(action)) == action
    changed = protocol.ModelChangedParams("qwen", "/m/q.gguf", None)
    assert protocol.to_wire(changed) == {"model": "qwen", "path": "/m/q.gguf", "previous": None}  # no "reason": None
    assert protocol.to_wire(protocol.ModelChangedParams("qwen", "/m/q.gguf", "old.gguf", "rollback"))["reason"] == "rollback"


def test_custom_request_params_structure_from_pygls_namedtuples():
    Object = namedtuple("Object", ["textDocument"])
    Ref = namedtuple("Ref", ["uri"])
    params = protocol.from_wire(protocol.DocumentInfoParams, Object(Ref("file:///a.py")))
    assert params.text_document.uri == "file:///a.py"


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ({"uri": "file:///a.py", "line": "3", "version": 1, "action": "docstring"}, "$.line"),  # no coercion
        ({"uri": "file:///a.py", "line": True, "version": 1, "action": "docstring"}, "$.line"),
        ({"uri": "file:///a.py", "line": -1, "version": 1, "action": "docstring"}, "not negative"),
        ({"uri": "file:///a.py", "line": 1, "version": 1, "action": "quickFix", "diagnostic": {"message": "m", "range": [1, 2]}}, "range"),
        ({"line": 1, "version": 1, "action": "docstring"}, "uri"),
        (None, "ModelActionData"),
    ],
)
def test_a_malformed_payload_is_one_clear_error(data, why):
    with pytest.raises(protocol.PayloadError) as caught:
        protocol.from_wire(protocol.ModelActionData, data)
    assert why in str(caught.value)


def test_a_resolve_with_data_that_is_not_fireside_s_is_answered_disabled_and_the_server_keeps_serving():
    server = RawServer("--engine", "fake", "--debounce-ms", "0")
    try:
        server.initialize()
        uri = "file:///tmp/fireside_payloads/a.py"
        server.open(uri, "def f(x):\n    return x\n")
        action = {"title": "Write docstring for f", "data": {"action": "docstring", "uri": 42, "line": "zero"}}
        resolved = server.call("codeAction/resolve", action)["result"]
        assert "not Fireside's" in resolved["disabled"]["reason"] and "edit" not in resolved
        info = server.call("fireside/documentInfo", {"textDocument": {"uri": uri}})["result"]
        assert info["lineCount"] == 3 and info["version"] == 1
        assert server.call("fireside/documentInfo", {"textDocument": "nope"})["result"] is None
    finally:
        server.close()

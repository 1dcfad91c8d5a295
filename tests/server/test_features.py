"""The server core and its features: hooks reach every feature in order, a failing feature stops no other,
and shutdown stops what each feature started (there is no other list of parts)."""

from __future__ import annotations

from lsprotocol import types

from fireside.completion.fake_engine import FakeEngine
from fireside.lsp.app import create_server
from fireside.lsp.feature import LanguageFeature
from fireside.lsp.server import FiresideServer


class Recorder(LanguageFeature):
    def __init__(self, name: str, calls: list[str], *, fail: bool = False) -> None:
        self.name = name
        self.calls = calls
        self.fail = fail

    def _record(self, what: str) -> None:
        self.calls.append(f"{self.name}.{what}")
        if self.fail:
            raise RuntimeError(f"{self.name} broke in {what}")

    def document_closed(self, uri: str) -> None:
        self._record("document_closed")

    async def shutdown(self) -> None:
        self._record("shutdown")


async def test_every_feature_hears_every_hook_in_order_even_when_one_fails():
    calls: list[str] = []
    server = FiresideServer(lambda config: FakeEngine())
    server.use([Recorder("a", calls), Recorder("b", calls, fail=True), Recorder("c", calls)])
    server.each("document_closed", "file:///x.py")
    await server.close_session()
    await server.close_session()  # idempotent: the connection ending after shutdown stops nothing twice
    assert calls == ["a.document_closed", "b.document_closed", "c.document_closed", "a.shutdown", "b.shutdown", "c.shutdown"]
    assert server.session_closed


def test_the_composition_root_registers_each_features_methods_once():
    server = create_server(lambda config: FakeEngine())
    assert [feature.name for feature in server.features] == ["prefetch", "completion", "models", "monitor", "codeActions"]
    methods = set(server.protocol.fm.features)
    assert {
        types.TEXT_DOCUMENT_INLINE_COMPLETION, types.TEXT_DOCUMENT_COMPLETION, types.TEXT_DOCUMENT_CODE_ACTION,
        types.CODE_ACTION_RESOLVE, types.TEXT_DOCUMENT_DID_OPEN, types.SHUTDOWN, "fireside/documentInfo",
    } <= methods

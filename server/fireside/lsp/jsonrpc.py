"""JSON-RPC hardening on top of pygls' protocol.

pygls logs a traceback for a frame it cannot parse and answers nothing; JSON-RPC 2.0 asks for a
Parse error (-32700) or Invalid Request (-32600) with ``id: null``, and for Invalid params (-32602)
with the request's id when a request's params do not match its method. This class does that and
keeps reading.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

logger = logging.getLogger(__name__)

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
INVALID_PARAMS = -32602


@dataclass(frozen=True)
class _UnreadableRequest:
    """A request whose envelope was fine but whose params could not be structured."""

    id: int | str
    method: str
    error: JsonRpcException
    jsonrpc: str = "2.0"


class FiresideProtocol(LanguageServerProtocol):
    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            message_id = data.get("id")
            if isinstance(message_id, (int, str)) and isinstance(data.get("method"), str):
                return _UnreadableRequest(message_id, data["method"], error)
            raise

    def handle_message(self, message: Any) -> None:
        if isinstance(message, _UnreadableRequest):
            logger.warning("Invalid params for %s (id %s)", message.method, message.id)
            self.send_error(message.id, INVALID_PARAMS, f"Invalid params for {message.method}")
            return
        if not hasattr(message, "jsonrpc"):
            # Valid JSON that is no JSON-RPC message (an array, a number, an object without jsonrpc).
            logger.warning("Ignoring a message that is not JSON-RPC 2.0: %.200r", message)
            self.send_error(None, INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 message")
            return
        super().handle_message(message)

    def send_error(self, message_id: int | str | None, code: int, message: str) -> None:
        # A plain dict, so that ``"id": null`` is kept (the attrs converter drops None fields).
        self._send_data({"jsonrpc": "2.0", "id": message_id, "error": {"code": code, "message": message}})

    def report_unreadable_frame(self, error: BaseException) -> None:
        """Called by the server's error handler for frames that failed before reaching a handler."""
        cause = error
        while cause.__cause__ is not None and not isinstance(cause, (json.JSONDecodeError, UnicodeDecodeError)):
            cause = cause.__cause__
        if isinstance(cause, (json.JSONDecodeError, UnicodeDecodeError)):
            self.send_error(None, PARSE_ERROR, f"Parse error: {cause}")
        else:
            self.send_error(None, INVALID_REQUEST, f"Invalid Request: {error}")

    # Document sync is Fireside's own (fireside.documents): pygls' copy would re-split a large file
    # into lines on every keystroke and disagrees with LSP on what a line end is, so it is skipped.
    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams) -> Generator[Any, Any, None]:
        if (user_handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield user_handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(
        self, params: types.DidChangeTextDocumentParams
    ) -> Generator[Any, Any, None]:
        if (user_handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield user_handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams) -> Generator[Any, Any, None]:
        if (user_handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield user_handler, (params,), None

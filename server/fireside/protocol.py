"""Fireside's custom LSP methods, each declared once here and mirrored in
vscode-extension/src/protocol.ts. Standard LSP comes first: every feature works without these.
"""

from __future__ import annotations

from dataclasses import dataclass

# server → client notification: the model's state changed.
# params: {"state": "loading" | "ready" | "degraded", "model": str, "message": str}
STATUS_NOTIFICATION = "fireside/status"

# client → server request: what the server holds for a document, to verify sync.
# params: {"textDocument": {"uri": str}}
# result: {"uri", "version", "length" (code points), "lineCount", "sha256" (of the UTF-8 text)} or null
DOCUMENT_INFO_REQUEST = "fireside/documentInfo"


# server → client notification: an anomaly alert from `fireside monitor` fired or resolved.
# params: the alert (fireside.monitor.alert.Alert.to_dict): labels, status ("firing" | "resolved"),
# severity ("warning" | "error"), summary, feature, feature_description, score, threshold, value,
# query, starts_at, ends_at, generator_url (the Prometheus graph), alertname, annotations.
ALERT_NOTIFICATION = "fireside/alert"

# server → client notification: the served model changed — a new or replaced GGUF in `modelsDir`
# passed validation and was swapped in, or `fireside models rollback` named the previous one again.
# Also shown with window/showMessage.
# params: {"model": str (its name), "path": str (the GGUF file), "previous": str | null (the file
# that served before, null when it was not from the models directory), "reason"?: "rollback"}
MODEL_CHANGED_NOTIFICATION = "fireside/modelChanged"

# server → client notification: a candidate GGUF in `modelsDir` failed validation; the current model
# keeps serving. Also shown with window/showMessage.
# params: {"path": str (the rejected file), "reason": str (the failed checks, for users)}
MODEL_REJECTED_NOTIFICATION = "fireside/modelRejected"

# JSON-RPC error codes in answers to `initialize` over TCP/WebSocket (the server closes the connection
# after sending them). data: {"retry": false}.
AUTH_FAILED_ERROR = -32001  # initializationOptions.authToken missing or wrong, or the first message was not initialize
SESSION_BUSY_ERROR = -32002  # another client is connected (one client at a time)


@dataclass(frozen=True)
class StatusParams:
    state: str
    model: str
    message: str


@dataclass(frozen=True)
class DocumentInfo:
    uri: str
    version: int
    length: int
    lineCount: int  # noqa: N815 - the wire name
    sha256: str

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

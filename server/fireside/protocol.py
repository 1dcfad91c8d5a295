"""Fireside's custom LSP methods and payloads, each declared once here and mirrored in
vscode-extension/src/protocol.ts. Standard LSP comes first: every feature works without these.

Every custom payload is a dataclass below, turned into wire JSON (camelCase) and back only at the
edge, with :func:`to_wire` and :func:`from_wire` (cattrs, as jedi-language-server does); the rest of
the server handles typed objects. A payload that does not structure is a :class:`PayloadError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, is_dataclass
from typing import Any, Literal, TypeVar

import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.v import format_exception

# ----- methods ------------------------------------------------------------------------------------

# server → client notification: the model's state changed. params: StatusParams
STATUS_NOTIFICATION = "fireside/status"

# client → server request: what the server holds for a document, to verify sync.
# params: DocumentInfoParams; result: DocumentInfo, or null when the server does not hold the document
DOCUMENT_INFO_REQUEST = "fireside/documentInfo"

# server → client notification: an anomaly alert from `fireside monitor` fired or resolved.
# params: fireside.monitor.alert.Alert (its fields as they are, snake_case): labels, status ("firing" |
# "resolved"), severity ("warning" | "error"), summary, feature, feature_description, score, threshold,
# value, query, starts_at and ends_at (unix seconds; ends_at null while firing), generator_url (the
# Prometheus graph), alertname, annotations, reason ("range_break" | "shape_change" | ""), feature_value,
# expected_min, expected_max. Structured from the monitor's output once, in the server's monitor feature.
ALERT_NOTIFICATION = "fireside/alert"

# server → client notification: the served model changed — a new or replaced GGUF in `modelsDir`
# passed validation and was swapped in, or `fireside models rollback` named the previous one again.
# Also shown with window/showMessage. params: ModelChangedParams
MODEL_CHANGED_NOTIFICATION = "fireside/modelChanged"

# server → client notification: a candidate GGUF in `modelsDir` failed validation; the current model
# keeps serving. Also shown with window/showMessage. params: ModelRejectedParams
MODEL_REJECTED_NOTIFICATION = "fireside/modelRejected"

# JSON-RPC error codes in answers to `initialize` over TCP/WebSocket (the server closes the connection
# after sending them). data: {"retry": false}.
AUTH_FAILED_ERROR = -32001  # initializationOptions.authToken missing or wrong, or the first message was not initialize
SESSION_BUSY_ERROR = -32002  # another client is connected (one client at a time)


# ----- payloads -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class StatusParams:
    state: Literal["loading", "ready", "degraded"]
    model: str  # the model's name or path ("embedded" before one is known)
    message: str  # for users; why it is degraded


@dataclass(frozen=True)
class TextDocumentRef:
    uri: str


@dataclass(frozen=True)
class DocumentInfoParams:
    text_document: TextDocumentRef


@dataclass(frozen=True)
class DocumentInfo:
    uri: str
    version: int
    length: int  # code points
    line_count: int
    sha256: str  # of the UTF-8 text


@dataclass(frozen=True)
class ModelChangedParams:
    model: str  # its name
    path: str  # the GGUF file now serving
    previous: str | None  # the file that served before; None when it was not from the models directory
    reason: Literal["rollback"] | None = None  # left out of the wire when None


@dataclass(frozen=True)
class ModelRejectedParams:
    path: str  # the rejected file
    reason: str  # the failed checks, for users


# Code action `data`: the server lists an action with it and gets it back in codeAction/resolve (the
# client keeps it as it is). Structured once when the resolve arrives.
@dataclass(frozen=True)
class GenerateTestsData:
    """ "Generate Hypothesis tests for NAME" (kind source.fireside.generateTests)."""

    uri: str
    line: int  # 0-based
    name: str

    def __post_init__(self) -> None:
        _check_line(self.line)


@dataclass(frozen=True)
class DiagnosticData:
    """The diagnostic a quick fix was listed for (its range as 4 numbers: start line/character, end line/character)."""

    message: str
    range: tuple[int, int, int, int]

    def __post_init__(self) -> None:
        if any(number < 0 for number in self.range):
            raise ValueError("a range has no negative numbers")


@dataclass(frozen=True)
class ModelActionData:
    """A model action: docstring, type hints, body, quick fix (``fireside.actions.catalog.ACTIONS``)."""

    uri: str
    line: int  # 0-based
    version: int  # the document's version when listed
    action: str
    name: str | None = None  # the function or class (none for a quick fix)
    diagnostic: DiagnosticData | None = None  # a quick fix's diagnostic

    def __post_init__(self) -> None:
        _check_line(self.line)


def _check_line(line: int) -> None:
    if line < 0:
        raise ValueError("a line number is not negative")


# ----- the edge -----------------------------------------------------------------------------------
class PayloadError(ValueError):
    """A custom payload (params or code action data) that is not what its method takes."""


T = TypeVar("T")

_converter = cattrs.Converter(forbid_extra_keys=False)
_PAYLOADS = (
    StatusParams, TextDocumentRef, DocumentInfoParams, DocumentInfo, ModelChangedParams, ModelRejectedParams,
    GenerateTestsData, DiagnosticData, ModelActionData,
)


def _camel(name: str) -> str:
    return re.sub(r"_([a-z])", lambda match: match.group(1).upper(), name)


def _exact_scalars(value: Any, hint: type) -> Any:
    """No coercion of wire scalars: "3" is not a line number, 1 is not a string."""
    if hint is bool or not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise PayloadError(f"expected {hint.__name__}, got {type(value).__name__}")
    return value


for _scalar in (int, str):
    _converter.register_structure_hook(_scalar, _exact_scalars)


for _payload in _PAYLOADS:
    _renames = {field.name: override(rename=_camel(field.name)) for field in fields(_payload) if _camel(field.name) != field.name}
    _converter.register_structure_hook(_payload, make_dict_structure_fn(_payload, _converter, **_renames))
    _converter.register_unstructure_hook(
        _payload, make_dict_unstructure_fn(_payload, _converter, _cattrs_omit_if_default=_payload is ModelChangedParams, **_renames)
    )


def to_wire(payload: Any) -> dict[str, Any]:
    """A payload dataclass as wire JSON (camelCase names; ``ModelChangedParams.reason`` left out when None)."""
    assert is_dataclass(payload), payload
    return _converter.unstructure(payload)


def from_wire(kind: type[T], data: Any) -> T:
    """``data`` from the wire (a dict, or the namedtuple pygls makes of a custom request's params) as ``kind``."""
    try:
        return _converter.structure(_plain(data), kind)
    except PayloadError:
        raise
    except Exception as error:  # cattrs raises several kinds (and ClassValidationError groups); all mean "not this"
        reasons = "; ".join(cattrs.transform_error(error, format_exception=_reason)) if isinstance(error, cattrs.BaseValidationError) else str(error)
        raise PayloadError(f"not a {kind.__name__}: {reasons}") from error


def _reason(error: BaseException, kind: type | None) -> str:
    """A payload's own check says why in words (``ValueError``); cattrs says the rest."""
    if type(error) is ValueError or isinstance(error, PayloadError):
        return str(error)
    return format_exception(error, kind)


def _plain(data: Any) -> Any:
    """pygls hands custom params over as namedtuples (with ``_asdict``); make them dicts again, deeply."""
    if hasattr(data, "_asdict"):
        data = data._asdict()
    if isinstance(data, dict):
        return {key: _plain(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_plain(value) for value in data]
    return data

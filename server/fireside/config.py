"""The one typed configuration model, shared by CLI flags, initializationOptions and
workspace/didChangeConfiguration.

Values arrive as camelCase JSON (the editor) or snake_case (CLI, Python). Each field is structured and
validated on its own so that one bad value is reported and replaced by its default without throwing
away the good ones next to it.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import cattrs

LOG_LEVELS = ("debug", "info", "warning", "error")
CONTEXT_FEATURES = ("definitions", "imports", "scopes", "syntax-check")


def _positive(limit: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not 1 <= value <= limit:
            return f"must be between 1 and {limit}"
        return None

    return check


def _non_negative(limit: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not 0 <= value <= limit:
            return f"must be between 0 and {limit}"
        return None

    return check


def _one_of(choices: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"

    return check


def _subset_of(choices: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        unknown = [item for item in value if item not in choices]
        return f"has unknown entries {unknown}; known: {', '.join(choices)}" if unknown else None

    return check


def _model_path(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        return "must be a path to a .gguf file"
    return None


def _url(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        return "must be an http(s):// URL"
    return None


def _string_list(value: Any) -> str | None:
    if not all(isinstance(item, str) and item for item in value):
        return "must be a list of non-empty strings"
    return None


def _setting(default: Any, description: str, check: Callable[[Any], str | None] | None = None, **kw: Any) -> Any:
    metadata = {"description": description, "check": check}
    if callable(default):
        return field(default_factory=default, metadata=metadata, **kw)
    return field(default=default, metadata=metadata, **kw)


@dataclass(frozen=True)
class FiresideConfig:
    """Every setting the server understands. The VS Code extension's package.json mirrors these."""

    model_path: str | None = _setting(
        None, "Path to a GGUF model file. Empty: the embedded Gemma 3 270M (Q4_K_M).", _model_path
    )
    context_size: int = _setting(4096, "Model context window in tokens.", _positive(131072))
    max_tokens: int = _setting(64, "Most tokens generated for one completion.", _positive(1024))
    max_prompt_tokens: int = _setting(
        1024, "Most prompt tokens (the text around the cursor) given to the model.", _positive(131072)
    )
    threads: int = _setting(
        0, "CPU threads for the model; 0 picks one less than the cores (at most 8).", _non_negative(256)
    )
    debounce_ms: int = _setting(
        50, "Milliseconds to wait after a keystroke before asking the model.", _non_negative(5000)
    )
    enabled_languages: tuple[str, ...] = _setting(
        lambda: ("python",), "Language ids Fireside completes in.", _string_list
    )
    context_features: tuple[str, ...] = _setting(
        lambda: CONTEXT_FEATURES,
        "What the prompt may use besides the text around the cursor: `definitions` (from other workspace files), "
        "`imports`, `scopes` (enclosing signatures), and `syntax-check` (drop completions that break a file "
        "that parsed). Remove one to switch it off.",
        _subset_of(CONTEXT_FEATURES),
    )
    log_level: str = _setting("info", "Server log level.", _one_of(LOG_LEVELS))
    prometheus_url: str | None = _setting(
        None, "Prometheus to watch for anomalies (`fireside monitor` runs beside the server). Empty: off.", _url
    )
    alertmanager_url: str | None = _setting(None, "Alertmanager that receives the anomaly alerts. Empty: none.", _url)
    monitor_queries: tuple[str, ...] = _setting(
        lambda: (), "PromQL queries to watch (empty: the monitor's defaults or its config file).", _string_list
    )
    monitor_config: str | None = _setting(None, "A `fireside monitor` config file.", _model_path)
    max_file_size: int = _setting(
        2_000_000, "Documents larger than this many characters get no completions.", _positive(100_000_000)
    )

    def replace(self, **changes: Any) -> FiresideConfig:
        return dataclasses.replace(self, **changes)

    @property
    def effective_threads(self) -> int:
        # llama.cpp's threads spin while they wait for each other: when another process takes one
        # of them, a token can cost 50x more (measured here: 2 threads on 2 busy cores). One core is
        # left for the editor and its other servers.
        return self.threads or min(8, max(1, (os.cpu_count() or 1) - 1))


@dataclass(frozen=True)
class ConfigProblem:
    setting: str
    value: Any
    reason: str

    def __str__(self) -> str:
        return f"{self.setting}={self.value!r} {self.reason}; using the default"


_converter = cattrs.Converter(forbid_extra_keys=True)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


_HINTS = typing.get_type_hints(FiresideConfig)
SETTING_NAMES: dict[str, str] = {_camel(f.name): f.name for f in dataclasses.fields(FiresideConfig)}


def setting_descriptions() -> dict[str, dict[str, Any]]:
    """camelCase name → default and description; the extension's package.json is checked against it."""
    defaults = FiresideConfig()
    return {
        _camel(f.name): {"default": getattr(defaults, f.name), "description": f.metadata["description"]}
        for f in dataclasses.fields(FiresideConfig)
    }


def merge_config(
    base: FiresideConfig, raw: Mapping[str, Any] | None
) -> tuple[FiresideConfig, list[ConfigProblem]]:
    """Apply settings from ``raw`` (camelCase or snake_case keys) on top of ``base``.

    Returns the new config and the problems found; a problematic value falls back to the
    default of that setting, never to a crash.
    """
    if raw is None:
        return base, []
    if not isinstance(raw, Mapping):
        return base, [ConfigProblem("settings", raw, "must be an object")]
    fields = {f.name: f for f in dataclasses.fields(FiresideConfig)}
    defaults = FiresideConfig()
    changes: dict[str, Any] = {}
    problems: list[ConfigProblem] = []
    for key, value in raw.items():
        name = SETTING_NAMES.get(key, key)
        spec = fields.get(name)
        if spec is None:
            problems.append(ConfigProblem(key, value, "is not a Fireside setting (ignored)"))
            continue
        if name in ("model_path", "prometheus_url", "alertmanager_url", "monitor_config") and value in ("", None):
            changes[name] = None  # empty means "the default" (the embedded model; no monitor)
            continue
        try:
            typed = _converter.structure(value, _HINTS[name])
            if isinstance(value, bool) and not isinstance(getattr(defaults, name), bool):
                raise TypeError("a boolean is not a number")
            if isinstance(typed, tuple) and isinstance(value, str):
                raise TypeError("expected a list")
        except Exception:  # cattrs raises several kinds; all mean "wrong type"
            problems.append(ConfigProblem(_camel(name), value, f"has the wrong type ({_type_name(spec)})"))
            changes[name] = getattr(defaults, name)
            continue
        reason = spec.metadata["check"](typed) if spec.metadata.get("check") else None
        if reason:
            problems.append(ConfigProblem(_camel(name), value, reason))
            changes[name] = getattr(defaults, name)
            continue
        changes[name] = typed
    return base.replace(**changes), problems


def _type_name(spec: dataclasses.Field[Any]) -> str:
    return {"int": "a whole number", "str": "a string", "str | None": "a string", "tuple[str, ...]": "a list of strings"}.get(
        str(spec.type), str(spec.type)
    )

"""The machinery behind Fireside's typed settings (the server's config and the monitor's).

A settings class is a frozen dataclass whose fields are declared with :func:`setting` (a default, a
description, an optional check). :func:`merge_settings` structures each value on its own with cattrs,
so that one bad value is reported and replaced by its default without losing the good ones next to it.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import cattrs

Check = Callable[[Any], "str | None"]
S = TypeVar("S")

_converter = cattrs.Converter(forbid_extra_keys=True)


@dataclass(frozen=True)
class ConfigProblem:
    setting: str
    value: Any
    reason: str

    def __str__(self) -> str:
        return f"{self.setting}={self.value!r} {self.reason}; using the default"


def setting(default: Any, description: str, check: Check | None = None) -> Any:
    """A settings field; a callable default is a factory."""
    metadata = {"description": description, "check": check}
    if callable(default):
        return field(default_factory=default, metadata=metadata)
    return field(default=default, metadata=metadata)


# ----- checks ---------------------------------------------------------------------------------
def between(low: float, high: float) -> Check:
    def check(value: Any) -> str | None:
        return None if low <= value <= high else f"must be between {low} and {high}"

    return check


def one_of(choices: tuple[str, ...]) -> Check:
    def check(value: Any) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"

    return check


def subset_of(choices: tuple[str, ...]) -> Check:
    def check(value: Any) -> str | None:
        unknown = [item for item in value if item not in choices]
        return f"has unknown entries {unknown}; known: {', '.join(choices)}" if unknown else None

    return check


def http_url(value: Any) -> str | None:
    if value is None:
        return None
    return None if value.startswith(("http://", "https://")) else "must be an http(s):// URL"


def non_empty_path(value: Any) -> str | None:
    return None if value is None or value.strip() else "must be a path"


def string_list(value: Any) -> str | None:
    return None if all(isinstance(item, str) and item.strip() for item in value) else "must be a list of non-empty strings"


# ----- merging --------------------------------------------------------------------------------
_TYPE_NAMES = {int: "a whole number", float: "a number", str: "a string", str | None: "a string",
               tuple[str, ...]: "a list of strings"}


def _wrong_type(value: Any, hint: Any) -> bool:
    """Values cattrs would coerce but a user did not mean: True for 1 or "no", "12" for 12, "a" for ["a"]."""
    if hint is bool:
        return not isinstance(value, bool)
    if isinstance(value, bool):
        return hint is not bool
    if isinstance(value, str):
        return hint in (int, float) or hint == tuple[str, ...]
    return False


def merge_settings(
    base: S, raw: Mapping[str, Any] | None, *, field_name: Callable[[str], str], shown_name: Callable[[str], str]
) -> tuple[S, list[ConfigProblem]]:
    """Apply ``raw`` on top of ``base`` (a settings dataclass instance).

    ``field_name`` maps a raw key to a field name (camelCase or kebab-case spellings); ``shown_name``
    spells a field for messages. An empty string or null for an optional field means its default.
    A problematic value falls back to that setting's default, never to a crash.
    """
    if raw is None:
        return base, []
    if not isinstance(raw, Mapping):
        return base, [ConfigProblem("settings", raw, "must be an object")]
    cls = type(base)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    defaults = cls()
    changes: dict[str, Any] = {}
    problems: list[ConfigProblem] = []
    for key, value in raw.items():
        name = field_name(key)
        spec = fields.get(name)
        if spec is None:
            problems.append(ConfigProblem(key, value, "is not a setting here (ignored)"))
            continue
        hint = hints[name]
        if value in ("", None) and type(None) in typing.get_args(hint):
            changes[name] = None
            continue
        try:
            if _wrong_type(value, hint):
                raise TypeError(f"{value!r} for {hint}")
            typed = _converter.structure(value, hint)
        except Exception:  # cattrs raises several kinds; all mean "wrong type"
            reason = f"has the wrong type (expected {_TYPE_NAMES.get(hint, str(hint))})"
            problems.append(ConfigProblem(shown_name(name), value, reason))
            changes[name] = getattr(defaults, name)
            continue
        check = spec.metadata.get("check")
        reason = check(typed) if check else None
        if reason:
            problems.append(ConfigProblem(shown_name(name), value, reason))
            changes[name] = getattr(defaults, name)
            continue
        changes[name] = typed
    return dataclasses.replace(base, **changes), problems  # type: ignore[type-var]

"""`fireside monitor` settings: one frozen dataclass, loaded from a TOML file and CLI flags.

Each value is structured (cattrs) and checked on its own; a bad one is reported once and replaced
by its default, so one typo never stops the worker.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cattrs

# The editor settings' problem type and checks, so both report bad values the same way.
from fireside.config import ConfigProblem, _one_of
from fireside.monitor.alert_state import AlertRule
from fireside.monitor.detector import DetectorSettings

OUTPUT_MODES = ("text", "jsonl")


def _default_model_dir() -> str:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "fireside", "monitor-models")


def _url(value: Any) -> str | None:
    if value is None:
        return None
    return None if value.startswith(("http://", "https://")) else "must start with http:// or https://"


def _between(low: float, high: float) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if low <= value <= high else f"must be between {low} and {high}"

    return check


def _queries(value: Any) -> str | None:
    return None if all(isinstance(q, str) and q.strip() for q in value) else "must be a list of PromQL queries"


def _setting(default: Any, description: str, check: Callable[[Any], str | None] | None = None) -> Any:
    metadata = {"description": description, "check": check}
    if callable(default):
        return field(default_factory=default, metadata=metadata)
    return field(default=default, metadata=metadata)


DAY = 86_400.0


@dataclass(frozen=True)
class MonitorConfig:
    prometheus_url: str | None = _setting(None, "Prometheus base URL, e.g. http://127.0.0.1:9090.", _url)
    alertmanager_url: str | None = _setting(None, "Alertmanager base URL; unset: alerts are only printed.", _url)
    queries: tuple[str, ...] = _setting(tuple, "PromQL queries to watch; every series they return gets a model.",
                                        _queries)
    step_seconds: float = _setting(60.0, "Resolution of the series, in seconds.", _between(1, 86_400))
    history_seconds: float = _setting(8 * DAY, "History pulled to train a new model.", _between(60, 400 * DAY))
    train_points: int = _setting(4032, "Rolling training window, in points.", _between(50, 1_000_000))
    min_train_points: int = _setting(120, "Fewer usable points than this: no model yet.", _between(20, 1_000_000))
    retrain_interval_seconds: float = _setting(DAY, "How often each model is retrained.",
                                               _between(60, 30 * DAY))
    interval_seconds: float = _setting(60.0, "Seconds between scoring cycles.", _between(1, DAY))
    score_window_seconds: float = _setting(3600.0, "With --once: how much recent data is scored.",
                                           _between(60, 30 * DAY))
    threshold: float = _setting(0.999, "Calibrated score at which a series goes pending.", _between(0.5, 1))
    resolve_threshold: float = _setting(0.99, "Score below which a firing alert starts resolving (hysteresis).",
                                        _between(0, 1))
    error_threshold: float = _setting(0.99999, "Score at or above which severity is error, not warning.",
                                      _between(0.5, 1))
    for_seconds: float = _setting(0.0, "How long a series stays pending before it fires.", _between(0, DAY))
    resolve_for_seconds: float = _setting(300.0, "How long the score stays low before an alert resolves.",
                                          _between(0, DAY))
    stale_after_seconds: float = _setting(900.0, "A series with no point for this long has vanished.",
                                          _between(60, 30 * DAY))
    resend_seconds: float = _setting(60.0, "Firing alerts are re-sent to Alertmanager this often.",
                                     _between(1, 3600))
    model_dir: str = _setting(_default_model_dir, "Where trained models are kept (joblib files).")
    metrics_port: int = _setting(0, "Port of the worker's own /metrics endpoint; 0: off.", _between(0, 65535))
    metrics_host: str = _setting("127.0.0.1", "Address the /metrics endpoint listens on.")
    output: str = _setting("text", "What the worker prints: text lines, or JSON lines for the editor.",
                           _one_of(OUTPUT_MODES))

    def replace(self, **changes: Any) -> MonitorConfig:
        return dataclasses.replace(self, **changes)

    @property
    def rule(self) -> AlertRule:
        return AlertRule(
            threshold=self.threshold,
            resolve_threshold=min(self.resolve_threshold, self.threshold),
            for_seconds=self.for_seconds,
            resolve_for_seconds=self.resolve_for_seconds,
            error_threshold=self.error_threshold,
        )

    @property
    def detector_settings(self) -> DetectorSettings:
        return DetectorSettings(train_points=self.train_points, min_train_points=self.min_train_points)


_converter = cattrs.Converter(forbid_extra_keys=True)
_HINTS = typing.get_type_hints(MonitorConfig)
_FIELDS = {f.name: f for f in dataclasses.fields(MonitorConfig)}


def merge_config(base: MonitorConfig, raw: Mapping[str, Any]) -> tuple[MonitorConfig, list[ConfigProblem]]:
    """Apply ``raw`` (snake_case or kebab-case keys) on top of ``base``; bad values fall back to
    the default of that setting and are returned as problems."""
    defaults = MonitorConfig()
    changes: dict[str, Any] = {}
    problems: list[ConfigProblem] = []
    for key, value in raw.items():
        name = key.replace("-", "_")
        spec = _FIELDS.get(name)
        if spec is None:
            problems.append(ConfigProblem(key, value, "is not a monitor setting (ignored)"))
            continue
        try:
            if isinstance(value, bool) or (isinstance(value, str) and _HINTS[name] in (int, float)):
                raise TypeError("wrong scalar type")
            if isinstance(value, str) and name == "queries":
                raise TypeError("expected a list")
            typed = _converter.structure(value, _HINTS[name])
        except Exception:  # cattrs raises several kinds; all mean "wrong type"
            problems.append(ConfigProblem(name, value, f"has the wrong type (expected {spec.type})"))
            changes[name] = getattr(defaults, name)
            continue
        check = spec.metadata.get("check")
        reason = check(typed) if check else None
        if reason:
            problems.append(ConfigProblem(name, value, reason))
            changes[name] = getattr(defaults, name)
            continue
        changes[name] = typed
    return base.replace(**changes), problems


def load_config_file(path: Path) -> tuple[dict[str, Any], list[ConfigProblem]]:
    """The raw table of a TOML config file (top level, or its [monitor] table)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return {}, [ConfigProblem(str(path), None, f"could not be read ({exc})")]
    table = data.get("monitor", data)
    if not isinstance(table, dict):
        return {}, [ConfigProblem(str(path), None, "has no [monitor] table")]
    return table, []

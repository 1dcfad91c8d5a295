"""`fireside monitor` settings: one frozen dataclass, loaded from a TOML file and CLI flags.

Each value is structured (cattrs) and checked on its own; a bad one is reported once and replaced
by its default, so one typo never stops the worker.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The editor settings' problem type and checks, so both report bad values the same way.
from fireside.settings import ConfigProblem, between, http_url, merge_settings, one_of, setting, string_list
from fireside.monitor.alert_state import AlertRule
from fireside.monitor.detector import DetectorSettings

OUTPUT_MODES = ("text", "jsonl")


def _default_model_dir() -> str:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "fireside", "monitor-models")


DAY = 86_400.0


HOUR = 3600.0


@dataclass(frozen=True)
class MonitorConfig:
    prometheus_url: str | None = setting(None, "Prometheus base URL, e.g. http://127.0.0.1:9090.", http_url)
    alertmanager_url: str | None = setting(None, "Alertmanager base URL; unset: alerts are only printed.", http_url)
    queries: tuple[str, ...] = setting(tuple, "PromQL queries to watch; every series they return gets a model.",
                                        string_list)
    insecure: bool = setting(False, "Skip TLS certificate verification for Prometheus and Alertmanager (warned).")
    step_seconds: float = setting(60.0, "Resolution of the series, in seconds.", between(1, 86_400))
    history_seconds: float = setting(8 * DAY, "History pulled when a series is first seen.", between(60, 400 * DAY))
    max_series: int = setting(1000, "At most this many series per query; newer ones are skipped (one warning).",
                              between(1, 1_000_000))
    max_response_bytes: int = setting(64 * 1024 * 1024, "Largest Prometheus response read; series past it are "
                                      "skipped (one warning).", between(1024, 4 * 1024**3))
    range_window_seconds: float = setting(14 * DAY, "Range break: the trailing window whose range a value must "
                                          "leave.", between(60, 400 * DAY))
    train_window_seconds: float = setting(3 * DAY, "Shape model: the trailing window it is trained on.",
                                          between(60, 100 * DAY))
    retrain_interval_seconds: float = setting(DAY, "How often each shape model is retrained.", between(60, 30 * DAY))
    min_history_seconds: float = setting(DAY, "No alerts before a series has this much history.",
                                         between(0, 30 * DAY))
    season_days: int = setting(7, "Compare with the same time of day on this many earlier days (0: off; "
                               "costs one day of points per day kept, per series).", between(0, 28))
    interval_seconds: float = setting(60.0, "Seconds between scoring cycles.", between(1, DAY))
    score_window_seconds: float = setting(3600.0, "Alerts are raised for points this recent when a series is "
                                          "first seen (with --once: the window scored).", between(1, 30 * DAY))
    threshold: float = setting(0.5, "Anomaly score at which a series goes pending (0.5: the evidence the detector "
                               "was tuned for).", between(0.05, 0.999))
    resolve_threshold: float = setting(0.4, "Score below which a firing alert starts resolving (hysteresis).",
                                        between(0, 1))
    error_threshold: float = setting(0.9, "Score at or above which severity is error, not warning.",
                                      between(0.05, 1))
    for_seconds: float = setting(0.0, "How long a series stays pending before it fires.", between(0, DAY))
    resolve_for_seconds: float = setting(300.0, "How long the score stays low before an alert resolves.",
                                          between(0, DAY))
    suppress_seconds: float = setting(12 * HOUR, "After an alert fires, the series cannot fire again for this "
                                      "long: one episode, one alert.", between(0, 30 * DAY))
    stale_after_seconds: float = setting(900.0, "A series with no point for this long has vanished.",
                                          between(60, 30 * DAY))
    model_retention_seconds: float = setting(7 * DAY, "Saved models of series gone this long are deleted.",
                                             between(60, 400 * DAY))
    resend_seconds: float = setting(60.0, "Firing alerts are re-sent to Alertmanager this often.",
                                     between(1, 3600))
    model_dir: str = setting(_default_model_dir, "Where trained models are kept (joblib files).")
    metrics_port: int = setting(0, "Port of the worker's own /metrics endpoint; 0: off.", between(0, 65535))
    metrics_host: str = setting("127.0.0.1", "Address the /metrics endpoint listens on.")
    output: str = setting("text", "What the worker prints: text lines, or JSON lines for the editor.",
                           one_of(OUTPUT_MODES))

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
            suppress_seconds=self.suppress_seconds,
        )

    @property
    def detector_settings(self) -> DetectorSettings:
        return DetectorSettings(
            range_window_seconds=self.range_window_seconds,
            train_window_seconds=self.train_window_seconds,
            refit_interval_seconds=self.retrain_interval_seconds,
            min_history_seconds=self.min_history_seconds,
            season_days=self.season_days,
        )


def merge_config(base: MonitorConfig, raw: Mapping[str, Any]) -> tuple[MonitorConfig, list[ConfigProblem]]:
    """Apply ``raw`` (snake_case or kebab-case keys) on top of ``base``; bad values fall back to
    the default of that setting and are returned as problems."""
    return merge_settings(base, raw, field_name=lambda key: key.replace("-", "_"), shown_name=lambda name: name)


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

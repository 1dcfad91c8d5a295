"""The alert payload: what the worker prints, pushes to Alertmanager and hands to the editor."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Severity = Literal["warning", "error"]
AlertStatus = Literal["firing", "resolved"]

ALERTNAME = "FiresideAnomaly"


def iso_utc(timestamp: float) -> str:
    """RFC 3339 with a Z suffix, as Alertmanager's API expects."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Alert:
    """One anomaly alert for one series.

    ``labels`` are the series' own labels (``__name__`` included when present); together with
    ``alertname`` they identify the alert, so they never change while it fires.
    """

    labels: dict[str, str]
    status: AlertStatus
    severity: Severity
    summary: str
    feature: str  # the feature that drove the score, e.g. "mean16", "season"
    feature_description: str  # why, in words, e.g. "value 523 above its 14-day range 100–480"
    score: float  # anomaly score in [0, 1); `threshold` (0.5 by default) is where evidence suffices
    threshold: float
    value: float | None  # the series' value at the point that fired
    query: str
    starts_at: float  # unix seconds
    ends_at: float | None  # unix seconds; None while firing (the Alertmanager lease is set on send)
    generator_url: str
    alertname: str = ALERTNAME
    annotations: dict[str, str] = field(default_factory=dict)
    # Added with the range/shape detector; defaults keep older payloads readable.
    reason: str = ""  # "range_break" or "shape_change"
    feature_value: float | None = None  # the feature's value (e.g. the 16-point mean)
    expected_min: float | None = None  # the range it was expected in
    expected_max: float | None = None

    @property
    def fingerprint(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(self.alertmanager_labels().items()))

    def alertmanager_labels(self) -> dict[str, str]:
        # Prometheus' own name label is not a valid Alertmanager label name; keep it as `metric`.
        labels = {("metric" if k == "__name__" else k): v for k, v in self.labels.items()}
        labels["alertname"] = self.alertname
        return labels

    def to_alertmanager(self, lease_until: float) -> dict[str, Any]:
        """The body item for ``POST /api/v2/alerts``; ``lease_until`` is used while firing."""
        ends = self.ends_at if self.status == "resolved" and self.ends_at is not None else lease_until
        return {
            "labels": self.alertmanager_labels(),
            "annotations": {
                "summary": self.summary,
                "feature": self.feature,
                "description": self.feature_description,
                "score": f"{self.score:.6f}",
                "severity": self.severity,
                "query": self.query,
                **self._evidence(),
                **self.annotations,
            },
            "startsAt": iso_utc(self.starts_at),
            "endsAt": iso_utc(ends),
            "generatorURL": self.generator_url,
        }

    def _evidence(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.reason:
            out["reason"] = self.reason
        if self.value is not None:
            out["value"] = f"{self.value:.6g}"
        if self.expected_min is not None and self.expected_max is not None:
            out["expected_range"] = f"{self.expected_min:.6g} to {self.expected_max:.6g}"
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON-lines/editor payload (``fireside/alert`` params)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def resolved(self, at: float) -> Alert:
        return dataclasses.replace(self, status="resolved", ends_at=at)

    def one_line(self) -> str:
        """What `fireside monitor` prints in text mode."""
        series = ",".join(f'{k}="{v}"' for k, v in sorted(self.labels.items()))
        when = iso_utc(self.ends_at if self.status == "resolved" and self.ends_at else self.starts_at)
        return (
            f"{self.status.upper():8} {self.severity:7} {when} {{{series}}} "
            f"score={self.score:.4f} {self.feature_description}"
        )

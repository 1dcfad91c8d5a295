"""Each series' detector and alert state on disk (joblib), one file per series, so a restarted
worker carries on where it stopped instead of relearning, and still knows which alerts fire.

A file that cannot be loaded (corrupt, truncated, from another version or other settings) is
removed and reported; the caller starts that series afresh. Files of series gone for longer than
the retention period are deleted by :meth:`ModelStore.sweep`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import joblib

from fireside.monitor.alert import Alert
from fireside.monitor.alert_state import AlertState
from fireside.monitor.detector import MODEL_VERSION, DetectorSettings, SeriesDetector

log = logging.getLogger(__name__)

SUFFIX = ".joblib"


def series_id(query: str, labels: dict[str, str]) -> str:
    """A stable file name for one series of one query."""
    text = query + "\0" + "\0".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass
class SavedSeries:
    detector: SeriesDetector
    state: AlertState
    alert: Alert | None  # the firing alert that was announced, if any


class ModelStore:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory).expanduser()

    def path(self, key: str) -> Path:
        return self.directory / f"{key}{SUFFIX}"

    def save(self, key: str, saved: SavedSeries) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a crash mid-write never leaves a half file under the real name.
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        os.close(fd)
        try:
            joblib.dump(saved, tmp)
            os.replace(tmp, self.path(key))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load(self, key: str, step_seconds: float, settings: DetectorSettings | None = None) -> SavedSeries | None:
        path = self.path(key)
        if not path.exists():
            return None
        try:
            saved = joblib.load(path)
            if not isinstance(saved, SavedSeries) or not isinstance(saved.detector, SeriesDetector) \
                    or saved.detector.version != MODEL_VERSION:
                raise ValueError("not a current fireside model")
            if saved.detector.step_seconds != step_seconds:
                raise ValueError(f"trained for step {saved.detector.step_seconds}s, not {step_seconds}s")
            if settings is not None and saved.detector.settings != settings:
                raise ValueError("trained with other detector settings")
        except Exception as exc:  # unpickling can raise nearly anything on a damaged file
            log.warning("model file %s is unusable (%s); that series starts afresh", path, exc)
            path.unlink(missing_ok=True)
            return None
        return saved

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def sweep(self, keep: set[str], older_than: float, now: float | None = None) -> list[str]:
        """Delete the files of series not in ``keep`` untouched for ``older_than`` seconds."""
        now = time.time() if now is None else now
        deleted = []
        if not self.directory.is_dir():
            return deleted
        for path in self.directory.glob(f"*{SUFFIX}"):
            key = path.name[: -len(SUFFIX)]
            try:
                if key not in keep and now - path.stat().st_mtime > older_than:
                    path.unlink()
                    deleted.append(key)
            except OSError:
                continue  # removed meanwhile, or not ours to touch
        return deleted

"""Trained detectors on disk (joblib), one file per series, so models survive restarts.

A file that cannot be loaded (corrupt, truncated, from another version) is removed and reported;
the caller retrains instead of failing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import joblib

from fireside.monitor.detector import MODEL_VERSION, Detector

log = logging.getLogger(__name__)


def series_id(query: str, labels: dict[str, str]) -> str:
    """A stable file name for one series of one query."""
    text = query + "\0" + "\0".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class ModelStore:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory).expanduser()

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.joblib"

    def save(self, key: str, detector: Detector) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a crash mid-write never leaves a half file under the real name.
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        os.close(fd)
        try:
            joblib.dump(detector, tmp)
            os.replace(tmp, self.path(key))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load(self, key: str, step_seconds: float) -> Detector | None:
        path = self.path(key)
        if not path.exists():
            return None
        try:
            detector = joblib.load(path)
            if not isinstance(detector, Detector) or detector.version != MODEL_VERSION:
                raise ValueError("not a current fireside detector")
            if detector.step_seconds != step_seconds:
                raise ValueError(f"trained for step {detector.step_seconds}s, not {step_seconds}s")
            if not detector.ready:
                raise ValueError("holds no trained model")
        except Exception as exc:  # unpickling can raise nearly anything on a damaged file
            log.warning("model file %s is unusable (%s); it will be retrained", path, exc)
            path.unlink(missing_ok=True)
            return None
        return detector

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

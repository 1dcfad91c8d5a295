"""What a models directory holds: the active model, the previous one (for rollback), rejections.

State lives in ``DIR/.fireside/models.json``, written atomically (a temporary file renamed over it),
so a crash mid-write never loses it and a server watching the directory never reads half of it.
A rejection remembers the file's fingerprint (size and mtime): the same bytes are not re-validated,
a changed file is.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

STATE_DIR = ".fireside"
STATE_FILE = "models.json"
MODEL_SUFFIX = ".gguf"


def fingerprint(path: Path) -> str:
    status = path.stat()
    return f"{status.st_size}:{status.st_mtime_ns}"


def is_candidate_name(name: str) -> bool:
    """A finished model's name: ``*.gguf``, not hidden, not a download or copy in progress."""
    return name.endswith(MODEL_SUFFIX) and not name.startswith(".") and not name.startswith("~")


@dataclass(frozen=True)
class Rejection:
    reason: str
    fingerprint: str


@dataclass
class RegistryState:
    active: str | None = None  # file names inside the directory
    previous: str | None = None
    active_fingerprint: str | None = None
    rejected: dict[str, Rejection] = field(default_factory=dict)


class ModelRegistry:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.state_path = directory / STATE_DIR / STATE_FILE

    def load(self) -> RegistryState:
        try:
            raw = json.loads(self.state_path.read_text("utf-8"))
        except FileNotFoundError:
            return RegistryState()
        except (OSError, ValueError) as error:
            logger.warning("models registry %s unreadable (%s); starting afresh", self.state_path, error)
            return RegistryState()
        rejected = {
            str(name): Rejection(str(item.get("reason", "")), str(item.get("fingerprint", "")))
            for name, item in (raw.get("rejected") or {}).items()
            if isinstance(item, dict)
        }
        return RegistryState(raw.get("active"), raw.get("previous"), raw.get("active_fingerprint"), rejected)

    def save(self, state: RegistryState) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.state_path.parent, prefix=".models.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(asdict(state), file, indent=2, sort_keys=True)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.state_path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def installed(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(path for path in self.directory.iterdir() if is_candidate_name(path.name) and path.is_file())

    # ----- transitions ----------------------------------------------------------------------------
    def activate(self, name: str) -> RegistryState:
        state = self.load()
        if state.active != name:
            state.previous = state.active
        state.active = name
        path = self.directory / name
        state.active_fingerprint = fingerprint(path) if path.exists() else None
        state.rejected.pop(name, None)
        self.save(state)
        return state

    def reject(self, name: str, reason: str, print_: str) -> RegistryState:
        state = self.load()
        state.rejected[name] = Rejection(reason, print_)
        self.save(state)
        return state

    def rollback(self) -> RegistryState:
        """Make the previous model active again (and the current one the previous)."""
        state = self.load()
        if state.previous is None:
            raise LookupError("no previous model to roll back to")
        if not (self.directory / state.previous).is_file():
            raise LookupError(f"the previous model {state.previous} is no longer in {self.directory}")
        state.active, state.previous = state.previous, state.active
        state.active_fingerprint = fingerprint(self.directory / state.active)
        self.save(state)
        return state

    def active_path(self) -> Path | None:
        state = self.load()
        if state.active and (self.directory / state.active).is_file():
            return self.directory / state.active
        return None

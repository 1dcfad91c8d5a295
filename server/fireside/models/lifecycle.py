"""Watch a models directory; validate new or replaced GGUF files in the background; report verdicts.

A file is only looked at once it has settled: no filesystem event for ``settle_s`` and the same size
and mtime before and after that wait, so a copy in progress is not taken early. Temporary names
(``*.part``, ``*.tmp``, hidden files) are never candidates: renaming a finished download to ``.gguf``
is the clean way to publish one. A file that still fails to load is rejected with its fingerprint and
re-validated when it changes again.

Verdicts go to callbacks (called on the lifecycle thread); the language server turns them into a swap
on the completion worker and a message to the user. Rollback (``fireside models rollback``) rewrites
the registry, which is watched too: ``on_activate`` then names the model to serve again.

Each candidate is validated in a child process under time and memory limits
(:func:`fireside.models.validation.validate_isolated`). A validation in progress is cancelled (its
process group killed) when its file changes again — it is then validated afresh once it settles — and
when the lifecycle stops.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from fireside.models.registry import STATE_DIR, STATE_FILE, ModelRegistry, fingerprint, is_candidate_name
from fireside.models.validation import ValidationCancelled, ValidationReport, validate_isolated

Validate = Callable[[Path, float, threading.Event], ValidationReport]

logger = logging.getLogger(__name__)

SETTLE_S = 2.0


@dataclass(frozen=True)
class Verdict:
    path: Path
    report: ValidationReport
    previous: str | None  # the model file that served before (None: one from outside the directory)


class ModelLifecycle:
    def __init__(
        self,
        directory: Path,
        *,
        latency_budget_ms: float,
        on_accepted: Callable[[Verdict], None],
        on_rejected: Callable[[Verdict], None],
        on_activate: Callable[[Path], None],
        settle_s: float = SETTLE_S,
        validate: Validate | None = None,
    ) -> None:
        self.directory = directory
        self.registry = ModelRegistry(directory)
        self._budget_ms = latency_budget_ms
        self._on_accepted = on_accepted
        self._on_rejected = on_rejected
        self._on_activate = on_activate
        self._settle_s = settle_s
        self._validate: Validate = validate or (
            lambda path, budget, cancel: validate_isolated(path, latency_budget_ms=budget, cancel=cancel)
        )
        self._validating: tuple[str, threading.Event] | None = None  # the file being validated, and its cancel
        self._pending: dict[str, float] = {}  # file name -> time of its last event
        self._registry_changed = False
        self._wake = threading.Condition()
        self._stopped = False
        self._observer: Observer | None = None
        self._thread: threading.Thread | None = None
        self.serving: str | None = None  # the file name being served, from the server's point of view

    # ----- start / stop -----------------------------------------------------------------------------
    def start(self) -> Path | None:
        """Start watching; returns the registry's active model (to serve at start), if any."""
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / STATE_DIR).mkdir(exist_ok=True)
        active = self.registry.active_path()
        self.serving = active.name if active else None
        state = self.registry.load()
        for path in self.registry.installed():  # what arrived while no server watched
            rejection = state.rejected.get(path.name)
            if path.name == state.active and state.active_fingerprint == fingerprint(path):
                continue
            if rejection is not None and rejection.fingerprint == fingerprint(path):
                continue
            self._pending[path.name] = 0.0
        handler = _Events(self)
        self._observer = Observer()
        self._observer.schedule(handler, str(self.directory), recursive=False)
        self._observer.schedule(handler, str(self.directory / STATE_DIR), recursive=False)
        self._observer.start()
        self._thread = threading.Thread(target=self._work, name="fireside-models", daemon=True)
        self._thread.start()
        logger.info("watching %s for models (active: %s)", self.directory, self.serving or "none from this directory")
        return active

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            if self._validating is not None:
                self._validating[1].set()  # kills the validation's process group
            self._wake.notify_all()
        if self._observer is not None:
            self._observer.stop()

    # ----- events (watchdog's thread) ---------------------------------------------------------------
    def _touched(self, path: str) -> None:
        candidate = Path(path)
        if candidate.parent == self.directory / STATE_DIR:
            if candidate.name == STATE_FILE:
                with self._wake:
                    self._registry_changed = True
                    self._wake.notify_all()
            return
        if candidate.parent != self.directory or not is_candidate_name(candidate.name):
            return
        with self._wake:
            self._pending[candidate.name] = time.monotonic()
            if self._validating is not None and self._validating[0] == candidate.name:
                self._validating[1].set()  # the bytes being checked are changing: check them again once settled
            self._wake.notify_all()

    # ----- the lifecycle thread ---------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._wake:
                while not self._stopped and not self._registry_changed and not self._due():
                    self._wake.wait(timeout=self._settle_s / 4 if self._pending else None)
                if self._stopped:
                    return
                registry_changed, self._registry_changed = self._registry_changed, False
                due = [name for name, when in self._pending.items() if time.monotonic() - when >= self._settle_s]
                for name in due:
                    del self._pending[name]
            try:
                if registry_changed:
                    self._follow_registry()
                for name in due:
                    self._consider(self.directory / name)
            except Exception:  # the watcher must outlive any one bad file
                logger.exception("models directory: checking failed")

    def _due(self) -> bool:
        now = time.monotonic()
        return any(now - when >= self._settle_s for when in self._pending.values())

    def _follow_registry(self) -> None:
        active = self.registry.active_path()
        if active is not None and active.name != self.serving:
            logger.info("models registry now names %s as active", active.name)
            self.serving = active.name
            self._on_activate(active)

    def _consider(self, path: Path) -> None:
        try:
            before = fingerprint(path)
        except FileNotFoundError:
            return  # deleted or renamed away meanwhile
        time.sleep(min(0.5, self._settle_s))  # one more look: is anything still writing it?
        try:
            if fingerprint(path) != before:
                self._requeue(path.name)
                return
        except FileNotFoundError:
            return
        state = self.registry.load()
        if path.name == state.active and state.active_fingerprint == before:
            return  # e.g. touched by the registry's own activate
        rejection = state.rejected.get(path.name)
        if rejection is not None and rejection.fingerprint == before:
            return
        logger.info("validating candidate model %s", path.name)
        cancel = threading.Event()
        with self._wake:
            if self._stopped:
                return
            self._validating = (path.name, cancel)
        try:
            report = self._validate(path, self._budget_ms, cancel)
        except ValidationCancelled:
            logger.info("validation of %s cancelled (%s)", path.name, "stopping" if self._stopped else "the file changed")
            return  # a change has queued it again; a stop needs no verdict
        finally:
            with self._wake:
                self._validating = None
        try:
            changed = fingerprint(path) != before
        except FileNotFoundError:
            return
        if changed:  # written to while it was checked: no verdict on bytes that are gone
            self._requeue(path.name)
            return
        previous = self.serving
        if report.passed:
            self.registry.activate(path.name)
            self.serving = path.name
            logger.info("model %s accepted: %s", path.name, report.render())
            self._on_accepted(Verdict(path, report, previous))
        else:
            self.registry.reject(path.name, report.reason, before)
            logger.warning("model %s rejected: %s", path.name, report.reason)
            self._on_rejected(Verdict(path, report, previous))

    def _requeue(self, name: str) -> None:
        with self._wake:
            self._pending[name] = time.monotonic()


class _Events(FileSystemEventHandler):
    def __init__(self, lifecycle: ModelLifecycle) -> None:
        self._lifecycle = lifecycle

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type in ("opened", "closed_no_write"):
            return
        for path in (event.src_path, getattr(event, "dest_path", "")):
            if path:
                self._lifecycle._touched(os.fsdecode(path))

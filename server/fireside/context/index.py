"""The workspace index: every definition in the workspace's files, by name.

Thread-safe: the scanner, the file watcher and the editor's edits update it; the model thread reads
it. Edited documents are re-indexed lazily (at the next lookup), so typing costs nothing here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path

from fireside.context.definitions import Definition, extract_definitions
from fireside.context.languages import language_for
from fireside.documents import unfit_for_model

logger = logging.getLogger(__name__)

MAX_INDEXED_FILE_BYTES = 1_000_000


class WorkspaceIndex:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_path: dict[str, list[Definition]] = {}
        self._by_name: dict[str, list[Definition]] = {}
        self._pending: dict[str, str] = {}  # path → newest text, not yet parsed
        self._open: set[str] = set()  # paths whose truth is the editor's buffer, not the disk
        # Changes, in all and per path: what other files say may have changed for a prompt in ``path``
        # exactly when ``generation_except(path)`` did (a cache key part; a file's own edits do not count).
        self._generation = 0
        self._path_generation: dict[str, int] = {}

    def _changed(self, path: str) -> None:
        """Called with the lock held."""
        self._generation += 1
        self._path_generation[path] = self._path_generation.get(path, 0) + 1

    def generation_except(self, path: str | None) -> int:
        """How many changes the index has seen in files other than ``path``. Read without the lock (the
        event loop asks, and a parse may hold it): two integers the GIL reads whole."""
        return self._generation - self._path_generation.get(path or "", 0)

    # ----- updates --------------------------------------------------------------------------
    def update_text(self, path: str, text: str) -> None:
        """Queue ``text`` as the content of ``path`` (parsed at the next lookup)."""
        with self._lock:
            self._pending[path] = text
            self._changed(path)

    def set_open(self, path: str, is_open: bool) -> None:
        with self._lock:
            (self._open.add if is_open else self._open.discard)(path)

    def is_open(self, path: str) -> bool:
        with self._lock:
            return path in self._open

    def update_from_disk(self, path: Path) -> None:
        """Re-read a file changed outside the editor (ignored while the editor has it open)."""
        key = str(path)
        if self.is_open(key):
            return
        try:
            if path.stat().st_size > MAX_INDEXED_FILE_BYTES:
                self.remove(key)
                return
            text = path.read_text(encoding="utf-8", errors="replace")
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            self.remove(key)
            return
        self.update_text(key, text)

    def remove(self, path: str) -> None:
        with self._lock:
            self._pending.pop(path, None)
            self._drop(path)
            self._changed(path)

    def _drop(self, path: str) -> None:
        for definition in self._by_path.pop(path, []):
            same = self._by_name.get(definition.name, [])
            remaining = [d for d in same if d.path != path]
            if remaining:
                self._by_name[definition.name] = remaining
            else:
                self._by_name.pop(definition.name, None)

    def _flush(self, *, keep: str | None = None) -> None:
        """Parse queued texts, except ``keep``'s (the file being typed in: its definitions are not
        wanted for its own prompt, so parsing it on every keystroke's lookup would be wasted).
        Called with the lock held."""
        pending = self._pending
        self._pending = {keep: pending.pop(keep)} if keep in pending else {}
        for path, text in pending.items():
            spec = language_for(None, path)
            if spec is None or unfit_for_model(text, MAX_INDEXED_FILE_BYTES) is not None:
                self._drop(path)
                continue
            try:
                definitions = extract_definitions(spec, text.encode("utf-8", "surrogatepass"), path)
            except Exception:  # a file tree-sitter chokes on must not stop indexing
                logger.exception("could not index %s", path)
                continue
            self._drop(path)
            self._by_path[path] = definitions
            for definition in definitions:
                self._by_name.setdefault(definition.name, []).append(definition)

    # ----- queries --------------------------------------------------------------------------
    def lookup(
        self, names: Iterable[str], *, exclude_path: str | None = None, family: str | None = None
    ) -> list[Definition]:
        """Definitions of ``names`` from files other than ``exclude_path``, in the order of ``names``;
        with ``family``, only from files of that language family (a Go file never sees Python)."""
        with self._lock:
            self._flush(keep=exclude_path)
            found: list[Definition] = []
            seen: set[tuple[str, int]] = set()
            for name in names:
                for definition in self._by_name.get(name, []):
                    key = (definition.path, definition.line)
                    if definition.path == exclude_path or key in seen:
                        continue
                    if family is None or definition.family == family:
                        seen.add(key)
                        found.append(definition)
            return found

    def definitions_in(self, path: str) -> list[Definition]:
        with self._lock:
            self._flush()
            return list(self._by_path.get(path, []))

    def paths(self) -> list[str]:
        with self._lock:
            self._flush()
            return sorted(self._by_path)

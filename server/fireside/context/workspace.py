"""Finding the workspace's source files (honouring .gitignore, skipping vendored trees) and keeping
the index fresh when files change on disk (watchdog): other tools, git checkouts, code generators."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pathspec
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from fireside.context.index import WorkspaceIndex
from fireside.context.languages import LANGUAGES

logger = logging.getLogger(__name__)

# Directories that hold other people's code or build output, never the user's own.
SKIPPED_DIRECTORIES = frozenset(
    {
        ".git", ".hg", ".svn", ".venv", "venv", "env", ".env", "node_modules", "site-packages", "__pycache__",
        ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox", "build", "dist", "vendor", "third_party",
        "_vendor", ".eggs",
        # Other languages' dependencies and build output: Cargo and Maven `target`, Gradle, npm tool caches,
        # CMake trees, Bazel's output links.
        "target", "out", ".gradle", "bower_components", "jspm_packages", ".next", ".nuxt", ".svelte-kit",
        ".turbo", ".parcel-cache", ".yarn", "coverage", "CMakeFiles", "_deps", "Pods", "DerivedData",
    }
)
SKIPPED_DIRECTORY_PREFIXES = ("cmake-build-", "bazel-")
MAX_FILES = 5000
SOURCE_SUFFIXES = tuple(suffix for spec in LANGUAGES.values() for suffix in spec.file_suffixes)


def _skipped(directory: str) -> bool:
    return directory in SKIPPED_DIRECTORIES or directory.startswith(SKIPPED_DIRECTORY_PREFIXES)


class IgnoreRules:
    """.gitignore files found while walking, each applying below its own directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._specs: dict[Path, pathspec.PathSpec] = {}

    def load(self, directory: Path) -> None:
        gitignore = directory / ".gitignore"
        if gitignore.is_file():
            try:
                lines = gitignore.read_text(encoding="utf-8", errors="replace").splitlines()
                self._specs[directory] = pathspec.GitIgnoreSpec.from_lines(lines)
            except Exception:
                logger.warning("unreadable %s", gitignore, exc_info=True)

    def ignored(self, path: Path, is_dir: bool = False) -> bool:
        if any(_skipped(part) for part in path.relative_to(self.root).parts[:-1 if not is_dir else None]):
            return True
        for directory, spec in self._specs.items():
            try:
                relative = path.relative_to(directory).as_posix()
            except ValueError:
                continue
            if spec.match_file(relative + ("/" if is_dir else "")):
                return True
        return False


def source_files(root: Path, rules: IgnoreRules | None = None) -> Iterator[Path]:
    rules = rules or IgnoreRules(root)
    count = 0
    for directory, subdirectories, files in os.walk(root):
        here = Path(directory)
        rules.load(here)
        subdirectories[:] = sorted(
            name for name in subdirectories
            if not _skipped(name) and not rules.ignored(here / name, is_dir=True)
        )
        for name in sorted(files):
            path = here / name
            if name.endswith(SOURCE_SUFFIXES) and not rules.ignored(path):
                yield path
                count += 1
                if count >= MAX_FILES:
                    logger.warning("workspace has more than %d source files; indexing the first ones", MAX_FILES)
                    return


class _Handler(FileSystemEventHandler):
    def __init__(self, index: WorkspaceIndex, rules: IgnoreRules) -> None:
        self.index = index
        self.rules = rules

    def _relevant(self, path: str) -> bool:
        return path.endswith(SOURCE_SUFFIXES) and not self.rules.ignored(Path(path))

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        try:
            source = os.fsdecode(event.src_path)
            if event.event_type in ("created", "modified", "closed") and self._relevant(source):
                self.index.update_from_disk(Path(source))
            elif event.event_type == "deleted":
                self.index.remove(source)
            elif event.event_type == "moved":
                self.index.remove(source)
                destination = os.fsdecode(event.dest_path)
                if self._relevant(destination):
                    self.index.update_from_disk(Path(destination))
        except Exception:  # the watcher thread must survive anything a file system does
            logger.exception("file event %s failed", event)


class WorkspaceWatcher:
    """Indexes a workspace once, then follows changes on disk until stopped."""

    def __init__(self, root: Path, index: WorkspaceIndex) -> None:
        self.root = root
        self.index = index
        self.rules = IgnoreRules(root)
        self._observer: Observer | None = None
        self.scanned = threading.Event()
        self._lock = threading.Lock()
        self._stopped = False

    def start(self) -> None:
        threading.Thread(target=self._run, name="fireside-index", daemon=True).start()

    def _run(self) -> None:
        try:
            with self._lock:  # stop() may come first: then no observer is ever started
                if self._stopped:
                    return
                self._observer = Observer()
                self._observer.schedule(_Handler(self.index, self.rules), str(self.root), recursive=True)
                self._observer.daemon = True
                self._observer.start()
        except Exception:
            logger.warning("cannot watch %s for changes; the index will not follow edits made outside the editor", self.root, exc_info=True)
        count = 0
        for path in source_files(self.root, self.rules):
            if self._stopped:
                return
            self.index.update_from_disk(path)
            count += 1
        self.index.paths()  # parse now, off the model thread
        logger.info("indexed %d files under %s", count, self.root)
        self.scanned.set()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self._observer is not None:
                self._observer.stop()

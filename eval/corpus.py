"""Real code nobody here wrote, for the completion evaluation: small pure-Python packages from PyPI,
downloaded once (the only network use in eval/; tests never need it) into eval/out/corpus/."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

PACKAGES = ("tabulate==0.10.0", "humanize==4.17.0", "more-itertools==11.2.1")
CORPUS = Path(__file__).resolve().parent / "out" / "corpus"


def corpus_roots() -> list[Path]:
    """One extracted source tree per package."""
    roots = []
    for requirement in PACKAGES:
        name = requirement.split("==")[0]
        root = CORPUS / name
        if not root.exists():
            wheels = CORPUS / "wheels"
            wheels.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "-d", str(wheels), requirement],
                check=True,
            )
            wheel = next(wheels.glob(name.replace("-", "_") + "-*.whl"))
            with zipfile.ZipFile(wheel) as archive:
                members = [m for m in archive.namelist() if m.endswith(".py") and ".dist-info" not in m]
                archive.extractall(root, members)
        roots.append(root)
    return roots

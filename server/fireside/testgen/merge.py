"""Never overwrite a test file silently: add new tests to it, or write beside it and say so; write it
atomically, and not at all if it changed since it was read."""

from __future__ import annotations

import ast
import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from fireside.testgen.render import RenderedFile

__all__ = ["FileChanged", "MergeResult", "beside_path", "merge", "write_atomically"]


class FileChanged(OSError):
    """The test file changed (or appeared) while the tests were generated: nothing was written."""


def _current(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def write_atomically(path: Path, text: str, expected: str | None) -> None:
    """Replace `path` by `text` all at once: a temporary file beside it, flushed and fsynced, then renamed
    over it. `expected` is what the file held when it was read (None: it did not exist); if it holds
    something else now, FileChanged is raised and nothing is written. A process killed at any point leaves
    the old file whole (at worst a hidden `.NAME.*.tmp` beside it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        if _current(path) != expected:
            raise FileChanged(f"{path} changed while the tests were generated; nothing was written (run again)")
        if expected is None:
            os.link(temporary, path)  # fails if the file appeared meanwhile: never clobbers one
        else:
            os.replace(temporary, path)
        with contextlib.suppress(OSError):  # make the rename itself durable
            directory = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
    except FileExistsError as error:
        raise FileChanged(f"{path} appeared while the tests were generated; nothing was written (run again)") from error
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


@dataclass
class MergeResult:
    path: Path
    text: str
    action: str  # "create" | "merge" | "beside" | "unchanged"
    added: list[str] = field(default_factory=list)
    already_present: list[str] = field(default_factory=list)
    message: str = ""


def beside_path(path: Path) -> Path:
    """The first free `test_x_generated[_N].py` next to `path`."""
    candidate = path.with_name(f"{path.stem}_generated{path.suffix}")
    number = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}_generated_{number}{path.suffix}")
        number += 1
    return candidate


def _defined_tests(tree: ast.Module) -> tuple[set[str], set[str]]:
    functions, classes = set(), set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions.add(node.name)
        elif isinstance(node, ast.ClassDef):
            classes.add(node.name)
            functions.update(n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))
    return functions, classes


def merge(path: Path, existing: str | None, rendered: RenderedFile) -> MergeResult:
    """The text to write at `path` (or beside it) so that it holds the rendered tests and everything it had."""
    if existing is None:
        names = [name for name, _ in rendered.blocks]
        return MergeResult(path, rendered.text, "create", names, message=f"created {path} with {len(names)} tests")
    try:
        tree = ast.parse(existing)
    except SyntaxError as error:
        other = beside_path(path)
        return MergeResult(
            other, rendered.text, "beside", [name for name, _ in rendered.blocks],
            message=f"{path} does not parse ({error.msg}, line {error.lineno}); wrote the tests beside it in {other}",
        )
    present, classes = _defined_tests(tree)
    new_blocks = [(name, block) for name, block in rendered.blocks if name not in present]
    already = [name for name, _ in rendered.blocks if name in present]
    if not new_blocks:
        return MergeResult(path, existing, "unchanged", [], already, f"{path} already has all {len(already)} tests")
    lines = existing.splitlines()
    existing_lines = {line.strip() for line in lines}
    missing_imports = [line for line in rendered.imports if line.strip() and line.strip() not in existing_lines]
    target_line = rendered.imports[-1]
    if target_line.strip() in existing_lines:
        missing_imports = [line for line in missing_imports if not line.startswith("sys.path.insert")]
    missing_imports = [line for line in missing_imports if not line.startswith('"""')]
    if missing_imports:
        imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
        if imports:
            at = max(node.end_lineno or node.lineno for node in imports)
        else:  # after the module docstring, if any
            first = tree.body[0] if tree.body else None
            docstring = isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant)
            at = (first.end_lineno or 0) if docstring and first is not None else 0
        lines[at:at] = missing_imports
    body = "\n".join(lines).rstrip("\n")
    if rendered.style == "unittest":
        class_name = rendered.class_name or "TestGenerated"
        while class_name in classes:
            class_name += "More"
        piece = RenderedFile([], [], new_blocks, "unittest", class_name).text
        piece = piece.split('if __name__ == "__main__":')[0].rstrip()
        if 'if __name__ == "__main__":' in body:  # keep unittest.main() last
            head, _, tail = body.partition('if __name__ == "__main__":')
            body = f"{head.rstrip()}\n\n\n{piece}\n\n\nif __name__ == \"__main__\":{tail}"
        else:
            body = f"{body}\n\n\n{piece}"
    else:
        body = body + "\n\n\n" + "\n\n\n".join(block for _, block in new_blocks)
    names = [name for name, _ in new_blocks]
    message = f"added {len(names)} tests to {path}" + (f" ({len(already)} were already there)" if already else "")
    return MergeResult(path, body + "\n", "merge", names, already, message)

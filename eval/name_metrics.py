"""Name metrics for completions (issue 18), used by ``completion_eval.py --guidance``.

- identifier holes: real lines cut where a name is written — right after ``receiver.`` (with 0-2 of
  the name's characters typed), after ``from module import``, or before ``keyword=`` in a call;
- next-identifier match: the first name the completion writes (with the part typed before the
  cursor) equals the original's;
- invented names: the completed line is spliced into the file and each name it introduces is
  checked with jedi: an attribute of a receiver whose members jedi knows completely but that is not
  among them, a bare name jedi cannot resolve (not a builtin, keyword or a name the line itself
  binds), a keyword argument that is no parameter of a workspace function without ``**kwargs``.
  Names jedi cannot judge (an unknown receiver) count as not invented: this is a lower bound, and it
  shares jedi's blind spots with the Python oracle.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

import jedi

from fireside.context.names import PYTHON_KEYWORDS, _known_members

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MEMBER = re.compile(r"(?<![A-Za-z0-9_.])[A-Za-z_][A-Za-z0-9_]*\.(?=[A-Za-z_])")
_KEYWORD_ARG = re.compile(r"[(,]\s*(?=[A-Za-z_][A-Za-z0-9_]*=[^=])")
_FROM_IMPORT = re.compile(r"^\s*from\s+[\w.]+\s+import\s+(?=\w)")


@dataclass(frozen=True)
class NameHole:
    root: Path
    path: Path
    line: int
    column: int
    target: str
    text: str
    kind: str  # "member", "keyword", "import"

    @property
    def offset(self) -> int:
        lines = self.text.split("\n")
        return sum(len(line) + 1 for line in lines[: self.line]) + self.column


def find_identifier_holes(roots: list[Path], per_package: int, seed: int) -> list[NameHole]:
    """Cursors where a name is written, in indented code (and top-level ``from`` imports), the
    rest of the line removed; for members, 0-2 characters of the name left typed."""
    rng = random.Random(seed)
    holes: list[NameHole] = []
    for root in roots:
        candidates: list[tuple[Path, int, int, str]] = []
        for path in sorted(root.rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            lines = source.split("\n")
            quoted = _string_lines(source)
            for index, line in enumerate(lines):
                stripped = line.strip()
                if index in quoted or stripped.startswith(("#", '"', "'", "@", ">>>")):
                    continue
                if (match := _FROM_IMPORT.match(line)) is not None and "*" not in line:
                    candidates.append((path, index, match.end(), "import"))
                if not line.startswith("    "):
                    continue
                for match in _MEMBER.finditer(line):
                    if line[: match.start()].count('"') % 2 == 0 and line[: match.start()].count("'") % 2 == 0:
                        candidates.append((path, index, match.end(), "member"))
                for match in _KEYWORD_ARG.finditer(line):
                    candidates.append((path, index, match.end(), "keyword"))
        by_kind: dict[str, list[tuple[Path, int, int, str]]] = {}
        for candidate in candidates:
            by_kind.setdefault(candidate[3], []).append(candidate)
        shares = {"member": per_package // 2, "keyword": per_package // 4}
        shares["import"] = per_package - shares["member"] - shares["keyword"]
        chosen = []
        for kind, count in shares.items():
            pool = by_kind.get(kind, [])
            chosen += rng.sample(pool, min(count, len(pool)))
        for path, index, column, kind in chosen:
            lines = path.read_text(encoding="utf-8").split("\n")
            line = lines[index]
            if kind == "member":
                name = IDENTIFIER.match(line, column)
                column += rng.randint(0, min(2, len(name.group(0)) - 1)) if name else 0
            target = line[column:]
            lines[index] = line[:column]
            holes.append(NameHole(root, path, index, column, target, "\n".join(lines), kind))
    return holes


def _string_lines(source: str) -> set[int]:
    """Lines that a string spanning several lines (a docstring) covers, or that hold a comment."""
    from fireside.context.languages import language_for
    from fireside.context.syntax import parse

    tree = parse(language_for("python"), source.encode("utf-8"))
    covered: set[int] = set()
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "string" and node.end_point[0] > node.start_point[0]:
            covered.update(range(node.start_point[0], node.end_point[0] + 1))
        elif node.type == "comment":
            covered.add(node.start_point[0])
        else:
            stack.extend(node.children)
    return covered


def typed_name(prefix: str) -> str:
    match = re.search(r"[A-Za-z_0-9]*\Z", prefix)
    return match.group(0) if match else ""


def first_identifier(typed: str, text: str) -> str:
    """The first name written from the cursor on, the typed part of it included."""
    match = IDENTIFIER.search(typed + text)
    return match.group(0) if match else ""


class InventedNames:
    """Names a completed line introduces that do not exist (see the module's docstring)."""

    def __init__(self) -> None:
        self._projects: dict[Path, jedi.Project] = {}

    def check(self, root: Path, path: Path, text: str, offset: int, completion: str) -> list[str]:
        completion = completion.split("\n", 1)[0]
        if not completion.strip():
            return []
        merged = text[:offset] + completion + text[offset:]
        line_number = text[:offset].count("\n") + 1
        line = merged.split("\n")[line_number - 1]
        start = offset - (text.rfind("\n", 0, offset) + 1)
        # The name under the cursor counts from its typed start.
        start -= len(typed_name(text[:offset]))
        project = self._projects.setdefault(root, jedi.Project(root))
        script = jedi.Script(code=merged, path=str(path), project=project)
        bound = {match.group(1) for match in re.finditer(r"(?:\bfor\s+|\blambda\s+|\bas\s+)([A-Za-z_]\w*)", line)}
        bound |= {match.group(1) for match in re.finditer(r"([A-Za-z_]\w*)\s*(?:,\s*[A-Za-z_]\w*\s*)*(?::=|=[^=])", line)}
        invented = []
        for name, column in _code_identifiers(merged, line_number - 1, start):
            if name in PYTHON_KEYWORDS:
                continue
            before = line[:column].rstrip()
            after = line[column + len(name) :].lstrip()
            try:
                if before.endswith("."):
                    receiver_end = len(before) - 1
                    if receiver_end <= 0 or not (line[receiver_end - 1].isalnum() or line[receiver_end - 1] == "_"):
                        continue  # a call's or a subscript's result: not judged
                    members = [c.name for c in script.complete(line_number, len(before))]
                    if _known_members(members) and name not in members:
                        invented.append(name)
                elif after.startswith("=") and not after.startswith("==") and before.endswith(("(", ",")):
                    signatures = script.get_signatures(line_number, column)
                    if signatures and all(_closed_workspace_signature(s, root, path) for s in signatures):
                        if not any(name == p.name for s in signatures for p in s.params):
                            invented.append(name)
                elif _FROM_IMPORT.match(line):
                    head = _FROM_IMPORT.match(line)
                    if column < head.end() or re.search(rf"\bas\s+{name}\b", line):
                        continue
                    module_line = head.group(0)  # alone: in the file, jedi answered for the names after it
                    members = [c.name for c in jedi.Script(code=module_line, path=str(path), project=project).complete(1, len(module_line))]
                    if members and name not in members:
                        invented.append(name)
                elif name not in bound:
                    if not script.goto(line_number, column) and not script.infer(line_number, column):
                        invented.append(name)
            except Exception:  # jedi on odd code: not judged
                continue
        return invented


def _code_identifiers(source: str, row: int, start: int) -> list[tuple[str, int]]:
    """The identifiers tree-sitter finds in code (not strings or comments) on line ``row`` from
    column ``start`` on, with their columns."""
    from fireside.context.languages import language_for
    from fireside.context.syntax import parse

    data = source.encode("utf-8", "surrogatepass")
    tree = parse(language_for("python"), data)
    line_bytes = source.split("\n")[row].encode("utf-8", "surrogatepass")
    found = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.end_point[0] < row or node.start_point[0] > row:
            continue
        if node.type in ("string", "comment"):
            continue
        if node.type == "identifier" and node.start_point[0] == row:
            column = len(line_bytes[: node.start_point[1]].decode("utf-8", "replace"))
            if column >= start:
                found.append((line_bytes[node.start_point[1] : node.end_point[1]].decode("utf-8", "replace"), column))
        stack.extend(node.children)
    return sorted(found, key=lambda item: item[1])


def _inside_string(line: str, column: int) -> bool:
    head = line[:column]
    return head.count('"') % 2 == 1 or head.count("'") % 2 == 1 or "#" in head


def _closed_workspace_signature(signature, root: Path, path: Path) -> bool:  # noqa: ANN001
    module = str(signature.module_path or "")
    if not module or not (module == str(path) or module.startswith(str(root) + "/")):
        return False
    return not any(getattr(p.kind, "name", "") == "VAR_KEYWORD" for p in signature.params)


def keystrokes_needing_a_table(holes: list) -> tuple[int, int]:  # noqa: ANN001 - Hole or NameHole
    """Typing each hole's line back character by character: (keystrokes, keystrokes whose name
    table is not the previous keystroke's, i.e. must be computed while the user waits)."""
    from fireside.context.names import NameQuery, _table_key

    keystrokes = fresh = 0
    for hole in holes:
        previous = None
        for typed in range(len(hole.target) + 1):
            text = hole.text[: hole.offset] + hole.target[:typed] + hole.text[hole.offset :]
            key = _table_key(NameQuery(text, hole.offset + typed, str(hole.path), str(hole.root), "python"))
            keystrokes += 1
            fresh += key != previous
            previous = key
    return keystrokes, fresh

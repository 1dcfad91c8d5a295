"""Which names exist where: the name oracle behind identifier-aware decoding (issue 18).

A completion that names an attribute, module member or keyword argument that does not exist is
worse than none. Where static analysis knows the valid names, the decoder only lets the model write
one of them (``fireside.completion.guidance``). This module answers "which names are valid here":

- ``find_slot`` reads the text before a position and says what kind of name comes next: a member
  after ``receiver.``, a name in ``from module import``, or an argument of a call (a keyword
  argument's name must be a parameter; any other name must exist in scope);
- a ``NameOracle`` per language computes, once per request and off the model thread, a ``NameTable``
  for the slots the completion may reach: the cursor's own slot and the receivers the code around
  the cursor uses. Python uses jedi on the open buffer with the workspace as its project; other
  languages get the tree-sitter ``SyntaxOracle`` (members of the enclosing class through
  ``this``/``self``), and a language plugs in its own oracle through ``ORACLES``;
- a slot the table does not know is "unknown" and decoding stays free there (a dynamic object, an
  unresolved import or base class, ``__getattr__``).

Nothing here imports pygls or the model.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

logger = logging.getLogger(__name__)

MAX_RECEIVERS = 12  # receivers looked up per request besides the cursor's own slot
RECEIVER_WINDOW_LINES = 40  # receivers are taken from the lines around the cursor
TABLE_CACHE_ENTRIES = 16
MAX_ORACLE_CHARS = 500_000  # larger buffers: no guidance (jedi would take seconds on each)
MAX_SLOT_SCAN_CHARS = 400  # how far back an open call is looked for

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TRAILING_IDENT = re.compile(r"[A-Za-z_0-9]*\Z")
_RECEIVER_BEFORE_DOT = re.compile(r"((?:[A-Za-z_][A-Za-z0-9_]*)(?:\.[A-Za-z_][A-Za-z0-9_]*)?)(?:\.|->)\Z")
_FROM_IMPORT = re.compile(r"^\s*from\s+(\.*[A-Za-z_0-9.]*)\s+import\s+\(?\s*(?:[A-Za-z_][A-Za-z0-9_]*(?:\s+as\s+[A-Za-z_][A-Za-z0-9_]*)?\s*,\s*)*\Z")
_RECEIVERS_IN_TEXT = re.compile(r"(?<![A-Za-z0-9_.])([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\.(?=[A-Za-z_])")
_INIT_LIKE = re.compile(r"^\s*(?:async\s+)?def\s+(__init__|__post_init__|__new__|setUp|setup|setup_method|reset|_init\w*)\s*\(")
_DEF_LINE = re.compile(r"^\s*(?:async\s+)?def\s+\w+")
PYTHON_KEYWORDS = frozenset(
    "False None True and as assert async await break class continue def del elif else except finally for from global "
    "if import in is lambda nonlocal not or pass raise return try while with yield".split()
)


def is_name_char(char: str) -> bool:
    return char.isalnum() or char == "_"


# ----- valid names ------------------------------------------------------------------------------
class NameSet:
    """A set of names that answers prefix questions: a trie flattened into a sorted array (the names
    sharing a prefix are one contiguous run, found by bisection), so it is built in one sort and asks
    nothing of the allocator per node. ``keywords``: the names that may precede ``=`` (a call's
    keyword parameters; empty outside argument slots)."""

    __slots__ = ("_sorted", "_set", "keywords")

    def __init__(self, names: Iterable[str], keywords: Iterable[str] = ()) -> None:
        self.keywords = frozenset(keywords)
        self._set = frozenset(names) | self.keywords
        self._sorted = sorted(self._set)

    def __contains__(self, name: object) -> bool:
        return name in self._set

    def __len__(self) -> int:
        return len(self._sorted)

    def __repr__(self) -> str:
        return f"NameSet({len(self)} names, {len(self.keywords)} keywords)"

    def has_prefix(self, prefix: str) -> bool:
        """Some name starts with ``prefix`` (the empty prefix: the set is not empty)."""
        index = bisect.bisect_left(self._sorted, prefix)
        return index < len(self._sorted) and self._sorted[index].startswith(prefix)

    def with_prefix(self, prefix: str, limit: int = 10_000) -> list[str]:
        index = bisect.bisect_left(self._sorted, prefix)
        found = []
        while index < len(self._sorted) and self._sorted[index].startswith(prefix) and len(found) < limit:
            found.append(self._sorted[index])
            index += 1
        return found

    @property
    def names(self) -> list[str]:
        return list(self._sorted)


# ----- where a name is being written ------------------------------------------------------------
@dataclass(frozen=True)
class Slot:
    """A position where a name is being written: ``kind`` is "member" (``key`` is the receiver),
    "import" (``key`` is the module of a ``from ... import``) or "argument" (``key`` is the callee);
    ``typed`` is the part of the name written so far. ``statement_start``: the receiver begins the
    statement (``self.x = ...`` may define a new attribute there)."""

    kind: str
    key: str
    typed: str
    statement_start: bool = False
    # The name starts after a space still to be written (``from x import|``: the prompt leaves the
    # typed space out, token healing, and the model writes `` name`` in one token).
    after_space: bool = False


def _in_string_or_comment(line: str) -> bool:
    """Whether the end of ``line`` is inside a string or a comment (quotes counted on this line)."""
    quote = ""
    index = 0
    while index < len(line):
        char = line[index]
        if quote:
            if char == "\\":
                index += 1
            elif line.startswith(quote, index):
                index += len(quote) - 1
                quote = ""
        elif char in "\"'":
            quote = line[index : index + 3] if line[index : index + 3] in ('"""', "'''") else char
            index += len(quote) - 1
        elif char == "#":
            return True
        index += 1
    return bool(quote)


def _open_call(text: str) -> tuple[str, int] | None:
    """The callee and the index of its ``(`` when ``text`` ends inside an argument slot of a call
    (right after ``(`` or ``,``, maybe after whitespace), else None."""
    stripped = text.rstrip(" \t\n")
    if not stripped or stripped[-1] not in "(,":
        return None
    depth = 0
    start = max(0, len(stripped) - MAX_SLOT_SCAN_CHARS)
    for index in range(len(stripped) - 1, start - 1, -1):
        char = stripped[index]
        if char in ")]}":
            depth += 1
        elif char in "[{":
            if depth == 0:
                return None  # a list, dict or subscript: not a call's argument
            depth -= 1
        elif char == "(":
            if depth == 0:
                match = re.search(r"([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\Z", stripped[:index])
                if match is None or match.group(1) in PYTHON_KEYWORDS:
                    return None
                before = stripped[: match.start()].rstrip()
                if before.endswith(("def", "class")):
                    return None  # a definition's parameters are new names
                return match.group(1), index
            depth -= 1
        elif char in "\"'#":
            return None  # strings and comments in between: too uncertain, stay free
    return None


def find_slot(text: str) -> Slot | None:
    """The name slot at the end of ``text`` (the code before the cursor, then what the model wrote),
    or None where no name is expected or the syntax is not clear enough."""
    tail = text[-MAX_SLOT_SCAN_CHARS:]
    typed = _TRAILING_IDENT.search(tail).group(0)  # type: ignore[union-attr]
    if typed and typed[0].isdigit():
        return None
    before = tail[: len(tail) - len(typed)]
    line = before[before.rfind("\n") + 1 :]
    if _in_string_or_comment(line):
        return None
    receiver = _RECEIVER_BEFORE_DOT.search(before)
    if receiver is not None:
        ahead = before[: receiver.start()]
        if ahead and (is_name_char(ahead[-1]) or ahead[-1] in ".)]}\"'"):
            return None  # part of a longer chain or a call's result: the receiver is not a plain name
        start_of_line = ahead[ahead.rfind("\n") + 1 :]
        return Slot("member", receiver.group(1), typed, statement_start=not start_of_line.strip())
    imported = _FROM_IMPORT.match(line)
    if imported is not None and imported.group(1):
        return Slot("import", imported.group(1), typed)
    if typed == "import" and (spaced := _FROM_IMPORT.match(line + "import ")) is not None and spaced.group(1):
        return Slot("import", spaced.group(1), "", after_space=True)
    call = _open_call(before)
    if call is not None:
        return Slot("argument", call[0], typed)
    return None


# ----- the table an oracle answers --------------------------------------------------------------
@dataclass
class NameTable:
    """Valid names per slot, computed once per request. A slot that is not in it is unknown."""

    members: dict[str, NameSet] = field(default_factory=dict)
    imports: dict[str, NameSet] = field(default_factory=dict)
    calls: dict[str, NameSet] = field(default_factory=dict)
    # The receiver that may get new attributes at a statement's start (``self`` in ``__init__``):
    # free there.
    assignable: frozenset[str] = frozenset()

    def names_for(self, slot: Slot) -> NameSet | None:
        if slot.kind == "member":
            if slot.statement_start and slot.key in self.assignable:
                return None
            return self.members.get(slot.key)
        if slot.kind == "import":
            return self.imports.get(slot.key)
        if slot.kind == "argument":
            return self.calls.get(slot.key)
        return None

    def __bool__(self) -> bool:
        return bool(self.members or self.imports or self.calls)


@dataclass(frozen=True)
class NameQuery:
    text: str
    offset: int  # code points from the start of ``text``: the cursor
    path: str  # the file's path ("" when it has none)
    root: str  # the workspace root ("" when none)
    language_id: str


class NameOracle(Protocol):
    def table(self, query: NameQuery) -> NameTable:
        """Valid names for the slots a completion at ``query``'s cursor may reach."""
        ...


# ----- Python: jedi -----------------------------------------------------------------------------
def _cursor_line(text: str, offset: int) -> tuple[list[str], int, int]:
    before = text[:offset]
    line_index = before.count("\n")
    column = offset - (before.rfind("\n") + 1)
    return text.split("\n"), line_index, column


def _receivers_near(lines: list[str], line_index: int) -> list[str]:
    """Receivers (``name.`` or ``name.attr.``) used around the cursor, nearest first, then the
    module aliases the file imports."""
    found: dict[str, int] = {}
    low, high = max(0, line_index - RECEIVER_WINDOW_LINES), min(len(lines), line_index + RECEIVER_WINDOW_LINES // 2)
    for index in range(low, high):
        for match in _RECEIVERS_IN_TEXT.finditer(lines[index]):
            name = match.group(1)
            if name.split(".", 1)[0] not in PYTHON_KEYWORDS:
                distance = abs(index - line_index)
                found[name] = min(distance, found.get(name, distance))
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("import "):
            for part in stripped[len("import ") :].split(","):
                words = part.split()
                if words:
                    alias = words[-1] if len(words) == 3 and words[1] == "as" else words[0].split(".")[0]
                    found.setdefault(alias, RECEIVER_WINDOW_LINES + 1)
    return sorted(found, key=lambda name: (found[name], name))


def _enclosing_def(lines: list[str], line_index: int, indent: int) -> str:
    """The ``def`` line of the function around the cursor (the nearest less-indented one above)."""
    for index in range(min(line_index, len(lines) - 1), -1, -1):
        line = lines[index]
        if line.strip() and _DEF_LINE.match(line) and len(line) - len(line.lstrip()) < indent:
            return line
    return ""


class JediOracle:
    """Python names from jedi, on the buffer as the editor has it, with the workspace as jedi's
    project (so workspace modules and the environment's packages resolve)."""

    def __init__(self) -> None:
        import jedi

        self._jedi = jedi
        self._projects: dict[str, object] = {}

    def _project(self, root: str) -> object | None:
        if not root:
            return None
        if root not in self._projects:
            self._projects[root] = self._jedi.Project(root)
        return self._projects[root]

    def table(self, query: NameQuery) -> NameTable:
        lines, line_index, column = _cursor_line(query.text, query.offset)
        cursor_line = lines[line_index]
        before_cursor = cursor_line[:column]
        indent_text = before_cursor if not before_cursor.strip() else cursor_line[: len(cursor_line) - len(cursor_line.lstrip())]
        slot = find_slot(query.text[max(0, query.offset - MAX_SLOT_SCAN_CHARS) : query.offset])
        receivers = _receivers_near(lines, line_index)[:MAX_RECEIVERS]
        if slot is not None and slot.kind == "member" and slot.key not in receivers:
            receivers.insert(0, slot.key)
        if "self" not in receivers and indent_text and _enclosing_def(lines, line_index, len(indent_text)):
            receivers.insert(0, "self")
        # One probe line per question, in place of the cursor's line, at its indentation: one parse
        # answers them all, in the cursor's scope.
        probes = [f"{indent_text}{receiver}." for receiver in receivers]
        probes.append(indent_text)  # the names visible at the cursor (for argument slots)
        if slot is not None and slot.kind == "import":
            probes.append(before_cursor[: len(before_cursor) - len(slot.typed)])
        probed = lines[:line_index] + probes + lines[line_index + 1 :]
        project = self._project(query.root)
        path = query.path or None
        script = self._jedi.Script(code="\n".join(probed), path=path, project=project)
        table = NameTable()
        for number, receiver in enumerate(receivers):
            names = self._complete(script, line_index + number + 1, len(probes[number]))
            if _known_members(names):
                table.members[receiver] = NameSet(names)
        if slot is not None and slot.kind == "import":
            names = self._complete(script, line_index + len(probes), len(probes[-1]))
            if names and "__getattr__" not in names:
                table.imports[slot.key] = NameSet(name for name in names if not name.endswith("="))
        if slot is not None and slot.kind == "argument":
            visible = self._complete(script, line_index + len(receivers) + 1, len(indent_text))
            real = self._jedi.Script(code=query.text, path=path, project=project)
            call = self._call_names(real, line_index + 1, column, query.root, query.path, visible)
            if call is not None:
                table.calls[slot.key] = call
        if "self" in table.members:
            if _INIT_LIKE.match(_enclosing_def(lines, line_index, len(indent_text) or 1)):
                table.assignable = frozenset({"self"})
        return table

    @staticmethod
    def _complete(script: object, line: int, column: int) -> list[str]:
        try:
            return [completion.name for completion in script.complete(line, column)]  # type: ignore[attr-defined]
        except Exception:  # jedi on broken code: unknown, never an error for the user
            logger.debug("jedi completion failed at %d:%d", line, column, exc_info=True)
            return []

    @staticmethod
    def _call_names(script: object, line: int, column: int, root: str, path: str, visible: list[str]) -> NameSet | None:
        """The names valid in an argument slot of the call at the cursor: its keyword parameters
        (before ``=``) and the names in scope. Only for a function defined in the workspace (its
        arguments are where invented keywords happen; a builtin like ``sum(x for x in ...)`` takes
        comprehensions whose names are new) with no ``**kwargs``."""
        try:
            signatures = script.get_signatures(line, column)  # type: ignore[attr-defined]
        except Exception:
            logger.debug("jedi signatures failed", exc_info=True)
            return None
        if not signatures or not visible:
            return None
        keywords: set[str] = set()
        for signature in signatures:
            module = str(signature.module_path or "")
            if not module or not (module == path or (root and module.startswith(str(Path(root)) + "/"))):
                return None
            for param in signature.params:
                kind = getattr(param.kind, "name", "")
                if kind == "VAR_KEYWORD":
                    return None
                if kind in ("POSITIONAL_OR_KEYWORD", "KEYWORD_ONLY") and param.name != "self":
                    keywords.add(param.name)
        names = {name for name in visible if not name.endswith("=")} | PYTHON_KEYWORDS
        return NameSet(names, keywords)


def _known_members(names: list[str]) -> bool:
    """Whether jedi knows every member: it resolved the object up to ``object`` (``__class__``) or a
    module (``__name__``), and nothing answers arbitrary names (``__getattr__``)."""
    return bool(names) and "__getattr__" not in names and ("__class__" in names or "__name__" in names)


# ----- other languages: tree-sitter -------------------------------------------------------------
# The word for the object itself, and the class-like nodes whose members it reaches, per grammar (the spec's
# language id). Rust is left out: its methods live in `impl` blocks apart from the struct, so members through
# `self` are unknown here and decoding stays free; Go and C have no `this`.
SELF_WORDS = {"python": "self", "javascript": "this", "typescript": "this", "typescriptreact": "this", "java": "this", "cpp": "this"}
CLASS_TYPES = {
    "python": frozenset({"class_definition"}),
    "javascript": frozenset({"class_declaration", "class"}),
    "typescript": frozenset({"class_declaration", "abstract_class_declaration", "class"}),
    "typescriptreact": frozenset({"class_declaration", "abstract_class_declaration", "class"}),
    "java": frozenset({"class_declaration", "record_declaration", "enum_declaration"}),
    "cpp": frozenset({"class_specifier", "struct_specifier"}),
}
_FIELD_NAME_TYPES = frozenset({"identifier", "property_identifier", "field_identifier", "private_property_identifier"})


class SyntaxOracle:
    """Members of the class around the cursor, through the language's ``this``/``self``: its
    methods, the fields it declares and the ones assigned through ``this.x``/``self.x`` in its body.
    Unknown when the class extends a class not defined in the same file. Generic over
    ``LanguageSpec`` (class/function node types, the body field)."""

    def __init__(self, language_id: str) -> None:
        self.language_id = language_id

    def table(self, query: NameQuery) -> NameTable:
        from fireside.context.languages import language_for
        from fireside.context.syntax import parse

        spec = language_for(query.language_id, query.path)
        self_word = SELF_WORDS.get(spec.language_id) if spec is not None else None
        class_types = CLASS_TYPES.get(spec.language_id, frozenset()) if spec is not None else frozenset()
        if spec is None or self_word is None or not class_types:
            return NameTable()
        # The name being typed at the cursor is not a member yet: leave it out.
        typed = _TRAILING_IDENT.search(query.text[max(0, query.offset - 200) : query.offset]).group(0)  # type: ignore[union-attr]
        text = query.text[: query.offset - len(typed)] + query.text[query.offset :]
        source = text.encode("utf-8", "surrogatepass")
        tree = parse(spec, source)
        cursor = len(text[: query.offset - len(typed)].encode("utf-8", "surrogatepass"))
        node = tree.root_node.descendant_for_byte_range(max(0, cursor - 1), max(0, cursor - 1))
        classes = {}
        for child in _walk(tree.root_node):
            if child.type in class_types and (name := child.child_by_field_name("name")) is not None:
                classes[source[name.start_byte : name.end_byte].decode("utf-8", "replace")] = child
        while node is not None and node.type not in class_types:
            node = node.parent
        if node is None:
            return NameTable()
        names: set[str] = set()
        if not _class_members(spec, node, source, self_word, classes, names, depth=0):
            return NameTable()
        table = NameTable(members={self_word: NameSet(names)})
        if spec.language_id in ("python", "javascript", "typescript", "typescriptreact"):
            table.assignable = frozenset({self_word})  # these languages add fields by assignment
        return table


def _walk(node):  # noqa: ANN001, ANN202 - tree_sitter.Node
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.named_children))


def _class_members(spec, node, source: bytes, self_word: str, classes: dict, names: set[str], depth: int) -> bool:  # noqa: ANN001
    """Add the members of class ``node`` (and its same-file bases) to ``names``; False when a base is
    not defined in this file (its members are unknown)."""
    body = node.child_by_field_name(spec.body_field)
    header = source[node.start_byte : body.start_byte if body is not None else node.end_byte].decode("utf-8", "replace")
    name_node = node.child_by_field_name("name")
    own = source[name_node.start_byte : name_node.end_byte].decode("utf-8", "replace") if name_node is not None else ""
    bases = [word for word in _IDENT.findall(header) if word not in (own, "class", "struct", "extends", "implements", "public", "private", "protected", "object", "final", "abstract", "export", "default")]
    for base in bases:
        if base not in classes or depth > 8:
            return False
        if not _class_members(spec, classes[base], source, self_word, classes, names, depth + 1):
            return False
    if body is None:
        return True
    text = source[body.start_byte : body.end_byte].decode("utf-8", "replace")
    names.update(re.findall(rf"\b{re.escape(self_word)}\s*(?:\.|->)\s*([A-Za-z_][A-Za-z0-9_]*)", text))
    for child in body.named_children:
        inner = child.child_by_field_name("definition") if child.type in spec.wrapper_types else child
        inner = inner or child
        name = inner.child_by_field_name("name")
        if name is not None:
            names.add(source[name.start_byte : name.end_byte].decode("utf-8", "replace"))
            continue
        for sub in _walk(inner):  # a field declaration: its first declared identifier
            if sub.type in _FIELD_NAME_TYPES:
                names.add(source[sub.start_byte : sub.end_byte].decode("utf-8", "replace"))
                break
    return True


# ----- one oracle per language, run off the model thread ----------------------------------------
ORACLES: dict[str, Callable[[], NameOracle]] = {"python": JediOracle}


def oracle_for(language_id: str) -> NameOracle | None:
    """The language's oracle: its own (``ORACLES``), else the tree-sitter one when the language has
    a ``self``/``this`` word, else None (no guidance)."""
    factory = ORACLES.get(language_id)
    if factory is not None:
        return factory()
    from fireside.context.languages import language_for

    spec = language_for(language_id)
    if spec is not None and spec.language_id in SELF_WORDS:
        return SyntaxOracle(language_id)
    return None


def _table_key(query: NameQuery) -> tuple[str, ...]:
    """Typing on one line keeps the table: it depends on the text outside the cursor's line and on
    the slot at the cursor (its kind and receiver, module or callee), not on the rest of the line.
    So a keystroke computes a new table only when it opens another slot (``x.``, ``f(``)."""
    lines, line_index, _ = _cursor_line(query.text, query.offset)
    slot = find_slot(query.text[max(0, query.offset - MAX_SLOT_SCAN_CHARS) : query.offset])
    rest = "\n".join(lines[:line_index] + lines[line_index + 1 :])
    digest = hashlib.blake2b(rest.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    where = f"{slot.kind}:{slot.key}" if slot is not None else ""
    return (query.language_id, query.path, query.root, str(line_index), where, digest)


class NameService:
    """Computes name tables on its own thread (jedi is pure Python: it must not hold up the event
    loop, and on the model thread it would add to every completion), remembers the last few, and
    keeps one oracle per language."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fireside-names")
        self._oracles: dict[str, NameOracle | None] = {}
        self._cache: OrderedDict[tuple[str, ...], Future[NameTable]] = OrderedDict()
        self._lock = threading.Lock()

    def table(self, query: NameQuery) -> Future[NameTable]:
        """The table for ``query``, computing or already computed (a finished future when cached)."""
        key = _table_key(query)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
            # Tables nobody will wait for any more (an older keystroke's) are not computed.
            for old_key, old in list(self._cache.items()):
                if not old.done() and old.cancel():
                    del self._cache[old_key]
            future = self._executor.submit(self._compute, query)
            self._cache[key] = future
            while len(self._cache) > TABLE_CACHE_ENTRIES:
                self._cache.popitem(last=False)
            return future

    def _compute(self, query: NameQuery) -> NameTable:
        if query.language_id not in self._oracles:
            try:
                self._oracles[query.language_id] = oracle_for(query.language_id)
            except Exception:
                logger.exception("no name oracle for %s", query.language_id)
                self._oracles[query.language_id] = None
        oracle = self._oracles[query.language_id]
        if oracle is None or len(query.text) > MAX_ORACLE_CHARS:
            return NameTable()
        try:
            return oracle.table(query)
        except Exception:  # the oracle's failure makes every name unknown, never a failed completion
            logger.exception("name oracle failed for %s", query.path or query.language_id)
            return NameTable()

    def warm_up(self, language_id: str = "python") -> Future[NameTable]:
        """Load the oracle and what it reads first (jedi's builtins take ~1 s the first time)."""
        text = "import os\n\ndef f(x):\n    os.\n"
        return self.table(NameQuery(text, len(text) - 1, "", "", language_id))

    def in_background(self, function: Callable[[], object]) -> Future[object]:
        """Run other preparation for guided decoding on the names thread."""
        return self._executor.submit(function)

    def shutdown(self, *, wait: bool = False) -> None:
        self._executor.shutdown(wait=wait, cancel_futures=True)

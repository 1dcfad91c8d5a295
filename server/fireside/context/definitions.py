"""Definitions a file offers to others (functions, classes with their members, module constants), as
short stubs: signature, first line of documentation, elided body. Which nodes are definitions is each
language's query (``LanguageSpec.definitions_query``); the stubs are built here, the same way for all."""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node, QueryCursor

from fireside.context.languages import LanguageSpec, is_top_level, outer_node, query_for, top_level_imports
from fireside.context.syntax import parse

MAX_METHODS_PER_CLASS = 12
MAX_MEMBERS_PER_CLASS = 40  # fields and methods together: a 300-field struct must not fill the prompt
MAX_CONSTANT_CHARS = 120
_KINDS = ("function", "class", "constant")  # a node matched as several kinds is the first of these


@dataclass(frozen=True)
class Definition:
    name: str
    kind: str  # "function", "class" or "constant"
    stub: str  # the text shown to the model
    path: str
    line: int  # 0-based line of the definition
    family: str = ""  # the language family whose files may see it (LanguageSpec.definitions_family)


def _text(source: bytes, node: Node) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", "replace")


def _first_line(text: str) -> str:
    line = text.split("\n", 1)[0].rstrip()
    return line if len(line) <= MAX_CONSTANT_CHARS else line[:MAX_CONSTANT_CHARS] + " ..."


def _docstring(body: Node | None, source: bytes) -> str:
    """The first line of a Python-style docstring: the body's first statement, if it is a string."""
    if body is None or not body.named_children:
        return ""
    first = body.named_children[0]
    if first.type != "expression_statement" or not first.named_children:
        return ""
    expression = first.named_children[0]
    if expression.type not in ("string", "concatenated_string"):
        return ""
    text = _text(source, expression).strip("\"'rRbBuUfF \n")
    return text.strip().split("\n", 1)[0].strip()


def _doc_comment(spec: LanguageSpec, outer: Node, source: bytes) -> str:
    """The first line of the comment right above a definition (`/** … */`, `///`, `// Name does …`)."""
    group = outer.parent
    if group is not None and group.type in spec.declaration_groups and group.named_children[0] == outer:
        outer = group  # Go's `// Server …` above `type Server struct`: the comment is the group's
    above = outer.prev_named_sibling
    row = outer.start_point[0]
    while above is not None and above.type in spec.doc_comment_skip and above.end_point[0] >= row - 1:
        row = above.start_point[0]
        above = above.prev_named_sibling
    if above is None or above.type not in spec.comment_types or above.end_point[0] < row - 1:
        return ""
    # A run of line comments is one node per line: start from the first of the run.
    first = above
    while (
        (earlier := first.prev_named_sibling) is not None
        and earlier.type in spec.comment_types
        and earlier.end_point[0] == first.start_point[0] - 1
    ):
        first = earlier
    for line in _text(source, first).split("\n"):
        cleaned = line.strip().lstrip("/*!").rstrip("*/").strip()
        if cleaned:
            return cleaned
    return ""


def _header_end(body: Node) -> int:
    """Where a definition's header ends: at its body, or at the body's `{` when the body starts with a
    keyword (Go's `interface { … }`)."""
    for child in body.children:
        if child.type == "{":
            return child.start_byte
    return body.start_byte


def _group_keyword(spec: LanguageSpec, node: Node, source: bytes) -> str:
    """`const ` for a constant inside Go's `const ( … )`, so its stub still says what it is."""
    parent = node.parent
    if parent is not None and parent.type in spec.declaration_groups and parent.children:
        return _text(source, parent.children[0]) + " "
    return ""


def _header(spec: LanguageSpec, outer: Node, body: Node | None, source: bytes) -> str:
    end = _header_end(body) if body is not None else outer.end_byte
    return _group_keyword(spec, outer, source) + source[outer.start_byte : end].decode("utf-8", "replace").rstrip()


def _single_line(text: str) -> str:
    return " ".join(text.split())


def _members(spec: LanguageSpec, body: Node, source: bytes) -> list[str]:
    """One line per member of a class body: method signatures with elided bodies, and fields."""
    cursor = QueryCursor(query_for(spec.language_id, "members"))
    cursor.set_max_start_depth(1)  # the body's own children, not what is nested in them
    methods: dict[int, tuple[Node, Node]] = {}
    fields: dict[int, Node] = {}
    for _, captures in cursor.matches(body):
        if "method" in captures and "body" in captures:
            member = captures["method"][0]
            methods[member.id] = (member, captures["body"][0])
        elif "field" in captures:
            member = captures["field"][0]
            fields[member.id] = member
    lines: list[str] = []
    method_count = 0
    members = [m for m, _ in methods.values()] + [f for f in fields.values() if f.id not in methods]
    for member in sorted(members, key=lambda node: node.start_byte):
        if member.id in methods:
            if method_count >= MAX_METHODS_PER_CLASS:
                continue
            method_count += 1
            member_body = methods[member.id][1]
            signature = source[member.start_byte : _header_end(member_body)].decode("utf-8", "replace").rstrip()
            if spec.style.block_closer:
                signature = _single_line(signature)  # annotations and wrapped parameters on one line
            lines.append(f"{signature} {spec.stub_body}")
        elif member.id not in methods:
            lines.append(_first_line(_text(source, member)))
        if len(lines) >= MAX_MEMBERS_PER_CLASS:
            lines.append("...")
            break
    return lines


def _indented_stub(spec: LanguageSpec, kind: str, header: str, body: Node | None, source: bytes) -> str:
    """Python's stubs: the docstring's first line and `...` inside the indented body."""
    lines = [header]
    doc = _docstring(body, source)
    if doc:
        lines.append(f'    """{doc}"""')
    members = _members(spec, body, source) if kind == "class" and body is not None else []
    lines.extend("    " + member for member in members)
    if kind != "class" or len(lines) == 1:
        lines.append(f"    {spec.stub_body}")
    return "\n".join(lines)


def _brace_stub(spec: LanguageSpec, kind: str, header: str, outer: Node, body: Node, source: bytes) -> str:
    """`header { ... }` for a function; for a type, its members between the braces."""
    doc = _doc_comment(spec, outer, source)
    lines = [f"{spec.line_comment} {doc}"] if doc else []
    if kind == "function":
        lines.append(f"{header} {spec.stub_body}")
        return "\n".join(lines)
    tail = source[body.end_byte : outer.end_byte].decode("utf-8", "replace").strip()  # `} name_t;`, `};`
    indent = spec.style.default_indent
    members = _members(spec, body, source)
    if not members:
        lines.append(header + " {}" + tail)
        return "\n".join(lines)
    lines.append(header + " {")
    lines.extend(indent + member for member in members)
    lines.append("}" + (tail if not tail or tail.startswith(";") else " " + tail))
    return "\n".join(lines)


def _stub(spec: LanguageSpec, kind: str, node: Node, body: Node | None, source: bytes) -> str:
    outer = outer_node(spec, node)
    if kind == "constant" or body is None:
        text = _text(source, outer)
        if spec.style.block_closer and kind != "constant":
            text = _single_line(text)  # a prototype: `int add(int a,\n int b);`
        doc = _doc_comment(spec, outer, source) if not spec.docstrings else ""
        stub = _group_keyword(spec, outer, source) + _first_line(text)
        return f"{spec.line_comment} {doc}\n{stub}" if doc else stub
    header = _header(spec, outer, body, source)
    if spec.docstrings:
        return _indented_stub(spec, kind, header, body, source)
    return _brace_stub(spec, kind, header, outer, body, source)


_NAME_TYPES = frozenset({"identifier", "field_identifier", "destructor_name", "operator_name"})


def _declared_function(declarator: Node) -> Node | None:
    """The name a C/C++ declarator declares as a function (`**f(void)` → `f`, `Widget::size() const` →
    `size`), or None when it declares no function (`*pointer`)."""
    node: Node | None = declarator
    while node is not None and node.type != "function_declarator":
        inner = node.child_by_field_name("declarator")
        node = inner if inner is not None else (node.named_children[0] if node.type == "reference_declarator" and node.named_children else None)
    name = node.child_by_field_name("declarator") if node is not None else None
    while name is not None and name.type == "qualified_identifier":
        name = name.child_by_field_name("name")
    return name if name is not None and name.type in _NAME_TYPES else None


def extract_definitions(spec: LanguageSpec, source: bytes, path: str) -> list[Definition]:
    tree = parse(spec, source)
    imports = {node.id for node in top_level_imports(spec, tree.root_node)}  # `const fs = require("fs")` is no definition
    chosen: dict[tuple[int, str], tuple[int, str, Node, Node | None]] = {}
    for _, captures in QueryCursor(query_for(spec.language_id, "definitions")).matches(tree.root_node):
        kind = next((k for k in _KINDS if k in captures), None)
        name_node = captures["name"][0] if "name" in captures else None
        if name_node is None and "declarator" in captures:
            name_node = _declared_function(captures["declarator"][0])
        if kind is None or name_node is None:
            continue
        node = captures[kind][0]
        name = _text(source, name_node)
        key = (node.id, name)
        rank = _KINDS.index(kind)
        if key in chosen and chosen[key][0] <= rank:
            continue
        outer = outer_node(spec, node)
        if outer.id in imports or node.id in imports or not is_top_level(spec, outer):
            continue
        chosen[key] = (rank, kind, node, captures["body"][0] if "body" in captures else None)
    found = []
    family = spec.definitions_family
    for (_, name), (_, kind, node, body) in sorted(chosen.items(), key=lambda item: item[1][2].start_byte):
        outer = outer_node(spec, node)
        found.append(Definition(name, kind, _stub(spec, kind, node, body, source), path, outer.start_point[0], family))
    return found


def import_lines(spec: LanguageSpec, source: bytes) -> list[tuple[int, str]]:
    """(byte offset, text) of the file's top-level imports."""
    tree = parse(spec, source)
    return [(node.start_byte, _text(source, node).rstrip()) for node in top_level_imports(spec, tree.root_node)]

"""Definitions a file offers to others (functions, classes with their methods, module constants), as
short stubs: signature, first docstring line, elided body."""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from fireside.context.languages import LanguageSpec
from fireside.context.syntax import parse

MAX_METHODS_PER_CLASS = 12
MAX_CONSTANT_CHARS = 120


@dataclass(frozen=True)
class Definition:
    name: str
    kind: str  # "function", "class" or "constant"
    stub: str  # the text shown to the model
    path: str
    line: int  # 0-based line of the definition


def _text(source: bytes, node: Node) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", "replace")


def _docstring(spec: LanguageSpec, body: Node | None, source: bytes) -> str:
    if body is None or not body.named_children:
        return ""
    first = body.named_children[0]
    if first.type != spec.statement_wrapper or not first.named_children:
        return ""
    expression = first.named_children[0]
    if expression.type not in spec.string_types:
        return ""
    text = _text(source, expression).strip("\"'rRbBuUfF \n")
    return text.strip().split("\n", 1)[0].strip()


def _indent_of(source: bytes, node: Node) -> str:
    line_start = source.rfind(b"\n", 0, node.start_byte) + 1
    return source[line_start : node.start_byte].decode("utf-8", "replace")


def _header(spec: LanguageSpec, node: Node, outer: Node, source: bytes) -> str:
    body = node.child_by_field_name(spec.body_field)
    end = body.start_byte if body is not None else node.end_byte
    return source[outer.start_byte : end].decode("utf-8", "replace").rstrip()


def _function_stub(spec: LanguageSpec, node: Node, outer: Node, source: bytes, indent: str) -> str:
    header = _header(spec, node, outer, source)
    doc = _docstring(spec, node.child_by_field_name(spec.body_field), source)
    inner = indent + "    "
    lines = [header]
    if doc:
        lines.append(f'{inner}"""{doc}"""')
    lines.append(f"{inner}{spec.stub_body}")
    return "\n".join(lines)


def _unwrap(spec: LanguageSpec, node: Node) -> Node:
    if node.type == spec.decorated_wrapper:
        inner = node.child_by_field_name("definition")
        if inner is not None:
            return inner
    return node


def _class_stub(spec: LanguageSpec, node: Node, outer: Node, source: bytes) -> str:
    header = _header(spec, node, outer, source)
    body = node.child_by_field_name(spec.body_field)
    lines = [header]
    doc = _docstring(spec, body, source)
    if doc:
        lines.append(f'    """{doc}"""')
    methods = 0
    for child in body.named_children if body is not None else []:
        inner = _unwrap(spec, child)
        if child.type == spec.statement_wrapper and child.named_children and child.named_children[0].type in spec.assignment_types:
            lines.append("    " + _text(source, child).split("\n", 1)[0][:MAX_CONSTANT_CHARS])  # fields
        elif inner.type in spec.function_types and methods < MAX_METHODS_PER_CLASS:
            signature = _header(spec, inner, inner, source)  # no decorators: keep stubs short
            lines.append(f"    {signature} {spec.stub_body}")
            methods += 1
    if len(lines) == 1:
        lines.append(f"    {spec.stub_body}")
    return "\n".join(lines)


def extract_definitions(spec: LanguageSpec, source: bytes, path: str) -> list[Definition]:
    tree = parse(spec, source)
    found: list[Definition] = []
    for child in tree.root_node.named_children:
        node = _unwrap(spec, child)
        name_node = node.child_by_field_name("name")
        line = child.start_point[0]
        if node.type in spec.function_types and name_node is not None:
            found.append(Definition(_text(source, name_node), "function", _function_stub(spec, node, child, source, ""), path, line))
        elif node.type in spec.class_types and name_node is not None:
            found.append(Definition(_text(source, name_node), "class", _class_stub(spec, node, child, source), path, line))
        elif node.type == spec.statement_wrapper and node.named_children and node.named_children[0].type in spec.assignment_types:
            target = node.named_children[0].child_by_field_name("left")
            if target is not None and target.type == "identifier":
                text = _text(source, node).split("\n", 1)[0]
                if len(text) > MAX_CONSTANT_CHARS:
                    text = text[:MAX_CONSTANT_CHARS] + " ..."
                found.append(Definition(_text(source, target), "constant", text, path, line))
    return found


def import_lines(spec: LanguageSpec, source: bytes) -> list[tuple[int, str]]:
    """(byte offset, text) of the file's top-level imports."""
    tree = parse(spec, source)
    return [
        (child.start_byte, _text(source, child))
        for child in tree.root_node.named_children
        if child.type in spec.import_types
    ]

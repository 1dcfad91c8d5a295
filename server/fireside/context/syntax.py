"""What the syntax tree says about the cursor: enclosing scopes, strings/comments, block shape."""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node, Tree

from fireside.context.languages import LanguageSpec, outer_node, parser_for, top_level_imports


@dataclass(frozen=True)
class Scope:
    kind: str  # the node type, e.g. "function_definition"
    name: str
    header: str  # decorators and signature, up to the body
    start_offset: int  # code-point offset of the header's first character


@dataclass(frozen=True)
class CursorSyntax:
    scopes: tuple[Scope, ...]  # outermost first
    in_comment: bool
    in_string: bool
    wants_multiline: bool
    tree_had_errors: bool
    imports: tuple[tuple[int, str], ...] = ()  # (code-point offset, text) of top-level imports


def parse(spec: LanguageSpec, source: bytes, old_tree: Tree | None = None) -> Tree:
    parser = parser_for(spec.language_id)
    return parser.parse(source, old_tree) if old_tree is not None else parser.parse(source)


def _byte_offset(text: str, offset: int) -> int:
    return len(text[:offset].encode("utf-8", "surrogatepass"))


def _text(source: bytes, start: int, end: int) -> str:
    return source[start:end].decode("utf-8", "replace")


def _name_of(node: Node, source: bytes) -> str:
    """A scope's name: its `name` field, else the name inside its declarator (C's `int *f(void)`),
    its type (Rust's `impl Shape for Point`) or the variable it is assigned to (`const f = () => …`)."""
    named = node.child_by_field_name("name")
    declarator = node
    while named is None and (declarator := declarator.child_by_field_name("declarator")) is not None:
        if declarator.type.endswith("identifier") or declarator.type in ("destructor_name", "operator_name"):
            named = declarator
    if named is None:
        named = node.child_by_field_name("type")
    if named is None and node.parent is not None and node.parent.child_by_field_name("value") == node:
        named = node.parent.child_by_field_name("name")
    return _text(source, named.start_byte, named.end_byte) if named is not None else ""


def _scope_of(spec: LanguageSpec, node: Node, source: bytes) -> Scope:
    outer = outer_node(spec, node)
    body = node.child_by_field_name(spec.body_field)
    header_end = body.start_byte if body is not None else node.end_byte
    if body is not None and spec.style.block_closer:
        # Brace languages: the header ends with the body's `{`, as the line reads in the file.
        opener = next((child for child in body.children if child.type == "{"), None)
        header_end = opener.end_byte if opener is not None else header_end
    header = _text(source, outer.start_byte, header_end).rstrip()
    start = len(source[: outer.start_byte].decode("utf-8", "replace"))
    return Scope(node.type, _name_of(node, source), header, start)


def _unclosed(node: Node) -> bool:
    """Whether ``node``'s closing bracket is missing (the user is still typing the block)."""
    last = node.children[-1] if node.children else None
    while last is not None and last.children:
        last = last.children[-1]
    return last is None or last.is_missing or (last.type != "}" and node.has_error)


def _indent_at(text: str, offset: int) -> int:
    line_start = text.rfind("\n", 0, offset) + 1
    line = text[line_start:offset + 1]
    return len(line) - len(line.lstrip())


def analyse_cursor(spec: LanguageSpec, text: str, offset: int, tree: Tree | None = None) -> CursorSyntax:
    source = text.encode("utf-8", "surrogatepass")
    if tree is None:
        tree = parse(spec, source)
    cursor_byte = _byte_offset(text, offset)
    # Probe at the last non-blank character before the cursor: a blank line being typed on is not
    # part of any node yet, but the statement above it is inside the scopes that enclose the cursor.
    probe_offset = len(text[:offset].rstrip())
    probe_byte = _byte_offset(text, probe_offset)
    node = tree.root_node.descendant_for_byte_range(max(0, probe_byte - 1), probe_byte)
    scopes: list[Scope] = []
    in_comment = in_string = False
    probe = node
    while probe is not None:
        # In a brace language a scope whose `}` comes before the cursor has been left.
        closed_before = spec.style.block_closer and probe.end_byte <= cursor_byte and not _unclosed(probe)
        if probe.type in spec.scope_types and not closed_before:
            scopes.append(_scope_of(spec, probe, source))
        if probe.type in spec.comment_types and probe.start_byte < cursor_byte <= probe.end_byte:
            in_comment = True
        if probe.type in spec.string_types and probe.start_byte < cursor_byte < probe.end_byte:
            in_string = True
        probe = probe.parent
    scopes.reverse()

    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    before_on_line = text[line_start:offset]
    if not before_on_line.strip() and not spec.style.block_closer:
        # On a blank line the indentation decides: a dedented cursor has left the inner scopes.
        scopes = [scope for scope in scopes if _indent_at(text, scope.start_offset) < len(before_on_line)]
    after_on_line = text[offset : len(text) if line_end < 0 else line_end]
    previous_line = text[: line_start - 1].rsplit("\n", 1)[-1] if line_start else ""
    # A new statement on an empty line, or the first line of a block just opened, can take several
    # lines; anything typed mid-line is finished on that line.
    wants_multiline = (
        not after_on_line.strip()
        and not before_on_line.strip()
        and not in_string
        and not in_comment
    ) or (not after_on_line.strip() and previous_line.rstrip().endswith(spec.style.block_openers) and not before_on_line.strip())
    imports = tuple(
        (len(source[: node.start_byte].decode("utf-8", "replace")), _text(source, node.start_byte, node.end_byte).rstrip())
        for node in top_level_imports(spec, tree.root_node)
    )
    return CursorSyntax(tuple(scopes), in_comment, in_string, wants_multiline, tree.root_node.has_error, imports)

"""What Fireside knows about one language: its grammar, the node types that matter at the cursor, and
three tree-sitter queries (imports, top-level definitions, class members). The languages themselves are
data in ``fireside.context.specs``; the code that uses them (syntax, definitions, trees) is generic."""

from __future__ import annotations

from dataclasses import dataclass

from fireside.context.text_style import TextStyle


@dataclass(frozen=True)
class LanguageSpec:
    language_id: str  # the editor's (LSP/VS Code) language id; the key of LANGUAGES
    grammar_module: str  # a per-language PyPI grammar package (works offline, unlike language packs)
    file_suffixes: tuple[str, ...]
    line_comment: str  # for the prompt's header lines ("// Path: …")
    style: TextStyle  # block openers/closers, quotes, default indentation: the text-level rules
    # --- the cursor's surroundings ---------------------------------------------------------------
    scope_types: frozenset[str]  # nodes whose header is useful context (functions, classes, impls)
    string_types: frozenset[str]
    comment_types: frozenset[str]
    block_types: frozenset[str]  # blocks: a completion inside one stops where it closes
    # Nodes around one definition whose text belongs to its header: decorators, `export`,
    # `template <…>`, `const f = …` around an arrow function, `typedef` around a struct.
    wrapper_types: frozenset[str]
    # Nodes that hold top-level definitions without being one: namespaces, `#ifndef` guards,
    # `extern "C" { … }`, Go's `const ( … )` groups. A definition is top-level when every node
    # above it (up to the root) is a wrapper or a container.
    container_types: frozenset[str]
    # --- queries (tree-sitter's S-expression patterns) --------------------------------------------
    imports_query: str  # @import: an import, `require`, `use`, `#include`, `package` line
    # @function / @class / @constant on a definition, with @name (or a C @declarator holding it) and, where it
    # has one, @body
    # (a stub shows the header before the body and elides the body).
    definitions_query: str
    # Run on a class body, its direct children: @method (with @body: signature + elided body) or
    # @field (its first line), for the class's stub.
    members_query: str
    stub_body: str  # what stands for an elided body ("..." or "{ ... }")
    docstrings: bool = False  # a definition's documentation is its body's first string (Python), else the comment above it
    doc_comment_skip: frozenset[str] = frozenset()  # nodes between a doc comment and its definition (`#[derive]`)
    # Groups such as Go's `const ( … )` / `type ( … )`: a definition inside keeps the group's keyword.
    declaration_groups: frozenset[str] = frozenset()
    grammar_function: str = "language"  # the grammar module's function (tree_sitter_typescript has two)
    aliases: tuple[str, ...] = ()  # other editor language ids for the same grammar (javascriptreact)
    family: str = ""  # files of one family share definitions (JavaScript with TypeScript, C with C++)
    body_field: str = "body"  # the field holding a scope's body; its header is everything before it

    @property
    def definitions_family(self) -> str:
        return self.family or self.language_id


def each(node_types: str, fields: str, capture: str) -> str:
    """The pattern `(TYPE fields) capture` for each of the space-separated ``node_types`` (a query
    alternation cannot carry fields: `[(a) (b)] name: …` is not a pattern)."""
    return "\n".join(f"({node_type} {fields}) {capture}" for node_type in node_types.split())

"""The per-language table. A new language is a grammar package plus one LanguageSpec in
``fireside.context.specs`` (node types and three queries), added to ``_SPECS`` below."""

from __future__ import annotations

import importlib
import threading
from functools import cache

from tree_sitter import Language, Node, Parser, Query, QueryCursor

from fireside.context.language_spec import LanguageSpec
from fireside.context.specs.c import C, CPP
from fireside.context.specs.go import GO
from fireside.context.specs.java import JAVA
from fireside.context.specs.javascript import JAVASCRIPT, TSX, TYPESCRIPT
from fireside.context.specs.python import PYTHON
from fireside.context.specs.rust import RUST

__all__ = [
    "LANGUAGES",
    "LanguageSpec",
    "SUPPORTED_LANGUAGE_IDS",
    "grammar_for",
    "language_for",
    "line_comment_for",
    "parser_for",
    "query_for",
]

_SPECS = (PYTHON, JAVASCRIPT, TYPESCRIPT, TSX, GO, RUST, JAVA, C, CPP)
LANGUAGES: dict[str, LanguageSpec] = {spec.language_id: spec for spec in _SPECS}
_BY_EDITOR_ID: dict[str, LanguageSpec] = {
    language_id: spec for spec in _SPECS for language_id in (spec.language_id, *spec.aliases)
}
# Every editor language id that gets tree-sitter context: the default of `enabledLanguages`.
SUPPORTED_LANGUAGE_IDS: tuple[str, ...] = tuple(_BY_EDITOR_ID)

# Languages without a grammar here still get completions (plain text, no syntax context); their
# line comment marks the prompt's header lines as comments.
_OTHER_LINE_COMMENTS = {
    "#": ("ruby", "perl", "r", "shellscript", "sh", "bash", "zsh", "fish", "powershell", "yaml", "toml", "makefile",
          "dockerfile", "elixir", "julia", "nim", "crystal", "coffeescript", "cmake", "ini", "properties", "graphql"),
    "//": ("csharp", "kotlin", "swift", "scala", "dart", "php", "objective-c", "objective-cpp", "groovy", "zig",
           "d", "fsharp", "solidity", "jsonc", "proto", "proto3", "hlsl", "glsl", "wgsl", "odin", "v", "gleam"),
    "--": ("lua", "sql", "haskell", "elm", "purescript", "ada", "vhdl"),
    ";": ("clojure", "scheme", "lisp", "commonlisp", "racket", "asm", "nasm"),
    "%": ("erlang", "latex", "tex", "matlab", "octave", "prolog"),
    '"': ("vim",),
}
_LINE_COMMENT_BY_ID = {language_id: marker for marker, ids in _OTHER_LINE_COMMENTS.items() for language_id in ids}


def language_for(language_id: str | None, uri: str = "") -> LanguageSpec | None:
    """The spec for an editor's language id, else for the file's suffix; None: plain text."""
    if language_id and language_id in _BY_EDITOR_ID:
        return _BY_EDITOR_ID[language_id]
    for spec in _SPECS:
        if uri.endswith(spec.file_suffixes):
            return spec
    return None


def line_comment_for(language_id: str | None, spec: LanguageSpec | None) -> str:
    if spec is not None:
        return spec.line_comment
    return _LINE_COMMENT_BY_ID.get(language_id or "", "#")


@cache
def grammar_for(language_id: str) -> Language:
    spec = LANGUAGES[language_id]
    grammar = importlib.import_module(spec.grammar_module)
    return Language(getattr(grammar, spec.grammar_function)())


_per_thread = threading.local()


def parser_for(language_id: str) -> Parser:
    """A parser for this thread: tree-sitter parsers must not be shared between threads."""
    parsers: dict[str, Parser] = _per_thread.__dict__.setdefault("parsers", {})
    if language_id not in parsers:
        parsers[language_id] = Parser(grammar_for(language_id))
    return parsers[language_id]


@cache
def query_for(language_id: str, kind: str) -> Query:
    """The spec's ``kind`` query ("imports", "definitions" or "members"), compiled once, on first use
    (compiling costs up to ~0.2 s for a big grammar; a completion needs only the imports one). A typo in
    a query fails here with tree-sitter's message."""
    spec = LANGUAGES[language_id]
    try:
        return Query(grammar_for(language_id), getattr(spec, f"{kind}_query"))
    except Exception as error:  # QueryError: say which query of which language
        raise ValueError(f"{language_id} {kind}_query: {error}") from error


# Imports sit at the top level or inside a container or two (`#ifndef` guards); a cursor that never
# descends further keeps the per-keystroke query cheap on a long file.
IMPORT_SEARCH_DEPTH = 4


def outer_node(spec: LanguageSpec, node: Node) -> Node:
    """``node`` with the wrappers around it (decorators, `export`, `template <…>`)."""
    while node.parent is not None and node.parent.type in spec.wrapper_types:
        node = node.parent
    return node


def is_top_level(spec: LanguageSpec, node: Node) -> bool:
    """Whether ``node`` sits at the top of its file, possibly inside wrappers and containers."""
    parent = node.parent
    while parent is not None and parent.parent is not None:
        if parent.type not in spec.container_types and parent.type not in spec.wrapper_types:
            return False
        parent = parent.parent
    return True


def top_level_imports(spec: LanguageSpec, root: Node) -> list[Node]:
    """The file's top-level import nodes, in document order."""
    cursor = QueryCursor(query_for(spec.language_id, "imports"))
    cursor.set_max_start_depth(IMPORT_SEARCH_DEPTH)
    found = {node.id: node for node in cursor.captures(root).get("import", []) if is_top_level(spec, node)}
    return sorted(found.values(), key=lambda node: node.start_byte)

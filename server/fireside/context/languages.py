"""The per-language table. A new language is a grammar package plus one entry here."""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from functools import cache

from tree_sitter import Language, Parser


@dataclass(frozen=True)
class LanguageSpec:
    language_id: str
    grammar_module: str  # a per-language PyPI grammar package (works offline, unlike language packs)
    file_suffixes: tuple[str, ...]
    line_comment: str
    scope_types: frozenset[str]  # nodes whose header is useful context (functions, classes)
    body_field: str  # the field holding a scope's body; the header is everything before it
    string_types: frozenset[str]
    comment_types: frozenset[str]
    block_opener_suffix: str  # a line ending with this opens a block (an empty body wants several lines)
    block_types: frozenset[str]  # statement blocks: a completion inside one stops where it closes
    function_types: frozenset[str]
    class_types: frozenset[str]
    decorated_wrapper: str  # a node that wraps a definition with its decorators ("" if none)
    import_types: frozenset[str]
    statement_wrapper: str  # the node around an expression used as a statement (docstrings, assignments)
    assignment_types: frozenset[str]
    stub_body: str  # what stands for an elided body in a definition stub


LANGUAGES: dict[str, LanguageSpec] = {
    "python": LanguageSpec(
        language_id="python",
        grammar_module="tree_sitter_python",
        file_suffixes=(".py", ".pyi"),
        line_comment="#",
        scope_types=frozenset({"function_definition", "class_definition"}),
        body_field="body",
        string_types=frozenset({"string", "string_content"}),
        comment_types=frozenset({"comment"}),
        block_opener_suffix=":",
        block_types=frozenset({"block"}),
        function_types=frozenset({"function_definition"}),
        class_types=frozenset({"class_definition"}),
        decorated_wrapper="decorated_definition",
        import_types=frozenset({"import_statement", "import_from_statement", "future_import_statement"}),
        statement_wrapper="expression_statement",
        assignment_types=frozenset({"assignment"}),
        stub_body="...",
    ),
}


def language_for(language_id: str | None, uri: str = "") -> LanguageSpec | None:
    if language_id and language_id in LANGUAGES:
        return LANGUAGES[language_id]
    for spec in LANGUAGES.values():
        if uri.endswith(spec.file_suffixes):
            return spec
    return None


@cache
def grammar_for(language_id: str) -> Language:
    grammar = importlib.import_module(LANGUAGES[language_id].grammar_module)
    return Language(grammar.language())


_per_thread = threading.local()


def parser_for(language_id: str) -> Parser:
    """A parser for this thread: tree-sitter parsers must not be shared between threads."""
    parsers: dict[str, Parser] = _per_thread.__dict__.setdefault("parsers", {})
    if language_id not in parsers:
        parsers[language_id] = Parser(grammar_for(language_id))
    return parsers[language_id]

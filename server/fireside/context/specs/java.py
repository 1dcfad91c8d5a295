"""Java: one top-level type per file, its members listed in the stub; annotations are part of the header."""

from fireside.context.language_spec import LanguageSpec, each
from fireside.context.text_style import braces

_TYPES = ("class_declaration", "interface_declaration", "enum_declaration", "record_declaration", "annotation_type_declaration")

JAVA = LanguageSpec(
    language_id="java",
    grammar_module="tree_sitter_java",
    file_suffixes=(".java",),
    line_comment="//",
    style=braces(),
    scope_types=frozenset({*_TYPES, "method_declaration", "constructor_declaration", "compact_constructor_declaration"}),
    string_types=frozenset({"string_literal", "text_block", "character_literal", "string_fragment"}),
    comment_types=frozenset({"line_comment", "block_comment"}),
    block_types=frozenset(
        {"block", "class_body", "interface_body", "enum_body", "constructor_body", "switch_block", "annotation_type_body", "array_initializer"}
    ),
    wrapper_types=frozenset(),
    container_types=frozenset(),
    imports_query="""
        (package_declaration) @import
        (import_declaration) @import
    """,
    definitions_query=each(" ".join(_TYPES), "name: (identifier) @name body: (_) @body", "@class"),
    members_query=each("method_declaration constructor_declaration compact_constructor_declaration", "body: (_) @body", "@method")
    + """
        [(method_declaration) (field_declaration) (constant_declaration) (enum_constant)
         (class_declaration) (interface_declaration) (enum_declaration) (record_declaration)] @field
    """,
    stub_body="{ ... }",
)

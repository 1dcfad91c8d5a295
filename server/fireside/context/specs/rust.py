"""Rust: `use` lines, impl blocks as classes of their type, doc comments above attributes."""

from fireside.context.language_spec import LanguageSpec, each
from fireside.context.text_style import braces

RUST = LanguageSpec(
    language_id="rust",
    grammar_module="tree_sitter_rust",
    file_suffixes=(".rs",),
    line_comment="//",
    style=braces(quotes='"'),  # a single quote is a lifetime ('a) as often as a char
    scope_types=frozenset({"function_item", "impl_item", "trait_item", "mod_item", "struct_item", "enum_item"}),
    string_types=frozenset({"string_literal", "raw_string_literal", "char_literal", "string_content"}),
    comment_types=frozenset({"line_comment", "block_comment"}),
    block_types=frozenset(
        {"block", "declaration_list", "field_declaration_list", "enum_variant_list", "match_block", "field_initializer_list"}
    ),
    wrapper_types=frozenset(),
    container_types=frozenset({"mod_item", "declaration_list", "foreign_mod_item"}),
    imports_query="""
        (use_declaration) @import
        (extern_crate_declaration) @import
        (mod_item !body) @import
    """,
    definitions_query=each("struct_item union_item", "name: (type_identifier) @name body: (field_declaration_list) @body", "@class")
    + each("const_item static_item", "name: (identifier) @name", "@constant")
    + """
        (function_item name: (identifier) @name body: (_) @body) @function
        (function_signature_item name: (identifier) @name) @function
        (enum_item name: (type_identifier) @name body: (_) @body) @class
        (trait_item name: (type_identifier) @name body: (_) @body) @class
        (impl_item
          type: [(type_identifier) @name
                 (generic_type type: (type_identifier) @name)
                 (scoped_type_identifier name: (type_identifier) @name)]
          body: (_) @body) @class
        (struct_item name: (type_identifier) @name) @constant
        (type_item name: (type_identifier) @name) @constant
        (macro_definition name: (identifier) @name) @constant
    """,
    members_query="""
        (function_item body: (_) @body) @method
        [(function_signature_item) (field_declaration) (enum_variant) (const_item) (type_item) (associated_type)] @field
    """,
    stub_body="{ ... }",
    doc_comment_skip=frozenset({"attribute_item"}),
)

"""Go: tabs, `import ( … )` blocks, methods declared beside their type."""

from fireside.context.language_spec import LanguageSpec
from fireside.context.text_style import braces

GO = LanguageSpec(
    language_id="go",
    grammar_module="tree_sitter_go",
    file_suffixes=(".go",),
    line_comment="//",
    style=braces(default_indent="\t", quotes="\"'`"),
    scope_types=frozenset({"function_declaration", "method_declaration", "func_literal"}),
    string_types=frozenset(
        {"interpreted_string_literal", "raw_string_literal", "rune_literal", "interpreted_string_literal_content"}
    ),
    comment_types=frozenset({"comment"}),
    block_types=frozenset(
        {
            "block", "field_declaration_list", "interface_type", "literal_value", "expression_switch_statement",
            "type_switch_statement", "select_statement",
        }
    ),
    wrapper_types=frozenset(),
    container_types=frozenset({"const_declaration", "var_declaration", "type_declaration"}),
    declaration_groups=frozenset({"const_declaration", "var_declaration", "type_declaration"}),
    imports_query="""
        (package_clause) @import
        (import_declaration) @import
    """,
    definitions_query="""
        (function_declaration name: (identifier) @name body: (_) @body) @function
        (method_declaration name: (field_identifier) @name body: (_) @body) @function
        (type_spec name: (type_identifier) @name type: (struct_type (field_declaration_list) @body)) @class
        (type_spec name: (type_identifier) @name type: (interface_type) @body) @class
        (type_spec name: (type_identifier) @name) @constant
        (type_alias name: (type_identifier) @name) @constant
        (const_spec name: (identifier) @name) @constant
        (var_spec name: (identifier) @name) @constant
    """,
    members_query="""
        [(field_declaration) (method_elem) (type_elem)] @field
    """,
    stub_body="{ ... }",
)

"""JavaScript (with JSX), TypeScript and TSX: one family, so a .ts file sees a .js file's definitions."""

from fireside.context.language_spec import LanguageSpec, each
from fireside.context.text_style import braces

_STYLE = braces(default_indent="  ", quotes="\"'`")

_SCOPES = frozenset(
    {
        "function_declaration", "generator_function_declaration", "function_expression", "function",
        "arrow_function", "class_declaration", "class", "method_definition",
    }
)
_TS_SCOPES = _SCOPES | {"abstract_class_declaration", "interface_declaration", "enum_declaration", "internal_module", "module"}

_REQUIRE = """(variable_declarator
      value: [(call_expression function: (identifier) @_require)
              (member_expression object: (call_expression function: (identifier) @_require))])
    (#eq? @_require "require")"""
_IMPORTS = f"""
    (import_statement) @import
    {each("lexical_declaration variable_declaration", _REQUIRE, "@import")}
    ((expression_statement (call_expression function: (identifier) @_require)) (#eq? @_require "require")) @import
"""

# A function is a declaration, a `const f = (…) => { … }` or a CommonJS `exports.f = function (…) { … }`;
# an arrow with an expression body is shown whole, as a constant.
_FUNCTION_VALUE = "[(arrow_function body: (statement_block) @body) (function_expression body: (_) @body)]"
_DEFINITIONS = f"""
    {each("function_declaration generator_function_declaration", "name: (identifier) @name body: (_) @body", "@function")}
    {each("class_declaration class", "name: (_) @name body: (_) @body", "@class")}
    {each("lexical_declaration variable_declaration", f"(variable_declarator name: (identifier) @name value: {_FUNCTION_VALUE})", "@function")}
    {each("lexical_declaration variable_declaration", "(variable_declarator name: (identifier) @name)", "@constant")}
    (expression_statement
      (assignment_expression
        left: (member_expression property: (property_identifier) @name)
        right: {_FUNCTION_VALUE})) @function
"""

_TS_DEFINITIONS = _DEFINITIONS + each(
    "abstract_class_declaration interface_declaration enum_declaration", "name: (_) @name body: (_) @body", "@class"
) + """
    (type_alias_declaration name: (_) @name) @constant
    (function_signature name: (_) @name) @function
"""

_METHODS = """
    (method_definition body: (_) @body) @method
"""
_MEMBERS = _METHODS + "(field_definition) @field"

_TS_MEMBERS = _METHODS + """
    [(public_field_definition) (abstract_method_signature) (method_signature) (property_signature)
     (index_signature) (construct_signature) (call_signature) (enum_assignment) (property_identifier)] @field
"""

_COMMON = dict(
    line_comment="//",
    style=_STYLE,
    string_types=frozenset({"string", "template_string", "string_fragment", "regex"}),
    comment_types=frozenset({"comment"}),
    wrapper_types=frozenset({"export_statement", "lexical_declaration", "variable_declaration", "variable_declarator", "pair"}),
    imports_query=_IMPORTS,
    stub_body="{ ... }",
    family="javascript",
)

_TS_COMMON = dict(
    _COMMON,
    grammar_module="tree_sitter_typescript",
    scope_types=_TS_SCOPES,
    block_types=frozenset(
        {"statement_block", "class_body", "object", "switch_body", "interface_body", "enum_body", "object_type"}
    ),
    wrapper_types=_COMMON["wrapper_types"] | {"ambient_declaration"},
    # `namespace N { … }` and `declare module "m" { … }` hold definitions.
    container_types=frozenset({"internal_module", "module", "expression_statement", "statement_block", "ambient_declaration"}),
    definitions_query=_TS_DEFINITIONS,
    members_query=_TS_MEMBERS,
)

JAVASCRIPT = LanguageSpec(
    language_id="javascript",
    grammar_module="tree_sitter_javascript",
    file_suffixes=(".js", ".mjs", ".cjs", ".jsx"),
    scope_types=_SCOPES,
    block_types=frozenset({"statement_block", "class_body", "object", "switch_body"}),
    container_types=frozenset(),
    definitions_query=_DEFINITIONS,
    members_query=_MEMBERS,
    aliases=("javascriptreact",),  # the grammar parses JSX
    **_COMMON,
)

TYPESCRIPT = LanguageSpec(
    language_id="typescript",
    file_suffixes=(".ts", ".mts", ".cts"),
    grammar_function="language_typescript",
    **_TS_COMMON,
)

TSX = LanguageSpec(
    language_id="typescriptreact",
    file_suffixes=(".tsx",),
    grammar_function="language_tsx",
    **_TS_COMMON,
)

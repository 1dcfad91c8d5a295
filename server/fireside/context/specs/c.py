"""C and C++: one family (C++ includes C headers). Headers (.h) are parsed as C++, a superset in practice;
definitions are found inside include guards, `extern "C"` and namespaces."""

from fireside.context.language_spec import LanguageSpec, each
from fireside.context.text_style import braces


# A function's name sits deep in its declarator (`char **f(void)`, `int &Widget::get() const`): the queries
# capture the declarator, and definitions.py follows its `declarator` fields down to the name.
def _definitions(declarators: str) -> str:
    return f"""
        (function_definition declarator: (_) @declarator body: (_) @body) @function
        (declaration declarator: [{declarators}] @declarator) @function
        {each("struct_specifier union_specifier enum_specifier", "name: (type_identifier) @name body: (_) @body", "@class")}
        (type_definition
          type: [(struct_specifier body: (_) @body) (union_specifier body: (_) @body) (enum_specifier body: (_) @body)]
          declarator: (type_identifier) @name) @class
        (type_definition declarator: (type_identifier) @name) @constant
        {each("preproc_def preproc_function_def", "name: (identifier) @name value: (_)", "@constant")}
        (declaration declarator: [(identifier) @name (init_declarator declarator: (identifier) @name)]) @constant
    """


_C_STRINGS = frozenset({"string_literal", "char_literal", "system_lib_string", "string_content"})
_C_BLOCKS = frozenset({"compound_statement", "field_declaration_list", "enumerator_list", "initializer_list"})
_C_CONTAINERS = frozenset(
    {"preproc_ifdef", "preproc_if", "preproc_else", "preproc_elif", "preproc_elifdef", "linkage_specification", "declaration_list"}
)

C = LanguageSpec(
    language_id="c",
    grammar_module="tree_sitter_c",
    file_suffixes=(".c",),
    line_comment="//",
    style=braces(preprocessor=True),
    scope_types=frozenset({"function_definition", "struct_specifier", "union_specifier", "enum_specifier"}),
    string_types=_C_STRINGS,
    comment_types=frozenset({"comment"}),
    block_types=_C_BLOCKS,
    wrapper_types=frozenset({"type_definition"}),
    container_types=_C_CONTAINERS,
    imports_query="(preproc_include) @import",
    definitions_query=_definitions("(function_declarator) (pointer_declarator)"),
    members_query="[(field_declaration) (enumerator)] @field",
    stub_body="{ ... }",
    family="c",
)

CPP = LanguageSpec(
    language_id="cpp",
    grammar_module="tree_sitter_cpp",
    file_suffixes=(".cpp", ".cc", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".h++", ".ipp", ".tpp", ".h"),
    line_comment="//",
    style=braces(preprocessor=True),
    scope_types=frozenset(
        {"function_definition", "struct_specifier", "union_specifier", "enum_specifier", "class_specifier", "namespace_definition"}
    ),
    string_types=_C_STRINGS | {"raw_string_literal"},
    comment_types=frozenset({"comment"}),
    block_types=_C_BLOCKS | {"declaration_list"},
    wrapper_types=frozenset({"type_definition", "template_declaration"}),
    container_types=_C_CONTAINERS | {"namespace_definition"},
    imports_query="""
        (preproc_include) @import
        (using_declaration) @import
        (namespace_alias_definition) @import
    """,
    definitions_query=_definitions("(function_declarator) (pointer_declarator) (reference_declarator)")
    + """
        (class_specifier name: (type_identifier) @name body: (_) @body) @class
        (alias_declaration name: (type_identifier) @name) @constant
    """,
    members_query="""
        (function_definition body: (_) @body) @method
        [(field_declaration) (declaration) (enumerator) (function_definition) (template_declaration)] @field
    """,
    stub_body="{ ... }",
    family="c",
)

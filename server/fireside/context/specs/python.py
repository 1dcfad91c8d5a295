"""Python: blocks by indentation, docstrings inside the body."""

from fireside.context.language_spec import LanguageSpec
from fireside.context.text_style import INDENTED

PYTHON = LanguageSpec(
    language_id="python",
    grammar_module="tree_sitter_python",
    file_suffixes=(".py", ".pyi"),
    line_comment="#",
    style=INDENTED,
    scope_types=frozenset({"function_definition", "class_definition"}),
    string_types=frozenset({"string", "string_content"}),
    comment_types=frozenset({"comment"}),
    block_types=frozenset({"block"}),
    wrapper_types=frozenset({"decorated_definition"}),
    container_types=frozenset(),
    imports_query="""
        (import_statement) @import
        (import_from_statement) @import
        (future_import_statement) @import
    """,
    definitions_query="""
        (function_definition name: (identifier) @name body: (_) @body) @function
        (class_definition name: (identifier) @name body: (_) @body) @class
        (expression_statement (assignment left: (identifier) @name)) @constant
    """,
    members_query="""
        (function_definition body: (_) @body) @method
        (decorated_definition definition: (function_definition body: (_) @body) @method)
        (expression_statement (assignment)) @field
    """,
    stub_body="...",
    docstrings=True,
)

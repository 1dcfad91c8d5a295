"""Code context from tree-sitter: syntax at the cursor, enclosing scopes. No pygls here."""

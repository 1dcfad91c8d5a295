"""One module per language family: each holds its LanguageSpec(s) as data (node types and queries)."""

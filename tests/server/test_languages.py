"""Every supported language with its real grammar: the context it builds at a cursor (enclosing scopes,
imports, a definition from another file of the project), the syntax-aware stop on a closing brace, and
the post-processing of brace languages (closers, indentation, tabs in Go).

Each language's project is two small files under tests/server/languages/<language id>/: one with a `|`
where the cursor is, inside a function that calls something the other file defines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from fireside.completion.fake_engine import FakeEngine
from fireside.completion.pipeline import complete
from fireside.completion.postprocess import CursorLine, finalize
from fireside.completion.stopping import SyntaxAwareStop
from fireside.completion.types import CompletionRequest
from fireside.config import FiresideConfig
from fireside.context.index import WorkspaceIndex
from fireside.context.languages import LANGUAGES, SUPPORTED_LANGUAGE_IDS, language_for, query_for
from fireside.context.syntax import analyse_cursor, parse
from fireside.context.trees import CompletionSplice, reparse
from fireside.context.workspace import source_files

PROJECTS = Path(__file__).parent / "languages"


@dataclass(frozen=True)
class Expected:
    scopes: list[tuple[str, str]]  # (name, header) outermost first
    imports: list[str]
    definition: str  # the name the cursor's file uses and the other file defines
    stub: str  # that definition's stub
    statement: str  # a statement that fits at the cursor
    after_block: str  # code that follows the function, for the stop tests


EXPECTED = {
    "javascript": Expected(
        [("Cart", "export class Cart {"), ("total", "total(rate) {")],
        ["import { formatPrice } from './format.js';", "const path = require('path');"],
        "formatPrice",
        "// Formats a price.\nexport function formatPrice(items, currency = 'EUR') { ... }",
        "return sum * rate;",
        "function more() {}",
    ),
    "typescript": Expected(
        [("Cart", "export class Cart {"), ("total", "total(rate: number): number {")],
        ['import type { Item } from "./item";', 'import { formatPrice } from "./format";'],
        "formatPrice",
        '// Formats a price.\nexport function formatPrice(items: Item[], currency: string = "EUR"): string { ... }',
        "return sum * rate;",
        "function more(): void {}",
    ),
    "typescriptreact": Expected(
        [("App", "export function App(props: { items: number[] }) {")],
        ['import React from "react";', 'import { formatPrice } from "./format";'],
        "formatPrice",
        "// Formats a price.\nexport const formatPrice = (items: number[]): string => { ... }",
        "return <p>{label}</p>;",
        "function More() { return <br />; }",
    ),
    "go": Expected(
        [("Total", "func (c *Cart) Total(rate float64) float64 {")],
        ["package shop", 'import (\n\t"fmt"\n\t"strings"\n)'],
        "FormatPrice",
        "// FormatPrice formats a price.\nfunc FormatPrice(items []int) string { ... }",
        "return float64(len(sum)) * rate",
        "func more() {}",
    ),
    "rust": Expected(
        [("Cart", "impl Cart {"), ("total", "pub fn total(&self, rate: f64) -> f64 {")],
        ["use std::collections::HashMap;", "use crate::format::format_price;"],
        "format_price",
        "// Formats a price.\npub fn format_price(items: &[u32]) -> String { ... }",
        "sum.len() as f64 * rate",
        "fn more() {}",
    ),
    "java": Expected(
        [("Cart", "public class Cart {"), ("total", "public double total(double rate) {")],
        ["package shop;", "import java.util.List;"],
        "Prices",
        "// Formats prices.\npublic final class Prices {\n    public static String format(List<Integer> items) { ... }\n}",
        "return sum.length() * rate;",
        "void more() {}",
    ),
    "c": Expected(
        [("total", "static double total(const int *items, double rate) {")],
        ["#include <stdio.h>", '#include "format.h"'],
        "format_price",
        "// Formats a price.\nint format_price(const int *items);",
        "return sum * rate;",
        "int more(void) { return 0; }",
    ),
    "cpp": Expected(
        [("shop", "namespace shop {"), ("Cart", "class Cart {"), ("total", "double total(double rate) {")],
        ["#include <vector>", '#include "format.hpp"'],
        "format_price",
        "// Formats a price.\nstd::string format_price(const std::vector<int>& items);",
        "return sum * rate;",
        "int more() { return 0; }",
    ),
}


@dataclass(frozen=True)
class Project:
    language_id: str
    path: Path  # the file with the cursor
    text: str  # its text without the `|`
    offset: int

    @property
    def spec(self):
        return language_for(self.language_id, str(self.path))


def project(language_id: str) -> Project:
    for path in sorted((PROJECTS / language_id).iterdir()):
        raw = path.read_text()
        if "|" in raw:
            return Project(language_id, path, raw.replace("|", "", 1), raw.index("|"))
    raise AssertionError(f"no cursor in {language_id}")


def indexed(root: Path) -> WorkspaceIndex:
    index = WorkspaceIndex()
    for path in source_files(root):
        index.update_from_disk(path)
    return index


def test_every_editor_language_has_a_spec_and_a_project():
    assert set(EXPECTED) | {"python", "javascriptreact"} == set(SUPPORTED_LANGUAGE_IDS)
    assert FiresideConfig().enabled_languages == SUPPORTED_LANGUAGE_IDS
    assert language_for("javascriptreact").language_id == "javascript"  # the JavaScript grammar parses JSX
    for language_id in LANGUAGES:
        for kind in ("imports", "definitions", "members"):
            query_for(language_id, kind)  # every query compiles against its grammar


@pytest.mark.parametrize("language_id", list(EXPECTED))
def test_scopes_and_imports_at_the_cursor(language_id):
    case, expected = project(language_id), EXPECTED[language_id]
    syntax = analyse_cursor(case.spec, case.text, case.offset)
    assert [(scope.name, scope.header) for scope in syntax.scopes] == expected.scopes
    assert [text for _, text in syntax.imports] == expected.imports
    assert syntax.wants_multiline and not syntax.in_string and not syntax.in_comment and not syntax.tree_had_errors


@pytest.mark.parametrize("language_id", list(EXPECTED))
def test_a_definition_from_another_file_of_the_project(language_id):
    case, expected = project(language_id), EXPECTED[language_id]
    index = indexed(case.path.parent)
    names = re.findall(r"[A-Za-z_]\w*", case.text[: case.offset])
    found = index.lookup(names, exclude_path=str(case.path), family=case.spec.definitions_family)
    assert [(d.name, d.stub) for d in found] == [(expected.definition, expected.stub)]
    # Files of another language never lend their definitions.
    index.update_text("/elsewhere/other.py", f"def {expected.definition}(x):\n    return x\n")
    again = index.lookup([expected.definition], exclude_path=str(case.path), family=case.spec.definitions_family)
    assert [d.path for d in again] == [found[0].path]


@pytest.mark.parametrize("language_id", list(EXPECTED))
def test_the_prompt_carries_the_definition_under_a_path_comment(language_id):
    case, expected = project(language_id), EXPECTED[language_id]
    engine = FakeEngine()
    request = CompletionRequest(case.path.as_uri(), language_id, case.text, case.offset, 1, 16, case.path.name)
    complete(engine, request, max_prompt_tokens=3000, context_size=4096, cancelled=lambda: False,
             index=indexed(case.path.parent), workspace_root=str(case.path.parent),
             features=frozenset({"definitions", "imports", "scopes", "syntax-check"}))
    other = next(p.name for p in case.path.parent.iterdir() if p != case.path and expected.definition in p.read_text())
    assert engine.last_prompt_text.startswith(f"// Path: {other}\n{expected.stub}\n")
    assert f"\n// Path: {case.path.name}\n" in engine.last_prompt_text


@pytest.mark.parametrize("language_id", list(EXPECTED))
@pytest.mark.parametrize("document_closes_the_block", [True, False])
def test_generation_stops_where_the_block_closes(language_id, document_closes_the_block):
    """The completion writes the statement, the function's `}` and more. The stop cuts before that `}`
    when the document already has it below the cursor, and after it when the user is typing a new block."""
    case, expected = project(language_id), EXPECTED[language_id]
    text = case.text if document_closes_the_block else case.text[: case.offset]
    splice = CompletionSplice(case.spec, reparse(case.spec, None, text.encode()), case.offset, text)
    # No indentation in the completion: only the tree can tell where the block ends.
    generated = f"{expected.statement}\n}}\n{expected.after_block}\n"
    wanted = expected.statement if document_closes_the_block else f"{expected.statement}\n}}"
    assert generated[: splice.check(generated).block_end] == wanted
    stop = SyntaxAwareStop(CursorLine.from_text(text, case.offset, case.spec.style), True, splice)
    cut = next(c for end in range(1, len(generated) + 1) if (c := stop(generated[:end])) is not None)
    assert generated[:cut] == wanted


@pytest.mark.parametrize("language_id", list(EXPECTED))
def test_a_statement_that_stays_inside_the_block_is_not_cut(language_id):
    case, expected = project(language_id), EXPECTED[language_id]
    splice = CompletionSplice(case.spec, reparse(case.spec, None, case.text.encode()), case.offset, case.text)
    verdict = splice.check(expected.statement)
    assert verdict.block_end is None and verdict.parses


def cursor_at(source: str, language_id: str) -> CursorLine:
    return CursorLine.from_text(source.replace("|", ""), source.index("|"), LANGUAGES[language_id].style)


@pytest.mark.parametrize(
    ("language_id", "source", "generated", "expected"),
    [
        # the `}` below the cursor is not written a second time
        ("javascript", "function f(a) {\n  |\n}\n", "const b = a + 1;\n  return b;\n}", "const b = a + 1;\n  return b;"),
        ("java", "class A {\n    int f(int a) {\n        |\n    }\n}\n", "int b = a;\n        return b;\n    }\n}", "int b = a;\n        return b;"),
        # ... but a document still missing it gets it
        ("rust", "fn f(a: u32) -> u32 {\n    |", "let b = a + 1;\n    b\n}\n\nfn g() {}", "let b = a + 1;\n    b\n}"),
        # a `}` closing a block the completion opened is its own, even when the line below is a `}` too
        ("c", "int f(int a) {\n    |\n}\n", "if (a) {\n        a++;\n    }\n    return a;", "if (a) {\n        a++;\n    }\n    return a;"),
        # cut back to balanced brackets when the token limit came inside a block
        ("typescript", "function f(a: number) {\n  |\n}\n", "if (a) {\n    g();\n  }\n  while (a) {\n    a--;", "if (a) {\n    g();\n  }"),
        # Go is indented with tabs, even in a file that shows no indentation yet
        ("go", "func f(a int) int {\n|\n}\n", "b := a + 1\nreturn b", "\tb := a + 1\n\treturn b"),
        ("go", "func f(a int) int {\n\tif a > 0 {\n\t\t|\n\t}\n}\n", "a--\n        return a", "a--\n\t\treturn a"),
        # the file's own unit elsewhere (two spaces in this C++ file); a `}` line sits one level out
        ("cpp", "int f(int a) {\n  if (a) {\n    a++;\n|", "}", "  }"),
    ],
)
def test_multiline_post_processing_in_brace_languages(language_id, source, generated, expected):
    assert finalize(generated, cursor_at(source, language_id), multiline=True) == expected


@pytest.mark.parametrize(
    ("language_id", "source", "generated", "expected"),
    [
        ("javascript", "console.log(|);", "total, rate);", "total, rate"),
        ("typescript", "const xs: number[] = [|];", "1, 2, 3];", "1, 2, 3"),
        ("go", "if err := run(|); err != nil {", "ctx); err != nil {", "ctx"),
        ("rust", "fn f<'a>(s: &'a str) -> usize { g(|) }", "s) }", "s"),  # a lifetime is no quote
        ("java", "list.add(|);", "item);", "item"),
        ("c", 'printf("%d\\n", |);', "n);", "n"),
        ("cpp", "std::vector<int> v{|};", "1, 2};", "1, 2"),
        ("go", "fmt.Println(|)", "strings.Join(parts, \",\"))", 'strings.Join(parts, ",")'),  # keeps its own closer
    ],
)
def test_single_line_completions_never_repeat_the_closers_after_the_cursor(language_id, source, generated, expected):
    assert finalize(generated, cursor_at(source, language_id), multiline=False) == expected


@pytest.mark.parametrize(
    ("language_id", "source", "in_string", "in_comment"),
    [
        ("javascript", "const s = `hello ${name} |`;", True, False),
        ("typescript", "// a note |\nlet x = 1;", False, True),
        ("go", 'x := "abc|"', True, False),
        ("rust", "/* doc | */ fn f() {}", False, True),
        ("java", 'class A { String s = "ab|c"; }', True, False),
        ("c", "int x; // why |", False, True),
        ("cpp", 'auto s = R"(raw|)";', True, False),
    ],
)
def test_strings_and_comments_in_each_language(language_id, source, in_string, in_comment):
    syntax = analyse_cursor(LANGUAGES[language_id], source.replace("|", ""), source.index("|"))
    assert (syntax.in_string, syntax.in_comment) == (in_string, in_comment)
    assert not syntax.wants_multiline


def test_vendored_and_build_trees_of_other_languages_are_skipped(tmp_path):
    for relative in ["src/main.go", "src/lib.rs", "web/app.ts", "web/node_modules/x/index.js", "target/debug/build.rs",
                     "vendor/github.com/x/y.go", "cmake-build-debug/gen.cpp", "build/gen.c", "include/api.h",
                     "app/src/Main.java", "app/.gradle/cache/A.java"]:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n")
    found = sorted(p.relative_to(tmp_path).as_posix() for p in source_files(tmp_path))
    assert found == ["app/src/Main.java", "include/api.h", "src/lib.rs", "src/main.go", "web/app.ts"]


def test_a_language_without_a_grammar_gets_plain_completions_without_syntax_context():
    index = WorkspaceIndex()
    index.update_text("/w/lib.py", "def helper(x):\n    return x\n")
    engine = FakeEngine(text="print(helper(1))\nend\n")
    text = "local function run()\n  helper(2)\n  \nend\n"
    offset = text.index("  \nend") + 2
    request = CompletionRequest("file:///w/main.lua", "lua", text, offset, 1, 32, "main.lua")
    completion = complete(engine, request, max_prompt_tokens=3000, context_size=4096, cancelled=lambda: False,
                          index=index, workspace_root="/w")
    # No Python stub; the cursor line's indentation is left to token healing, as in every language.
    assert engine.last_prompt_text == "-- Path: main.lua\nlocal function run()\n  helper(2)\n"
    assert completion.text == "print(helper(1))"  # stopped at the line below the cursor


def test_languages_are_served_by_default_and_an_added_unsupported_one_too():
    from tests.support.lsp_wire import RawServer

    def inline(uri: str) -> list:
        params = {"textDocument": {"uri": uri}, "position": {"line": 1, "character": 1}, "context": {"triggerKind": 1}}
        return server.call("textDocument/inlineCompletion", params)["result"]["items"]

    server = RawServer("--engine", "fake", "--debounce-ms", "0")
    try:
        server.initialize()
        server.open("file:///tmp/fireside_languages/main.go", "func main() {\n\t\n}\n", language="go")
        server.open("file:///tmp/fireside_languages/app.rb", "def run\n  \nend\n", language="ruby")
        assert [item["insertText"] for item in inline("file:///tmp/fireside_languages/main.go")] == ["fake_completion(42)"]
        assert inline("file:///tmp/fireside_languages/app.rb") == []  # not enabled
        enabled = [*SUPPORTED_LANGUAGE_IDS, "ruby"]
        server.notify("workspace/didChangeConfiguration", {"settings": {"fireside": {"enabledLanguages": enabled}}})
        assert [item["insertText"] for item in inline("file:///tmp/fireside_languages/app.rb")] == ["fake_completion(42)"]
    finally:
        server.close()


def test_a_one_line_completion_keeps_the_closers_of_its_own_line():
    """Mid-line in a Go composite literal: `true},` closes the element the line opened, not the block."""
    text = 'package p\n\nvar cases = []struct {\n\tname string\n\tok   bool\n}{\n\t{"a", \n\t{"b", false},\n}\n'
    offset = text.index('{"a", ') + len('{"a", ')
    request = CompletionRequest("file:///w/p.go", "go", text, offset, 1, 16, "p.go")
    completion = complete(FakeEngine(text="true},\n"), request, max_prompt_tokens=3000, context_size=4096,
                          cancelled=lambda: False)
    assert completion.text == "true},"


@pytest.mark.parametrize("language_id", ["c", "cpp"])
def test_a_preprocessor_conditional_is_unfinished_until_its_endif(language_id):
    """`#if X` alone does not parse (it needs its `#endif`): the stop waits for the rest of the
    conditional, as for an open bracket, instead of dropping the completion at its first line."""
    source = "int exists(const char *p) {\n  int result = 0;\n  |\n  return result;\n}\n"
    text, offset = source.replace("|", ""), source.index("|")
    spec = LANGUAGES[language_id]
    splice = CompletionSplice(spec, reparse(spec, None, text.encode()), offset, text)
    stop = SyntaxAwareStop(CursorLine.from_text(text, offset, spec.style), True, splice)
    # Directives at column 0 inside an indented body are not a dedent either.
    generated = "#ifdef _WIN32\n  result = 1;\n#else\n  result = 2;\n#endif\n  return result;\n}\n"
    cuts = [(end, cut) for end in range(1, len(generated) + 1) if (cut := stop(generated[:end])) is not None]
    assert cuts, "the completion reaches the line below the cursor: the stop must come"
    end, cut = cuts[0]
    assert generated[:cut] == "#ifdef _WIN32\n  result = 1;\n#else\n  result = 2;\n#endif"
    assert spec.style.open_conditionals("#if A\n#ifdef B\n#endif\n") == 1
    assert LANGUAGES["go"].style.open_conditionals("#if A\n") == 0  # only C and C++ have a preprocessor


def test_a_lone_opening_brace_above_a_braceless_body_is_left_out():
    """The file keeps the `if` body without braces (C's `if(res)\\n    fail(res);`): an offer of
    `if (res != 0) {` would leave a `{` that nothing closes, so it is offered without it."""
    source = "int f(int res) {\n  |\n    fail(res);\n  return res;\n}\n"
    text, offset = source.replace("|", ""), source.index("|")
    engine = FakeEngine(text="if (res != 0) {\n")
    request = CompletionRequest("file:///w/f.c", "c", text, offset, 1, 32, "f.c")
    completion = complete(engine, request, max_prompt_tokens=3000, context_size=4096, cancelled=lambda: False)
    assert completion.text.strip() == "if (res != 0)"
    merged = text[:offset] + completion.text + text[offset:]
    assert not parse(LANGUAGES["c"], merged.encode()).root_node.has_error

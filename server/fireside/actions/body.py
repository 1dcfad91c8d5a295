""""Complete function body" for a function whose body is ``...``, ``pass`` or only a docstring.

The model sees the definitions the signature and docstring refer to (from the workspace index), the file's
imports, the enclosing class's header, then the signature and docstring, and writes the body. The answer
ends where it dedents out of the function; when the token limit cut it mid-statement, whole trailing lines
are dropped until the module compiles again. The result must compile (validate.py).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

from fireside.actions.model import TextModel
from fireside.actions.source import FunctionNode, Source, docstring_node, function_at, stub_body
from fireside.actions.text import retry_note
from fireside.actions.validate import Check, Edit, EditRejected, Outcome, checked_edit, compile_error

BODY_TOKENS = 160
MAX_DEFINITIONS = 6
_IDENTIFIER = re.compile(r"\b[A-Za-z_]\w*\b")
_STOPS = ["\ndef ", "\nclass ", "\n@", "\nif __name__", "\n\n\n"]

Lookup = Callable[[list[str]], list[str]]


def body_target(source: Source, line: int) -> FunctionNode | None:
    found = function_at(source, line)
    return found[0] if found is not None and stub_body(found[0]) else None


def referenced_names(source: Source, function: FunctionNode) -> list[str]:
    """Names the signature and docstring mention: what the body will probably need."""
    names: list[str] = []
    for node in [*function.args.args, *function.args.kwonlyargs, *function.args.posonlyargs]:
        if node.annotation is not None:
            names += [n.id for n in ast.walk(node.annotation) if isinstance(n, ast.Name)]
    if function.returns is not None:
        names += [n.id for n in ast.walk(function.returns) if isinstance(n, ast.Name)]
    doc = ast.get_docstring(function) or ""
    names += _IDENTIFIER.findall(doc)
    return list(dict.fromkeys(name for name in names if name != function.name))


def _prompt(source: Source, function: FunctionNode, owner: ast.ClassDef | None, definitions: list[str], header: str, indent: str, error: str | None) -> str:
    imports = [source.segment(s) for s in source.tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
    parts = []
    if definitions:
        parts.append("\n\n".join(definitions[:MAX_DEFINITIONS]))
    if imports:
        parts.append("\n".join(imports))
    prompt = "\n\n".join(parts) + ("\n\n\n" if parts else "")
    if owner is not None:
        prompt += source.text[source.line_start(owner.lineno) : source.line_end(owner.lineno)] + "\n"
    return prompt + retry_note(error).replace("# ", indent + "# ") + header + "\n" + indent


def trim_body(answer: str, indent: str) -> list[str]:
    """The lines of ``answer`` (continuing a line that starts with ``indent``) that stay inside the body."""
    lines = (indent + answer).split("\n")
    kept: list[str] = []
    for line in lines:
        if line.strip() and not line.startswith(indent):
            break  # dedented out of the function
        if line.strip() and len(kept) >= 2 and kept[-1] == kept[-2] == line.rstrip():
            break  # a small model's loop: the same line a third time
        kept.append(line.rstrip())
    while kept and not kept[-1].strip():
        kept.pop()
    return kept


def complete_body(text: str, line: int, model: TextModel, lookup: Lookup | None = None) -> Outcome:
    """A body for the stub function at 0-based ``line``, checked (it must compile)."""
    source = Source(text)
    found = function_at(source, line)
    if found is None or not stub_body(found[0]):
        return Outcome(None, 0, "no function with an empty body here")
    function, owner = found
    doc = docstring_node(function)
    rest = function.body[1:] if doc is not None else function.body
    same_line = function.body[0].lineno == function.lineno  # def f(): ...
    if same_line or doc is not None:
        start = source.end_of(doc) if doc is not None else source.start_of(function.body[0])
        while start > 0 and text[start - 1] == " ":
            start -= 1
        lead = "\n"
    else:
        start = source.line_start(function.body[0].lineno)  # the stub line, indentation included
        lead = ""
    indent = source.indent_of(function.lineno) + "    " if same_line else source.indent_of(function.body[-1].lineno)
    end = source.end_of(rest[-1]) if rest else start
    first = min([function.lineno, *(d.lineno for d in function.decorator_list)])
    header = text[source.line_start(first) : start].rstrip()
    definitions = lookup(referenced_names(source, function)) if lookup is not None else []
    module_compiles = compile_error(text) is None

    def propose(error: str | None) -> Edit:
        prompt = _prompt(source, function, owner, definitions, header, indent, error)
        # The prompt ends with the body's indentation; a tokenizer that merges spaces into the next word
        # (Qwen's: " return") answers with one space too many, which no first statement of a body can have.
        answer = model.generate(prompt, max_tokens=BODY_TOKENS, stop=_STOPS).lstrip(" \t")
        lines = trim_body(answer, indent)
        edit = Edit(start, end, lead)
        cut = False
        while lines:
            edit = Edit(start, end, lead + "\n".join(lines))
            if not module_compiles or compile_error(edit.apply(text)) is None:
                break
            lines.pop()  # cut by the token limit mid-statement: drop the unfinished line
            cut = True
            while lines and not lines[-1].strip():
                lines.pop()
        if not any(line.strip() and not line.strip().startswith("#") for line in lines):
            if cut:
                raise EditRejected(f"no complete statement within {BODY_TOKENS} tokens")
            raise EditRejected("the model wrote no statement for the body")
        if all(line.strip() in ("pass", "...") for line in lines if line.strip()):
            raise EditRejected("the model wrote an empty body again")
        return edit

    return checked_edit(text, propose, Check(claimed=source.definition_span(function), compiles=True))

"""TestSpecs to source: pytest functions or a unittest.TestCase, with only the imports they use.

A rendered file is kept in pieces (import lines, preamble, one block per test) so merge.py can add new tests
to an existing file without rewriting what is there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fireside.testgen.properties import TestSpec

__all__ = ["RenderedFile", "TargetImport", "render_file", "render_test"]

_INDENT = "    "


@dataclass(frozen=True)
class TargetImport:
    """How the test file reaches the module under test."""

    module: str  # dotted name
    alias: str
    # A directory to put on sys.path first, as a Python expression (None when the module is importable as is).
    path_expr: str | None = None
    # The package's __init__ binds a name equal to the submodule's (slugify.slugify is also a function), so
    # `from package import name` would get that object, not the module.
    shadowed: bool = False

    def line(self) -> str:
        if self.shadowed:
            return f"{self.alias} = importlib.import_module({self.module!r})"
        if "." in self.module:
            package, _, name = self.module.rpartition(".")
            return f"from {package} import {name}" + (f" as {self.alias}" if name != self.alias else "")
        return f"import {self.module}" + (f" as {self.alias}" if self.module != self.alias else "")


@dataclass
class RenderedFile:
    imports: list[str]
    preamble: list[str]
    blocks: list[tuple[str, str]] = field(default_factory=list)  # (test name, source)
    style: str = "pytest"
    class_name: str | None = None

    @property
    def text(self) -> str:
        parts = ["\n".join(self.imports), *(["\n".join(self.preamble)] if self.preamble else [])]
        if self.style == "unittest":
            body = "\n\n".join(_indent(block) for _, block in self.blocks) or f"{_INDENT}pass"
            parts.append(f"class {self.class_name}(unittest.TestCase):\n{body}")
            parts.append('if __name__ == "__main__":\n    unittest.main()')
        else:
            parts.extend(block for _, block in self.blocks)
        return "\n\n\n".join(parts) + "\n"


def _indent(block: str) -> str:
    return "\n".join(_INDENT + line if line else line for line in block.splitlines())


def _lines(spec: TestSpec, style: str) -> list[str]:
    raises = "self.assertRaises" if style == "unittest" else "pytest.raises"
    body: list[str] = []
    if spec.comment:
        body.append(f"# {spec.comment}")
    body.extend(f"assume({a})" for a in spec.assumes)
    body.extend(spec.setup)
    catch = ""
    if spec.catch:
        catch = spec.catch[0] if len(spec.catch) == 1 else "(" + ", ".join(spec.catch) + ")"
    if spec.kind == "oracle":
        body.extend(line.replace("RAISES(", f"{raises}(") for line in spec.statements)
    elif spec.kind == "raises":
        body.append(f"with {raises}({spec.raises}):")
        body.append(f"{_INDENT}{spec.call}")
    elif spec.kind in {"roundtrip", "idempotent"}:
        first = "once" if spec.kind == "idempotent" else "encoded"
        call = f"{first} = {spec.call}"
        if catch:
            body += ["try:", f"{_INDENT}{call}", f"except {catch}:", f"{_INDENT}return  # rejected on purpose"]
        else:
            body.append(call)
        assert spec.inverse is not None
        if spec.kind == "idempotent":
            body.append(f"assert {spec.inverse.format(first)} == {first}")
        else:
            original = spec.given[0][0]
            body.append(f"assert {spec.inverse.format(first)} == {original}")
    else:
        call = spec.call
        if spec.consume:
            call = f"list({call})"
        if spec.return_check or catch:
            call = f"result = {call}"
        if catch:
            body += ["try:", f"{_INDENT}{call}", f"except {catch}:", f"{_INDENT}return  # raised on purpose"]
        else:
            body.append(call)
        if spec.return_check:
            if spec.return_check.startswith("in "):
                body.append(f"assert result {spec.return_check}")
            else:
                body.append(f"assert isinstance(result, {spec.return_check})")
    return body


def render_test(spec: TestSpec, style: str = "pytest", notes: list[str] | None = None) -> str:
    """One test function (a method, unindented, for unittest)."""
    lines = [f"# {note}" for note in notes or []]
    if spec.given:
        if spec.explicit:
            lines.append("@settings(phases=[Phase.explicit])")
        arguments = ", ".join(f"{name}={source}" for name, source in spec.given)
        lines.append(f"@given({arguments})")
        for index, example in enumerate(spec.examples):
            note = spec.example_notes[index] if index < len(spec.example_notes) else ""
            lines.append("@example(" + ", ".join(f"{k}={v}" for k, v in example.items()) + ")" + (f"  # {note}" if note else ""))
    params = [name for name, _ in spec.given]
    if style == "unittest":
        params.insert(0, "self")
    lines.append(f"def {spec.name}({', '.join(params)}):")
    lines.extend(_INDENT + line for line in _lines(spec, style))
    return "\n".join(lines)


def render_file(
    specs: list[TestSpec],
    target: TargetImport,
    *,
    style: str = "pytest",
    extra_imports: set[str] | None = None,
    notes: dict[str, list[str]] | None = None,
    docstring: str | None = None,
) -> RenderedFile:
    blocks = [(spec.name, render_test(spec, style, (notes or {}).get(spec.name))) for spec in specs]
    source = "\n".join(block for _, block in blocks)
    hypothesis_names = [n for n in ("Phase", "assume", "example", "given", "settings")
                        if f"{n}(" in source or f"@{n}(" in source or f"[{n}." in source]
    imports: list[str] = []
    if docstring:
        imports.append(f'"""{docstring}"""\n')
    stdlib = sorted(set(extra_imports or ()) | ({"import unittest"} if style == "unittest" else set()))
    if target.path_expr:
        stdlib = sorted({*stdlib, "import sys", "from pathlib import Path"}, key=lambda s: s.split()[1])
    if target.shadowed:
        stdlib = sorted({*stdlib, "import importlib"}, key=lambda s: s.split()[1])
    imports.extend(stdlib)
    third_party = []
    if style == "pytest" and "pytest.raises(" in source:
        third_party.append("import pytest")
    if hypothesis_names or "st." in source:
        names = hypothesis_names + (["strategies as st"] if "st." in source else [])
        third_party.append(f"from hypothesis import {', '.join(names)}")
    if third_party:
        if stdlib:
            imports.append("")
        imports.extend(third_party)
    imports.append("")
    if target.path_expr:
        # Put the directory first so the module under test imports without being installed.
        imports.append(f"sys.path.insert(0, str({target.path_expr}))")
    imports.append(target.line())
    class_name = "Test" + "".join(part.title() for part in target.alias.split("_")) if style == "unittest" else None
    return RenderedFile(imports=imports, preamble=[], blocks=blocks, style=style, class_name=class_name)

"""Parameter and return types stated in docstrings (Google, NumPy and reST styles), and doctest oracles.

Only the *type text* is extracted here; turning it into a strategy is strategies.py's job. The parsers are
deliberately forgiving: a docstring that matches no style yields an empty result, never an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["DocInfo", "Doctest", "parse_docstring"]


@dataclass
class Doctest:
    """One `>>>` statement, with the output the docstring promises (None when it shows none)."""

    source: str
    expected: str | None


@dataclass
class DocInfo:
    style: str | None = None  # "google", "numpy", "rest" or None
    params: dict[str, str] = field(default_factory=dict)  # parameter name -> type text
    returns: str | None = None
    raises: list[str] = field(default_factory=list)
    doctests: list[Doctest] = field(default_factory=list)


_GOOGLE_SECTIONS = {"args", "arguments", "parameters", "params", "keyword args", "keyword arguments"}
_GOOGLE_RETURNS = {"returns", "return", "yields"}
_GOOGLE_RAISES = {"raises", "raise"}
# "name (type): text" or "name (type, optional): text"
_GOOGLE_PARAM = re.compile(r"^\*{0,2}(?P<name>\w+)\s*\((?P<type>[^)]*(?:\)[^):]*)?)\)\s*:")
_REST_PARAM = re.compile(r"^:param\s+(?P<type>[^:]+?)\s+(?P<name>\w+)\s*:")
_REST_TYPE = re.compile(r"^:type\s+(?P<name>\w+)\s*:\s*(?P<type>.+)$")
_REST_RTYPE = re.compile(r"^:rtype\s*:\s*(?P<type>.+)$")
_REST_RAISES = re.compile(r"^:raises?\s+(?P<type>[\w.]+)\s*:")


def _clean_type(text: str) -> str | None:
    # "int, optional" / "int, default 3" / "list of str" are NumPy/Google idioms, not Python syntax.
    text = text.strip().rstrip(".")
    text = re.split(r",\s*(?:optional|default\b.*)$", text)[0].strip()
    match = re.fullmatch(r"(list|set|tuple|frozenset|iterable|sequence) of (\w+)s?", text, flags=re.I)
    if match:
        container = {"iterable": "list", "sequence": "list"}.get(match[1].lower(), match[1].lower())
        inner = match[2]
        inner = {"string": "str", "strings": "str", "integer": "int", "integers": "int"}.get(inner, inner)
        return f"{container}[{inner}]"
    text = {"string": "str", "integer": "int", "boolean": "bool", "dictionary": "dict"}.get(text.lower(), text)
    return text or None


def _dedent_lines(doc: str) -> list[str]:
    import inspect

    return inspect.cleandoc(doc).splitlines()


def _parse_google(lines: list[str], info: DocInfo) -> bool:
    section = None
    found = False
    for line in lines:
        stripped = line.strip()
        header = stripped[:-1].lower() if stripped.endswith(":") and not line.startswith(" ") else None
        if header is not None:
            section = header
            continue
        if not stripped or not line.startswith((" ", "\t")):
            if stripped and not line.startswith((" ", "\t")):
                section = None
            continue
        indent = len(line) - len(line.lstrip())
        if section in _GOOGLE_SECTIONS:
            match = _GOOGLE_PARAM.match(stripped)
            if match and indent <= 8:
                cleaned = _clean_type(match["type"])
                if cleaned:
                    info.params[match["name"]] = cleaned
                    found = True
        elif section in _GOOGLE_RETURNS and info.returns is None:
            match = re.match(r"^(?P<type>[\w\[\], .|]+?)\s*:", stripped)
            if match:
                info.returns = _clean_type(match["type"])
                found = True
        elif section in _GOOGLE_RAISES:
            match = re.match(r"^(?P<type>[\w.]+)\s*:", stripped)
            if match:
                info.raises.append(match["type"])
                found = True
    return found


def _parse_numpy(lines: list[str], info: DocInfo) -> bool:
    found = False
    index = 0
    while index < len(lines) - 1:
        title, underline = lines[index].strip(), lines[index + 1].strip()
        if not (underline and set(underline) == {"-"} and title):
            index += 1
            continue
        section = title.lower()
        index += 2
        while index < len(lines):
            line = lines[index]
            if index + 1 < len(lines) and set(lines[index + 1].strip() or "x") == {"-"} and line.strip():
                break  # the next section's title
            if line.strip() and not line.startswith((" ", "\t")):
                if section in {"parameters", "other parameters"} and ":" in line:
                    name, _, type_text = line.partition(":")
                    cleaned = _clean_type(type_text)
                    if cleaned:
                        for one in name.split(","):
                            info.params[one.strip().lstrip("*")] = cleaned
                        found = True
                elif section in {"returns", "yields"} and info.returns is None:
                    type_text = line.partition(":")[2] if ":" in line else line
                    info.returns = _clean_type(type_text)
                    found = True
                elif section == "raises":
                    info.raises.append(line.strip())
                    found = True
            index += 1
    return found


def _parse_rest(lines: list[str], info: DocInfo) -> bool:
    found = False
    for line in lines:
        stripped = line.strip()
        if match := _REST_PARAM.match(stripped):
            info.params[match["name"]] = _clean_type(match["type"]) or match["type"]
            found = True
        elif match := _REST_TYPE.match(stripped):
            cleaned = _clean_type(match["type"])
            if cleaned:
                info.params[match["name"]] = cleaned
                found = True
        elif match := _REST_RTYPE.match(stripped):
            info.returns = _clean_type(match["type"])
            found = True
        elif match := _REST_RAISES.match(stripped):
            info.raises.append(match["type"])
            found = True
    return found


def _parse_doctests(lines: list[str]) -> list[Doctest]:
    tests: list[Doctest] = []
    index = 0
    while index < len(lines):
        stripped = lines[index].strip()
        if not stripped.startswith(">>> "):
            index += 1
            continue
        source = [stripped[4:]]
        index += 1
        while index < len(lines) and lines[index].strip().startswith("... "):
            source.append(lines[index].strip()[4:])
            index += 1
        expected: list[str] = []
        while index < len(lines) and lines[index].strip() and not lines[index].strip().startswith(">>>"):
            expected.append(lines[index].strip())
            index += 1
        tests.append(Doctest("\n".join(source), "\n".join(expected) if expected else None))
    return tests


def parse_docstring(doc: str | None) -> DocInfo:
    """Types, raises and doctests from a docstring; the first style that yields anything wins."""
    info = DocInfo()
    if not doc:
        return info
    lines = _dedent_lines(doc)
    for style, parser in (("rest", _parse_rest), ("numpy", _parse_numpy), ("google", _parse_google)):
        if parser(lines, info):
            info.style = style
            break
    info.doctests = _parse_doctests(lines)
    return info

"""The local model fills one gap: types for parameters the static analysis cannot resolve.

The generator is anything with `generate(prompt, *, max_tokens, stop) -> str` (the completion engine has it).
Its answers are only suggestions: a type that does not parse or resolve is ignored here, and verify.py keeps
a test built on one only when it imports, passes the health checks and calls the function without a TypeError.
"""

from __future__ import annotations

import ast
import logging
import re
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from fireside.testgen.analysis import FunctionInfo, ModuleInfo
from fireside.testgen.strategies import StrategyContext, plan_param, resolve_type_text

__all__ = ["LazyGenerator", "TextGenerator", "load_generator", "suggest_types", "unresolved_params"]

logger = logging.getLogger(__name__)
_MAX_SOURCE_CHARS = 1500


class TextGenerator(Protocol):
    def generate(self, prompt: str, *, max_tokens: int, stop: Sequence[str] = ()) -> str: ...


def unresolved_params(module: ModuleInfo, functions: list[FunctionInfo]) -> list[tuple[FunctionInfo, str]]:
    """(function, parameter) pairs that would otherwise get the fallback strategy."""
    ctx = StrategyContext(module, "m")
    found = []
    for function in functions:
        for param in function.params:
            if param.kind in {"var_positional", "var_keyword"}:
                continue
            planned = plan_param(param, ctx)
            if planned is not None and planned.origin == "fallback":
                found.append((function, param.name))
    return found


def build_prompt(module: ModuleInfo, function: FunctionInfo, param: str) -> str:
    source = ast.get_source_segment(module.source, function.node) or function.name
    return (
        "# Python. Give the type annotation of one parameter, as Python syntax, on one line.\n"
        f"{source[:_MAX_SOURCE_CHARS]}\n\n"
        # Ending inside a backtick makes a small model answer with just the type, and the closing backtick
        # (a stop sequence) ends it.
        f"# The type of parameter `{param}` of `{function.name}` is: `"
    )


def parse_suggestion(answer: str) -> str | None:
    """The first thing in the answer that parses as a type expression."""
    text = answer.strip().strip("`").strip()
    text = re.sub(r"^(type|answer)\s*[:=]\s*", "", text, flags=re.I).splitlines()[0].strip() if text else ""
    text = text.rstrip(".,;").strip("`").strip()
    if not text:
        return None
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(node, (ast.Name, ast.Subscript, ast.Attribute, ast.BinOp)):
        return None
    return text


def suggest_types(
    generator: TextGenerator, module: ModuleInfo, functions: list[FunctionInfo], deadline: float | None = None,
) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Model-suggested types by function qualname and parameter, and a log of what was asked and answered.
    No question is asked after `deadline` (time.monotonic())."""
    ctx = StrategyContext(module, "m")
    suggestions: dict[str, dict[str, str]] = {}
    log = []
    for function, param in unresolved_params(module, functions):
        if deadline is not None and time.monotonic() > deadline:
            log.append(f"{function.qualname}({param}): not asked, the module's time budget is spent")
            continue
        try:
            answer = generator.generate(build_prompt(module, function, param), max_tokens=16, stop=["`", "\n"])
        except Exception as error:  # noqa: BLE001 - a model failure only costs this suggestion
            log.append(f"{function.qualname}({param}): the model failed: {error}")
            continue
        suggestion = parse_suggestion(answer)
        if suggestion is None or resolve_type_text(suggestion, ctx) is None:
            log.append(f"{function.qualname}({param}): ignored the answer {answer.strip()[:40]!r}")
            continue
        suggestions.setdefault(function.qualname, {})[param] = suggestion
        log.append(f"{function.qualname}({param}): model suggests {suggestion}")
    return suggestions, log


def load_generator(model_path: str | None = None) -> TextGenerator | None:
    """The server's local model (or the GGUF at `model_path`), or None (with a logged reason) when it
    cannot be loaded here."""
    try:
        from fireside.completion import engine

        loader = getattr(engine, "load_default_engine", None)
        if loader is not None and model_path is None:
            return loader()
        from fireside.config import FiresideConfig
        from fireside.engines import llama_engine

        return llama_engine(FiresideConfig(model_path=model_path))
    except Exception as error:  # noqa: BLE001 - testgen works without the model
        logger.warning("fireside testgen: the local model is unavailable (%s); untyped parameters get fallbacks", error)
        return None


class LazyGenerator:
    """Loads the model on the first question, so a module whose parameters are all typed never pays for it."""

    def __init__(self, loader: Callable[[], TextGenerator | None] = load_generator) -> None:
        self._loader = loader
        self._engine: TextGenerator | None = None
        self._tried = False

    def generate(self, prompt: str, *, max_tokens: int, stop: Sequence[str] = ()) -> str:
        if not self._tried:
            self._tried = True
            self._engine = self._loader()
        if self._engine is None:
            raise RuntimeError("the local model is unavailable")
        return self._engine.generate(prompt, max_tokens=max_tokens, stop=stop)

"""Coverage-guided rounds: measure which branches the kept tests miss, and go after them (CoverUp's loop).

Round 1 needs no model: for each function with missed branches, the values its body compares with on those
branch lines, the prefixes and separators it parses by, its docstring's calls, strings drawn from the regular
expressions it matches (`st.from_regex`), and, for a private helper out of reach of the public functions, a
direct test. Later rounds show the local model the function with the missed lines marked `# NOT COVERED` and
the calls tried so far, and ask for calls that reach them. Every candidate runs in the sandbox with coverage
on; one is kept only if it passes and takes a branch no kept test took. The loop stops when nothing is
missed, after `Budget.rounds`, or when the module's time budget is spent.
"""

from __future__ import annotations

import ast
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from fireside.testgen.analysis import FunctionInfo, ModuleInfo
from fireside.testgen.branches import BranchMap, FunctionGap, gaps
from fireside.testgen.mining import bind_call, doctest_calls, literal_source, mine_values, regex_uses
from fireside.testgen.model import TextGenerator
from fireside.testgen.properties import SpecFactory, TestSpec
from fireside.testgen.verify import RunResult, Verdict, classify

__all__ = ["Budget", "RoundLog", "RoundsResult", "build_prompt", "parse_calls", "run_rounds"]

logger = logging.getLogger(__name__)
Arc = tuple[int, int]
_MAX_MODEL_FUNCTIONS = 6  # per round
_MAX_PROMPT_LINES = 80
_MAX_MINED_PER_FUNCTION = 16


@dataclass(frozen=True)
class Budget:
    rounds: int = 3  # the first without the model, the others with it
    seconds: float = 60.0  # for the module's whole generation: no round starts after it


@dataclass
class RoundLog:
    number: int
    source: str  # "mined" | "model"
    candidates: int
    kept: int
    branch_percent: float | None
    seconds: float


@dataclass
class RoundsResult:
    specs: list[TestSpec] = field(default_factory=list)  # tests to add (kept: they pass and add coverage)
    covered: dict[str, frozenset[Arc]] = field(default_factory=dict)  # test name -> the branches it took
    arcs: frozenset[Arc] = frozenset()  # what all kept tests cover, the new ones included
    log: list[RoundLog] = field(default_factory=list)
    model_log: list[str] = field(default_factory=list)
    dropped: list[Verdict] = field(default_factory=list)  # candidates that failed (never reported as bugs)


def falsifying_inputs(note: str | None) -> dict[str, str]:
    """{argument: value source} of Hypothesis's "Falsifying example: test_f(a=1, b='x')" note (empty when
    it does not parse: a value Hypothesis can only describe, not write as source)."""
    if not note or "(" not in note:
        return {}
    call = note[note.index("test_"):] if "test_" in note else ""
    try:
        node = ast.parse(call.strip(), mode="eval").body
    except SyntaxError:
        return {}
    if not isinstance(node, ast.Call):
        return {}
    found = {}
    for keyword in node.keywords:
        # Only values that are source on their own: `re.compile('x')` would need imports the test file lacks.
        if keyword.arg is not None and literal_source(keyword.value) is not None:
            found[keyword.arg] = ast.unparse(keyword.value)
    return found


def callee_text(function: FunctionInfo) -> str:
    return function.qualname if function.method_kind in {"classmethod", "staticmethod"} else function.name


def _call_text(function: FunctionInfo, values: dict[str, str]) -> str:
    callee = function.qualname if function.method_kind in {"classmethod", "staticmethod"} else function.name
    return f"{callee}({', '.join(f'{k}={v}' for k, v in values.items() if k != 'instance')})"


def _conditions(function: FunctionInfo, gap: FunctionGap) -> list[str]:
    """What each missed branch needs, as the condition that must hold (`x > 3`, `not (x > 3)`)."""
    needs = []
    for node in ast.walk(function.node):
        if not isinstance(node, (ast.If, ast.While)):
            continue
        for line, dest in gap.missing:
            if line != node.lineno or not node.body:
                continue
            test = ast.unparse(node.test)
            need = test if dest == node.body[0].lineno else f"not ({test})"
            if need not in needs:
                needs.append(need)
    return needs


_OPENINGS = {"str": "'", "bytes": "b'", "list": "[", "dict": "{", "tuple": "(", "set": "{"}


def answer_opening(function: FunctionInfo, kinds: dict[str, str | None]) -> str:
    """How the answer starts after `f(`: the opening of the first argument's literal when its type is known
    (`'` for a str). A small model then writes a string, where it would otherwise often write a number."""
    first = next((p for p in function.params if p.kind in {"positional_only", "positional_or_keyword"}), None)
    return _OPENINGS.get(kinds.get(first.name) or "", "") if first is not None else ""


def build_prompt(
    module: ModuleInfo, function: FunctionInfo, gap: FunctionGap, tried: Sequence[str] = (), *, hints: bool = False,
    opening: str = "",
) -> str:
    """CoverUp's question, as an instruction in the chat format of Qwen (ChatML, written as text: the
    engine never turns text into control tokens) ending in the start of the answer: the function with its
    missed lines marked `# NOT COVERED` and the module constants it reads; with `hints`, also what the
    missed branches need. (Qwen2.5-Coder 0.5B answers worse with the hints or a list of calls already
    tried: it copies them. Measured on the fixtures; see eval/RESULTS.md.)"""
    source_lines = module.source.splitlines()
    start, end = function.node.lineno, function.end_lineno
    if function.node.decorator_list:
        start = min(d.lineno for d in function.node.decorator_list)
    marked = set(gap.lines)
    body = []
    for number in range(start, end + 1):
        text = source_lines[number - 1] if number - 1 < len(source_lines) else ""
        body.append(f"{text}  # NOT COVERED" if number in marked else text)
    if len(body) > _MAX_PROMPT_LINES:  # keep the part around the first missed line
        first = min(marked) - start if marked else 0
        lo = max(0, min(first - _MAX_PROMPT_LINES // 3, len(body) - _MAX_PROMPT_LINES))
        body = body[:1] + ["    ..."] + body[lo + 1 : lo + _MAX_PROMPT_LINES]
    used = {n.id for n in ast.walk(function.node) if isinstance(n, ast.Name)}
    context = []
    tree = ast.parse(module.source)
    for statement in tree.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            context.append(ast.get_source_segment(module.source, statement) or "")
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            if any(isinstance(t, ast.Name) and t.id in used for t in targets):
                segment = ast.get_source_segment(module.source, statement) or ""
                if len(segment) <= 300:
                    context.append(segment)
    callee = _call_text(function, {}).split("(")[0]
    code = "\n".join([*context[:20], "", "", *body]).strip("\n")
    question = "The lines marked `# NOT COVERED` never ran in the tests so far"
    if tried:
        question += ", not even with these calls:\n" + "\n".join(tried[:6]) + "\n"
    else:
        question += ". "
    needs = _conditions(function, gap) if hints else []
    if needs:
        question += "They run only when " + " or ".join(f"`{need}`" for need in needs[:3]) + ". "
    question += (f"Write 3 calls of `{callee}` with concrete literal arguments that make them run, one per line, "
                 "nothing else.")
    return (
        "<|im_start|>system\nYou write inputs for Python tests.<|im_end|>\n"
        f"<|im_start|>user\n```python\n{code}\n```\n{question}<|im_end|>\n"
        f"<|im_start|>assistant\n```python\n{callee}({opening}"
    )


def parse_calls(answer: str, function: FunctionInfo, opening: str = "") -> list[dict[str, str]]:
    """The calls of `function` with literal arguments in the model's answer (which continues `f(` and
    `opening`), bound to parameter names."""
    callee = _call_text(function, {}).split("(")[0]
    text = f"{callee}({opening}" + answer.split("```")[0]
    names = [p.name for p in function.params]
    found: list[dict[str, str]] = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("assert "):
            line = line[len("assert "):]
        for candidate in (line, *re.split(r"\s+(?:==|!=|is|in)\s+", line)[:1]):
            try:
                tree = ast.parse(candidate, mode="eval")
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and ast.unparse(node.func).split(".")[-1] == function.name:
                    bound = bind_call(node, function, names)
                    if bound is not None and bound not in found:
                        found.append(bound)
            break
    return found


_SIMPLE_TYPES = {"str": str, "int": int, "float": (int, float), "bool": bool, "bytes": bytes, "list": list,
                 "dict": dict, "tuple": tuple, "set": set, "None": type(None)}


def _fits(call: dict[str, str], function: FunctionInfo) -> bool:
    """Do the literal values fit the simple types the parameters declare? (Unknown types: yes.)"""
    for param in function.params:
        if param.name not in call or param.annotation is None:
            continue
        text = ast.unparse(param.annotation).replace("Optional[", "").replace("]", "")
        names = [part.strip().split("[")[0] for part in text.replace("|", ",").split(",")]
        if not names or any(name not in _SIMPLE_TYPES for name in names):
            continue
        try:
            value = ast.literal_eval(call[param.name])
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        allowed = tuple(t for name in names for t in (_SIMPLE_TYPES[name] if isinstance(_SIMPLE_TYPES[name], tuple) else (_SIMPLE_TYPES[name],)))
        if isinstance(value, bool) and bool not in allowed:
            return False
        if not isinstance(value, allowed):
            return False
    return True


_KIND_TYPES = {"str": (str,), "bytes": (bytes,), "int": (int,), "float": (int, float), "bool": (bool,),
               "complex": (int, float, complex)}


def _literal_fits(source: str, kind: str | None) -> bool:
    """Does a mined literal fit the kind of the parameter's strategy? (An unknown kind takes anything.)"""
    if kind not in _KIND_TYPES:
        return True
    try:
        value = ast.literal_eval(source)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return True
    if isinstance(value, bool) and kind != "bool":
        return False
    return isinstance(value, _KIND_TYPES[kind])


@dataclass
class _Context:
    module: ModuleInfo
    factory: SpecFactory
    branches: BranchMap
    scope: set[int] | None  # ids of the function nodes the rounds may target (None: every function)
    tried: dict[int, list[str]]
    asked: set[int] = field(default_factory=set)  # functions the model was asked about already
    drawn: dict[str, set[str]] = field(default_factory=dict)  # qualname -> parameters its kept fuzz test draws
    ablations: dict[str, tuple[FunctionInfo, str]] = field(default_factory=dict)  # test name -> (function, parameter)
    works_alone: dict[int, set[str]] = field(default_factory=dict)  # function -> optional parameters that pass alone
    joined: set[int] = field(default_factory=set)
    failed: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # qualname -> inputs that broke a test
    per_call: float | None = None  # seconds the longest model question took


def _mined_candidates(ctx: _Context, gap: FunctionGap) -> list[TestSpec]:
    function, module = gap.function, ctx.module
    lines = {line for line, _ in gap.missing} | set(gap.lines)
    values: list[tuple[dict[str, str], str]] = []
    kinds = ctx.factory.kinds(function)
    seen: set[tuple[str, str]] = set()
    for mined in mine_values(function, module, lines):
        if (mined.param, mined.source) in seen:
            continue
        seen.add((mined.param, mined.source))
        if mined.other_type or _literal_fits(mined.source, kinds.get(mined.param)):
            values.append(({mined.param: mined.source}, f"from {mined.why}"))
    for call in doctest_calls(function, [p.name for p in function.params]):
        values.append((call, "from the docstring's example"))
    specs: list[TestSpec] = []
    for chosen, note in values[:_MAX_MINED_PER_FUNCTION]:
        spec = ctx.factory.with_inputs(function, chosen, note)
        if spec is not None:
            specs.append(spec)
            ctx.tried.setdefault(id(function.node), []).append(_call_text(function, spec.examples[0]))
    for use in regex_uses(function, module, ctx.factory.alias):
        shown = use.pattern if len(use.pattern) <= 40 else use.pattern[:37] + "..."
        for example in use.examples[:16]:
            spec = ctx.factory.with_inputs(function, {use.param: example}, f"matches {shown} (line {use.line})")
            if spec is not None:
                specs.append(spec)
        spec = ctx.factory.matching(function, use.param, use.pattern, use.fullmatch)
        if spec is not None:
            specs.append(spec)
    if function.name.startswith("_"):
        specs.extend(ctx.factory.direct(function))
    elif function.qualname in ctx.drawn:
        # Its fuzz test passed only with some optional parameters left at their defaults: each one alone.
        for name in ctx.factory.optional_names(function):
            if name in ctx.drawn[function.qualname]:
                continue
            spec = ctx.factory.with_optional(function, {name}, ctx.failed.get(function.qualname, []))
            if spec is not None:
                ctx.ablations[spec.name] = (function, name)
                specs.append(spec)
    return specs


def _joined_candidates(ctx: _Context, missing: list[FunctionGap]) -> list[TestSpec]:
    """For each function, the optional parameters that passed alone, drawn together."""
    specs = []
    for gap in missing:
        key = id(gap.function.node)
        names = ctx.works_alone.get(key, set())
        if len(names) >= 2 and key not in ctx.joined:
            ctx.joined.add(key)
            spec = ctx.factory.with_optional(gap.function, names | ctx.drawn.get(gap.function.qualname, set()),
                                             ctx.failed.get(gap.function.qualname, []))
            if spec is not None:
                specs.append(spec)
    return specs


def _model_candidates(
    ctx: _Context, gap: FunctionGap, generator: TextGenerator, log: list[str], again: bool
) -> list[TestSpec]:
    """The model's calls for one function's missed lines. Asked `again`, it also gets what the missed
    branches need and the calls tried so far (greedy decoding would repeat its first answer otherwise)."""
    function = gap.function
    if function.method_kind not in {"function", "staticmethod", "classmethod"} or function.is_async:
        return []
    opening = answer_opening(function, ctx.factory.kinds(function))
    tried = ctx.tried.get(id(function.node), []) if again else []
    prompt = build_prompt(ctx.module, function, gap, tried, hints=again, opening=opening)
    try:
        answer = generator.generate(prompt, max_tokens=80, stop=["```", "<|im_end|>", "\n\n"])
    except Exception as error:  # noqa: BLE001 - a model failure costs this function its round
        log.append(f"{function.qualname}: the model failed ({type(error).__name__}: {error})")
        return []
    calls = parse_calls(answer, function, opening)
    lines = ", ".join(str(n) for n in gap.lines[:6])
    shown = " ".join(answer.split())[:160]
    log.append(f"{function.qualname} (lines {lines}): the model proposed {len(calls)} call(s): "
               f"{callee_text(function)}({opening}{shown}")
    specs = []
    # Calls whose literals fit the declared types first (a small model often passes 2000 for a date string);
    # the others may still reach a type check's branch.
    for call in sorted(calls, key=lambda c: not _fits(c, function))[:4]:
        text = _call_text(function, call)
        if text in ctx.tried.get(id(function.node), []):
            continue
        ctx.tried.setdefault(id(function.node), []).append(text)
        spec = ctx.factory.with_inputs(function, call, f"proposed by the model for line(s) {lines}")
        if spec is not None:
            specs.append(spec)
    return specs


def _run_apart(run: Callable[[list[TestSpec]], RunResult], specs: list[TestSpec], dropped: list[Verdict],
               number: int) -> RunResult:
    """Run the candidates together; when the file of them does not import (one candidate's example needs
    something it cannot have), split it in halves until the culprits are alone, and drop them."""
    result = run(specs)
    if result.import_error is None:
        return result
    if len(specs) == 1:
        error = result.import_error
        dropped.append(Verdict(specs[0], "dropped", f"round {number}: does not import ({error.exc_type}: {error.message})"))
        return RunResult({})
    middle = len(specs) // 2
    first, second = _run_apart(run, specs[:middle], dropped, number), _run_apart(run, specs[middle:], dropped, number)
    return RunResult({**first.outcomes, **second.outcomes}, coverage_note=first.coverage_note or second.coverage_note)


def run_rounds(
    module: ModuleInfo,
    factory: SpecFactory,
    branches: BranchMap,
    executed: frozenset[Arc],
    run: Callable[[list[TestSpec]], RunResult],
    *,
    target_file,  # noqa: ANN001 - Path of the module, to classify failures
    budget: Budget,
    started: float,
    generator: TextGenerator | None = None,
    scope: list[FunctionInfo] | None = None,
    progress: Callable[[int, str], None] | None = None,
    cancel: threading.Event | None = None,
    drawn: dict[str, set[str]] | None = None,
    failed: dict[str, list[dict[str, str]]] | None = None,
) -> RoundsResult:
    """Rounds of candidates for the missed branches; returns the tests worth adding and what they cover.

    `drawn`: for each function whose kept fuzz test leaves optional parameters at their defaults, the
    parameters it draws (round 1 then tries each other optional parameter alone, round 2 those that worked
    together). `failed`: for each function, the inputs (falsifying examples) that broke one of its tests."""
    result = RoundsResult(arcs=branches.covered(executed))  # branch arcs only, named by first lines
    ctx = _Context(module, factory, branches, {id(f.node) for f in scope} if scope is not None else None, {},
                   drawn=dict(drawn or {}), failed=dict(failed or {}))
    mined_done = False
    for number in range(1, budget.rounds + 1):
        if (cancel is not None and cancel.is_set()) or time.monotonic() - started > budget.seconds:
            break
        round_started = time.monotonic()
        missing = [g for g in gaps(module, branches, result.arcs) if ctx.scope is None or id(g.function.node) in ctx.scope]
        if not missing:
            break
        if progress:
            progress(number, f"{sum(len(g.missing) for g in missing)} branches missed")
        candidates: list[TestSpec] = []
        if not mined_done:
            for gap in missing:
                candidates.extend(_mined_candidates(ctx, gap))
            source = "mined"
            mined_done = True
        else:
            candidates.extend(_joined_candidates(ctx, missing))
            source = "model" if generator is not None else "mined"
            for gap in (missing[:_MAX_MODEL_FUNCTIONS] if generator is not None else []):
                elapsed = time.monotonic() - started
                # The longest question so far (in any round) says whether another one ends within the budget:
                # a question that would end after it is not asked (the first one always is).
                if ctx.per_call is not None and elapsed + ctx.per_call > budget.seconds:
                    result.model_log.append(f"{gap.function.qualname}: not asked, the module's time budget would be spent")
                    break
                if cancel is not None and cancel.is_set():
                    break
                asked = time.monotonic()
                again = id(gap.function.node) in ctx.asked
                ctx.asked.add(id(gap.function.node))
                candidates.extend(_model_candidates(ctx, gap, generator, result.model_log, again))
                ctx.per_call = max(ctx.per_call or 0.0, time.monotonic() - asked)
        if not candidates:
            result.log.append(RoundLog(number, source, 0, 0, branches.percent(result.arcs), time.monotonic() - round_started))
            if number > 1:
                break
            continue
        outcome = _run_apart(run, candidates, result.dropped, number)
        passing = []
        for spec in candidates:
            ran = outcome.outcomes.get(spec.name)
            if ran is None:
                continue
            kind, reason = classify(ran, spec, target_file)
            if kind == "pass":
                passing.append((spec, branches.covered(ran.arcs or ())))
                if spec.name in ctx.ablations:
                    function, name = ctx.ablations[spec.name]
                    ctx.works_alone.setdefault(id(function.node), set()).add(name)
            else:
                result.dropped.append(Verdict(spec, "dropped", f"round {number}: {reason}", ran.falsifying))
                inputs = falsifying_inputs(ran.falsifying)
                if inputs:
                    ctx.failed.setdefault(spec.qualname, []).append(inputs)
        kept = 0
        for spec, covered in sorted(passing, key=lambda item: -len(item[1] - result.arcs)):
            if covered - result.arcs:
                result.arcs = result.arcs | covered
                result.specs.append(spec)
                result.covered[spec.name] = covered
                kept += 1
        result.log.append(RoundLog(number, source, len(candidates), kept, branches.percent(result.arcs),
                                   time.monotonic() - round_started))
    return result

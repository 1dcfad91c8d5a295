"""Is a GGUF file fit to serve? The same checks for the watcher and for `fireside models validate`.

1. it loads in llama.cpp (a truncated or corrupt file does not);
2. its metadata is sane (an architecture, a context length, a vocabulary);
3. a smoke evaluation (``eval/smoke_prompts.json``) through the real completion pipeline yields
   code that parses when spliced in, for at least ``min_passing`` prompts;
4. the median latency of those completions is within the budget.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from fireside.completion.engine import Engine, LlamaEngine, ModelLoadError
from fireside.completion.pipeline import complete
from fireside.completion.types import CompletionRequest
from fireside.context.languages import language_for
from fireside.context.syntax import parse

VALIDATION_CONTEXT_SIZE = 1024  # the smoke prompts are short; a small context loads faster
VALIDATION_THREADS = 1  # never takes the serving model's cores away from the editor


@dataclass(frozen=True)
class SmokePrompt:
    name: str
    text: str


@dataclass(frozen=True)
class SmokeSuite:
    prompts: tuple[SmokePrompt, ...]
    min_passing: int
    max_tokens: int


def load_smoke_suite() -> SmokeSuite:
    """The packaged copy of eval/smoke_prompts.json."""
    raw = json.loads(resources.files("fireside.models").joinpath("smoke_prompts.json").read_text("utf-8"))
    prompts = tuple(SmokePrompt(str(item["name"]), str(item["text"])) for item in raw["prompts"])
    return SmokeSuite(prompts, int(raw["min_passing"]), int(raw["max_tokens"]))


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class ValidationReport:
    path: str
    checks: tuple[CheckResult, ...] = field(default_factory=tuple)
    latency_p50_ms: float | None = None

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(check.passed for check in self.checks)

    @property
    def reason(self) -> str:
        """Why it failed, for users ("" when it passed)."""
        return "; ".join(f"{check.name}: {check.detail}" for check in self.checks if not check.passed)

    def render(self) -> str:
        lines = [f"{Path(self.path).name}: {'PASSED' if self.passed else 'REJECTED'}"]
        lines += [f"  [{'ok' if check.passed else 'FAIL'}] {check.name}: {check.detail}" for check in self.checks]
        return "\n".join(lines)


def spliced_parses(text: str, completion: str, language_id: str = "python") -> bool:
    """Some non-empty whole-line prefix of ``completion`` completes ``text`` into code without syntax errors."""
    spec = language_for(language_id)
    if spec is None or not completion.strip():
        return False
    lines = completion.split("\n")
    while lines and "\n".join(lines).strip():
        merged = text + "\n".join(lines) + "\n"
        if not parse(spec, merged.encode("utf-8", "surrogatepass")).root_node.has_error:
            return True
        lines.pop()
    return False


def _metadata_check(engine: Engine) -> CheckResult:
    info = engine.info
    problems = []
    if not info.architecture or info.architecture == "unknown":
        problems.append("no architecture")
    if info.context_length <= 0:
        problems.append("no context length")
    if info.vocab_size <= 0 and info.architecture != "fake":
        problems.append("an empty vocabulary")
    if problems:
        return CheckResult("metadata", False, "the GGUF metadata has " + ", ".join(problems))
    return CheckResult(
        "metadata", True, f"{info.name} ({info.architecture}, context {info.context_length}, vocab {info.vocab_size})"
    )


def validate_model(
    path: Path,
    *,
    latency_budget_ms: float,
    suite: SmokeSuite | None = None,
    load: Callable[[Path], Engine] | None = None,
) -> ValidationReport:
    """Run every check on ``path`` with an engine of its own (never the one serving)."""
    suite = suite or load_smoke_suite()
    load = load or (lambda p: LlamaEngine(p, context_size=VALIDATION_CONTEXT_SIZE, threads=VALIDATION_THREADS))
    checks: list[CheckResult] = []
    try:
        started = time.perf_counter()
        engine = load(path)
        checks.append(CheckResult("loads", True, f"loaded in {(time.perf_counter() - started) * 1000:.0f} ms"))
    except ModelLoadError as error:
        message = str(error)
        if "could not load" in message:
            message = "llama.cpp could not load it (incomplete or corrupt GGUF; re-checked when the file changes)"
        return ValidationReport(str(path), (CheckResult("loads", False, message),))
    except Exception as error:  # whatever a broken file makes llama.cpp raise is a rejection
        return ValidationReport(str(path), (CheckResult("loads", False, f"{type(error).__name__}: {error}"),))
    checks.append(metadata := _metadata_check(engine))
    if not metadata.passed:
        return ValidationReport(str(path), tuple(checks))
    passing: list[str] = []
    failing: list[str] = []
    latencies: list[float] = []
    for number, prompt in enumerate(suite.prompts):
        request = CompletionRequest(
            uri=f"file:///fireside-smoke/prompt_{number}.py",
            language_id="python",
            text=prompt.text,
            offset=len(prompt.text),
            version=1,
            max_tokens=suite.max_tokens,
        )
        started = time.perf_counter()
        completion = complete(
            engine, request, max_prompt_tokens=512, context_size=VALIDATION_CONTEXT_SIZE, cancelled=lambda: False,
            features=frozenset({"imports", "scopes"}),
        )
        latencies.append((time.perf_counter() - started) * 1000)
        (passing if spliced_parses(prompt.text, completion.text) else failing).append(prompt.name)
    enough = len(passing) >= suite.min_passing
    detail = f"{len(passing)}/{len(suite.prompts)} completions parse (need {suite.min_passing})"
    if failing:
        detail += f"; not: {', '.join(failing)}"
    checks.append(CheckResult("smoke evaluation", enough, detail))
    p50 = statistics.median(latencies)
    checks.append(
        CheckResult(
            "latency",
            p50 <= latency_budget_ms,
            f"median {p50:.0f} ms per completion (budget {latency_budget_ms:.0f} ms)",
        )
    )
    return ValidationReport(str(path), tuple(checks), p50)

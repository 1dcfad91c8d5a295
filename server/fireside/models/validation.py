"""Is a GGUF file fit to serve? The same checks for the watcher and for `fireside models validate`.

1. it loads in llama.cpp (a truncated or corrupt file does not);
2. its metadata is sane (an architecture, a context length, a vocabulary);
3. a smoke evaluation (``eval/smoke_prompts.json``) through the real completion pipeline yields
   code that parses when spliced in, for at least ``min_passing`` prompts;
4. the median latency of those completions is within the budget.

A candidate file is untrusted input to llama.cpp's parser, so :func:`validate_isolated` runs the checks
in a child process (``python -m fireside.models.validation PATH``) under limits: its own process group,
an address-space limit, a CPU-time limit and a wall-clock timeout (the whole group is killed), and it can
be cancelled — when the file changes again or the server stops.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from fireside.completion.engine import Engine, LlamaEngine, ModelLoadError
from fireside.completion.pipeline import complete
from fireside.completion.types import CompletionRequest
from fireside.context.languages import language_for
from fireside.context.syntax import parse
from fireside.process_limits import Cancelled, Limits, run_limited

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


# ----- in a child process, under limits -----------------------------------------------------------
LOAD_ALLOWANCE_S = 120.0  # reading a large GGUF from a slow disk, before the first smoke prompt
MEMORY_HEADROOM_BYTES = 3 << 30  # address space beyond the mapped file: Python, llama.cpp, KV cache, thread stacks
REPORT_MARKER = "FIRESIDE-VALIDATION-REPORT "


class ValidationCancelled(Exception):
    """The validation was cancelled and its process group killed; there is no verdict."""


def validation_limits(path: Path, latency_budget_ms: float, prompts: int) -> Limits:
    """Generous for a sound model, finite for a hostile one: every smoke prompt may take three times the
    latency budget, the file is mapped whole, and CPU time may be twice the wall time (one thread, plus
    llama.cpp's helpers)."""
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    wall = LOAD_ALLOWANCE_S + prompts * 3 * latency_budget_ms / 1000
    return Limits(wall_seconds=wall, cpu_seconds=int(wall * 2), address_space_bytes=size + MEMORY_HEADROOM_BYTES)


def _report_to_json(report: ValidationReport) -> str:
    return json.dumps(dataclasses.asdict(report))


def _report_from_json(text: str) -> ValidationReport:
    raw = json.loads(text)
    checks = tuple(CheckResult(str(c["name"]), bool(c["passed"]), str(c["detail"])) for c in raw["checks"])
    latency = raw.get("latency_p50_ms")
    return ValidationReport(str(raw["path"]), checks, float(latency) if latency is not None else None)


def validate_isolated(
    path: Path,
    *,
    latency_budget_ms: float,
    cancel: threading.Event | None = None,
    limits: Limits | None = None,
    on_start: Callable[[int], None] | None = None,
) -> ValidationReport:
    """:func:`validate_model` in a child process under ``limits`` (default :func:`validation_limits`).
    A child stopped by a limit is a rejection that says which; raises ValidationCancelled on ``cancel``."""
    limits = limits or validation_limits(path, latency_budget_ms, len(load_smoke_suite().prompts))
    argv = [sys.executable, "-P", "-m", "fireside.models.validation", str(path), "--latency-budget-ms", str(latency_budget_ms)]
    try:
        outcome = run_limited(argv, limits, cancel=cancel, on_start=on_start)
    except Cancelled:
        raise ValidationCancelled(str(path)) from None
    text = outcome.stdout.decode("utf-8", "replace")
    for line in reversed(text.splitlines()):
        if line.startswith(REPORT_MARKER) and not outcome.describe():
            try:
                report = _report_from_json(line[len(REPORT_MARKER) :])
            except (ValueError, KeyError, TypeError):
                break
            return _naming_the_memory_limit(report, limits)
    last_words = outcome.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
    detail = f"the validation process {outcome.describe() or 'printed no report'}"
    if last_words and not outcome.timed_out:
        detail += f" ({last_words[0][:200]})"
    return ValidationReport(str(path), (CheckResult("limits", False, detail),))


def _naming_the_memory_limit(report: ValidationReport, limits: Limits) -> ValidationReport:
    """A model that does not load under the limit may be corrupt, or need more memory: say both."""
    if limits.address_space_bytes is None:
        return report
    checks = tuple(
        dataclasses.replace(check, detail=f"{check.detail}; or it needs more memory than the validation's limit "
                            f"({limits.address_space_bytes >> 20} MiB of address space)")
        if check.name == "loads" and not check.passed and "llama.cpp could not load" in check.detail else check
        for check in report.checks
    )
    return dataclasses.replace(report, checks=checks)


def main(argv: Sequence[str] | None = None) -> int:
    """The child's side: validate PATH and print the report on one marked line."""
    parser = argparse.ArgumentParser(prog="python -m fireside.models.validation")
    parser.add_argument("path")
    parser.add_argument("--latency-budget-ms", type=float, required=True)
    args = parser.parse_args(argv)
    report = validate_model(Path(args.path), latency_budget_ms=args.latency_budget_ms)
    print(REPORT_MARKER + _report_to_json(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

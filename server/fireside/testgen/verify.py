"""Run candidate tests in a subprocess with a time limit and decide, for each, keep / mark as bug / drop.

Each candidate comes as variants, tried in order (as generated; narrowed strategies; narrowed without the
model's type guesses). A failure that looks like the strategy's fault (health checks, unsatisfiable
assumptions, timeouts, TypeError on a guessed type, errors outside the module under test) moves on to the
next variant and is dropped with its reason when none is left. A failure that looks like the code's fault
(ZeroDivisionError, IndexError... inside the module, a violated round trip / idempotence / docstring
example, a return value of the wrong type) is kept and marked as a likely bug with its falsifying example.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fireside.testgen.properties import TestSpec

__all__ = ["Outcome", "Verdict", "classify", "collect_check", "run_candidates", "verify"]

_HARNESS = Path(__file__).with_name("_harness.py")
# Exceptions that, raised inside the module under test, point at the code rather than at the inputs.
_BUG_TYPES = {
    "ZeroDivisionError", "IndexError", "KeyError", "UnboundLocalError", "NameError", "RecursionError",
    "AssertionError", "StopIteration", "NotImplementedError",
}
_STRATEGY_ERRORS = {
    "FailedHealthCheck", "Unsatisfiable", "DeadlineExceeded", "Flaky", "FlakyFailure", "FlakyStrategyDefinition",
    "InvalidArgument", "ResolutionFailed", "HypothesisException", "InvalidDefinition", "Frozen",
}


@dataclass
class Outcome:
    name: str
    status: str  # "passed" | "failed" | "timeout" | "crashed" | "missing"
    exc_type: str | None = None
    exc_mro: list[str] = field(default_factory=list)
    exc_module: str = ""
    message: str = ""
    notes: list[str] = field(default_factory=list)
    frames: list[tuple[str, int, str]] = field(default_factory=list)

    @property
    def falsifying(self) -> str | None:
        for note in self.notes:
            # Hypothesis has said "Falsifying example" and, lately, "Failing test case".
            if note.startswith(("Falsifying", "Failing test case", "Failing explicit example")):
                return note
        return None


@dataclass
class Verdict:
    spec: TestSpec  # the variant kept (or the last tried)
    status: str  # "kept" | "bug" | "dropped"
    reason: str = ""
    falsifying: str | None = None
    attempts: int = 1


@dataclass
class RunResult:
    outcomes: dict[str, Outcome]
    import_error: Outcome | None = None


def _environment(pythonpath: Sequence[str]) -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(p) for p in pythonpath] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # Hypothesis caches its unicode tables in its storage directory (default: ./.hypothesis). Runs happen in
    # fresh scratch folders, so without a shared cache every run rebuilds them, inside the time limit.
    cache = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fireside" / "testgen-hypothesis"
    env.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(cache))
    return env


def run_candidates(
    text: str,
    names: Sequence[str],
    *,
    python: str | None = None,
    pythonpath: Sequence[str] = (),
    limit: float = 20.0,
) -> RunResult:
    """Run the named tests of `text`, one by one, each under `limit` seconds."""
    outcomes: dict[str, Outcome] = {}
    remaining = list(names)
    with tempfile.TemporaryDirectory(prefix="fireside-testgen-") as scratch:
        candidate = Path(scratch, "fireside_candidates.py")
        candidate.write_text(text, encoding="utf-8")
        while remaining:
            out = Path(scratch, f"out-{len(outcomes)}.jsonl")
            command = [python or sys.executable, str(_HARNESS), str(candidate), str(out), str(limit), *remaining]
            timed_out = False
            try:
                subprocess.run(
                    command, cwd=scratch, env=_environment(pythonpath), capture_output=True,
                    timeout=limit * len(remaining) + 30,
                )
            except subprocess.TimeoutExpired:
                timed_out = True  # the "started" line without an end says which test hung
            records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] if out.exists() else []
            if records and records[0].get("import_error"):
                return RunResult(outcomes, _outcome("<import>", "failed", records[0]))
            started = None
            for record in records:
                if record["status"] == "started":
                    started = record["name"]
                    continue
                outcomes[record["name"]] = _outcome(record["name"], record["status"], record)
                started = None
            if started is not None:  # killed (or crashed) in the middle of this one
                outcomes[started] = Outcome(started, "timeout" if timed_out else "crashed", message="the test process died")
            elif not records:
                for name in remaining:  # the interpreter died before it could say anything
                    outcomes[name] = Outcome(name, "crashed", message="the test process exited without a result")
            remaining = [name for name in remaining if name not in outcomes]
    return RunResult(outcomes)


def _outcome(name: str, status: str, record: dict) -> Outcome:
    return Outcome(
        name=name, status=status, exc_type=record.get("exc_type"), exc_mro=record.get("exc_mro", []),
        exc_module=record.get("exc_module", ""),
        message=record.get("message", ""), notes=record.get("notes", []),
        frames=[tuple(frame) for frame in record.get("frames", [])],  # type: ignore[misc]
    )


def classify(outcome: Outcome, spec: TestSpec, target_file: Path | None) -> tuple[str, str]:
    """("pass" | "bug" | "strategy" | "broken", reason) for one outcome."""
    if outcome.status == "passed":
        return "pass", "passed"
    if outcome.status == "timeout":
        return "strategy", "timed out"
    if outcome.status in {"crashed", "missing"}:
        return "broken", outcome.message or outcome.status
    exc = outcome.exc_type or "Exception"
    summary = f"{exc}: {outcome.message.splitlines()[0] if outcome.message else ''}".strip().rstrip(":")
    if _STRATEGY_ERRORS & set(outcome.exc_mro) or outcome.exc_module.startswith("hypothesis"):
        return "strategy", f"Hypothesis rejected the strategy ({summary})"
    innermost = Path(outcome.frames[-1][0]).name if outcome.frames else ""
    in_target = bool(outcome.frames) and target_file is not None and _same(outcome.frames[-1][0], target_file)
    in_test = innermost == "fireside_candidates.py"
    if spec.kind == "raises":
        if exc == "Failed" or "DID NOT RAISE" in outcome.message:
            return "broken", "the guard's side did not raise as the source suggests"
        return "strategy", f"raised {summary} instead"
    if exc == "AssertionError" and in_test:
        what = {
            "roundtrip": "the round trip does not give back the input",
            "idempotent": "applying it twice differs from applying it once",
            "oracle": "the docstring's example does not hold",
            "no_exception": "the return value does not match the annotation",
        }.get(spec.kind, "an assertion failed")
        return "bug", what
    if spec.kind == "oracle":
        return ("bug", f"the docstring's example raises {summary}") if in_target else ("broken", summary)
    if in_test:
        return "broken", f"the generated test itself fails: {summary}"
    guessed = [name for name, origin in spec.origins.items() if origin not in {"annotation", "docstring"}]
    if exc in {"TypeError", "AttributeError"}:
        if guessed or not in_target:
            return "strategy", f"{summary} (the inferred types of {', '.join(guessed) or 'the inputs'} are likely wrong)"
        return "bug", f"raises {summary} for inputs of its annotated types"
    if in_target and exc in _BUG_TYPES:
        return "bug", f"raises {summary}"
    where = "inside the module" if in_target else f"in {innermost or 'a callee'}"
    return "strategy", f"raises {summary} {where} for some generated inputs"


def _same(filename: str, target: Path) -> bool:
    try:
        return Path(filename).resolve() == target.resolve()
    except OSError:
        return False


def verify(
    groups: list[list[TestSpec]],
    render: Callable[[list[TestSpec]], str],
    *,
    target_file: Path | None,
    python: str | None = None,
    pythonpath: Sequence[str] = (),
    limit: float = 20.0,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[Verdict], str | None]:
    """Verdicts in the order of `groups`, and the import error that stopped everything, if any."""
    verdicts: dict[int, Verdict] = {}
    attempt = {index: 0 for index in range(len(groups))}
    pending = list(range(len(groups)))
    bug_candidates: dict[int, tuple[str, str | None]] = {}
    while pending:
        specs = [groups[index][attempt[index]] for index in pending]
        result = run_candidates(render(specs), [s.name for s in specs], python=python, pythonpath=pythonpath, limit=limit)
        if result.import_error is not None:
            error = result.import_error
            return [], f"{error.exc_type}: {error.message}"
        next_pending = []
        for index, spec in zip(pending, specs, strict=True):
            outcome = result.outcomes.get(spec.name, Outcome(spec.name, "missing"))
            verdict_kind, reason = classify(outcome, spec, target_file)
            more = attempt[index] + 1 < len(groups[index])
            if verdict_kind == "pass":
                reason = "passed"
                if index in bug_candidates:  # worth a look: the wider inputs broke it
                    reason = f"passed once narrowed; the wider strategy found: {bug_candidates[index][0]}"
                verdicts[index] = Verdict(spec, "kept", reason, attempts=attempt[index] + 1)
            elif verdict_kind == "bug" and (not more or spec.kind == "oracle" or index in bug_candidates):
                # Reproduced with the narrower strategy too (or nothing narrower to try): the code's fault.
                verdicts[index] = Verdict(spec, "bug", reason, outcome.falsifying, attempt[index] + 1)
            elif verdict_kind in {"bug", "strategy"} and more:
                if verdict_kind == "bug":
                    bug_candidates[index] = (reason, outcome.falsifying)
                attempt[index] += 1
                if outcome.exc_type == "TypeError" and "model" in spec.origins.values():
                    # The model's type is wrong, not too wide: go straight to a variant without it.
                    while attempt[index] + 1 < len(groups[index]) and "model" in groups[index][attempt[index]].origins.values():
                        attempt[index] += 1
                next_pending.append(index)
                continue
            elif index in bug_candidates and verdict_kind != "pass":
                # The narrower strategy failed differently; the first failure was the code's.
                reason0, falsifying0 = bug_candidates[index]
                verdicts[index] = Verdict(groups[index][attempt[index] - 1], "bug", reason0, falsifying0, attempt[index] + 1)
            else:
                verdicts[index] = Verdict(spec, "dropped", reason, outcome.falsifying, attempt[index] + 1)
            if progress:
                progress(1)
        pending = next_pending
    return [verdicts[index] for index in range(len(groups))], None


def collect_check(text: str, *, python: str | None = None, pythonpath: Sequence[str] = (), timeout: float = 120) -> tuple[bool, str]:
    """Does `text` import and pass `pytest --collect-only`?"""
    with tempfile.TemporaryDirectory(prefix="fireside-collect-") as scratch:
        path = Path(scratch, "test_fireside_collect.py")
        path.write_text(text, encoding="utf-8")
        started = time.monotonic()
        try:
            completed = subprocess.run(
                [python or sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", str(path)],
                cwd=scratch, env=_environment(pythonpath), capture_output=True, text=True, timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return False, f"pytest --collect-only timed out after {time.monotonic() - started:.0f}s"
        return completed.returncode == 0, (completed.stdout + completed.stderr)[-2000:]

"""Run candidate tests in the sandbox with a time limit and decide, for each, keep / mark as bug / drop.

Each candidate comes as variants, tried in order (as generated; narrowed strategies; narrowed without the
model's type guesses; optional parameters at their defaults; for a guessed property, only its explicit
examples). A failure that looks like the strategy's fault (health checks, unsatisfiable assumptions,
timeouts, TypeError on a guessed type, errors outside the module under test) moves on to the next variant
and is dropped with its reason when none is left.

A failure is reported as a likely bug only with evidence: the falsifying input lies in the domain the
function declares (every argument drawn from its annotation or docstring, past its guards) and the failure
is an exception the code does not raise on purpose (ZeroDivisionError, IndexError... raised inside the
module) or a broken documented property (a docstring example, the return annotation). A property fireside
only guessed from names (round trip, idempotence) that fails is never a bug: it is narrowed to its
explicit examples or dropped. Private functions (`_name`) have no declared domain: their failures are
dropped too.

With `coverage_of`, the same run measures which arcs of that file each test executed (`Outcome.arcs`).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fireside.testgen.properties import HEURISTIC_KINDS, TestSpec
from fireside.testgen.sandbox import Limits, run_python, scratch_directory

__all__ = ["Outcome", "RunResult", "Verdict", "classify", "collect_check", "hypothesis_cache", "run_candidates", "verify"]

_HARNESS = Path(__file__).with_name("_harness.py")
HARNESS_NAME = "_fireside_harness.py"
CANDIDATES_NAME = "fireside_candidates.py"
# Exceptions that, raised inside the module under test, point at the code rather than at the inputs.
_BUG_TYPES = {
    "ZeroDivisionError", "IndexError", "KeyError", "UnboundLocalError", "NameError", "RecursionError",
    "AssertionError", "StopIteration", "NotImplementedError",
}
_STRATEGY_ERRORS = {
    "FailedHealthCheck", "Unsatisfiable", "DeadlineExceeded", "Flaky", "FlakyFailure", "FlakyStrategyDefinition",
    "InvalidArgument", "ResolutionFailed", "HypothesisException", "InvalidDefinition", "Frozen",
}
_DECLARED = {"annotation", "docstring"}


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
    arcs: frozenset[tuple[int, int]] | None = None  # executed arcs of the measured file (None: not measured)

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
    arcs: frozenset[tuple[int, int]] = frozenset()  # what it covered of the module (kept and bug tests)
    failures: tuple[str, ...] = ()  # the falsifying examples of the variants that failed before this one
    # What both its verification run and its run again took (None until run again): a branch only one of two
    # runs reached was reached by a lucky draw, and a later run may well miss it.
    steady_arcs: frozenset[tuple[int, int]] | None = None


@dataclass
class RunResult:
    outcomes: dict[str, Outcome]
    import_error: Outcome | None = None
    coverage_note: str | None = None  # why coverage was not measured, when it was asked for and not


def hypothesis_cache() -> Path:
    """Hypothesis caches its unicode tables in its storage directory (default ./.hypothesis). Runs happen in
    fresh scratch folders, so without a shared cache every run rebuilds them, inside the time limit."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fireside" / "testgen-hypothesis"


def run_candidates(
    text: str,
    names: Sequence[str],
    *,
    python: str | None = None,
    pythonpath: Sequence[str] = (),
    limit: float = 20.0,
    coverage_of: Path | None = None,
    cancel: threading.Event | None = None,
    limits: Limits | None = None,
    shrink: bool = False,
    max_examples: int | None = None,
) -> RunResult:
    """Run the named tests of `text`, one by one, each under `limit` seconds, in the sandbox. Failures are
    shrunk to a minimal example only with `shrink` (it can cost more than finding them).

    Raises sandbox.RunCancelled when `cancel` is set (the run's processes are killed first).
    """
    outcomes: dict[str, Outcome] = {}
    remaining = list(names)
    coverage_note = None
    env = {"HYPOTHESIS_STORAGE_DIRECTORY": str(hypothesis_cache())}
    if coverage_of is not None:
        env["FIRESIDE_COVERAGE_OF"] = str(coverage_of)
    if shrink:
        env["FIRESIDE_SHRINK"] = "1"
    if max_examples is not None:  # fewer inputs per test (never more than the suite's own setting)
        current = int(os.environ.get("FIRESIDE_TESTGEN_MAX_EXAMPLES", "0") or 0)
        env["FIRESIDE_TESTGEN_MAX_EXAMPLES"] = str(min(max_examples, current) if current else max_examples)
    with scratch_directory() as scratch:
        candidate = scratch / CANDIDATES_NAME
        candidate.write_text(text, encoding="utf-8")
        shutil.copyfile(_HARNESS, scratch / HARNESS_NAME)
        while remaining:
            out = scratch / f"out-{len(outcomes)}.jsonl"
            run = run_python(
                [HARNESS_NAME, CANDIDATES_NAME, out.name, str(limit), *remaining], python=python, scratch=scratch,
                pythonpath=pythonpath, timeout=limit * len(remaining) + 30, cancel=cancel, limits=limits, env=env,
            )
            records = []
            if out.exists():
                for line in out.read_text(encoding="utf-8", errors="replace").splitlines():
                    try:
                        records.append(json.loads(line))
                    except json.JSONDecodeError:
                        break  # the last line, cut short when the process was killed
            if records and records[0].get("coverage_unavailable"):
                coverage_note = f"coverage not measured: {records.pop(0)['coverage_unavailable']}"
            if records and records[0].get("import_error"):
                return RunResult(outcomes, _outcome("<import>", "failed", records[0]), coverage_note)
            started = None
            for record in records:
                if "name" not in record:
                    continue
                if record["status"] == "started":
                    started = record["name"]
                    continue
                outcomes[record["name"]] = _outcome(record["name"], record["status"], record)
                started = None
            tail = run.stderr.strip().splitlines()[-1:] if run.stderr.strip() else []
            died = "the test process died" + (f" ({tail[0][:200]})" if tail else "")
            if started is not None:  # killed (or crashed) in the middle of this one
                outcomes[started] = Outcome(started, "timeout" if run.timed_out else "crashed", message=died)
            elif not [r for r in records if "name" in r]:
                for name in remaining:  # the interpreter died before it could say anything
                    outcomes[name] = Outcome(name, "crashed", message=died.replace("died", "exited without a result"))
            remaining = [name for name in remaining if name not in outcomes]
    return RunResult(outcomes, coverage_note=coverage_note)


def _outcome(name: str, status: str, record: dict) -> Outcome:
    return Outcome(
        name=name, status=status, exc_type=record.get("exc_type"), exc_mro=record.get("exc_mro", []),
        exc_module=record.get("exc_module", ""),
        message=record.get("message", ""), notes=record.get("notes", []),
        frames=[tuple(frame) for frame in record.get("frames", [])],  # type: ignore[misc]
        arcs=frozenset(tuple(arc) for arc in record["arcs"]) if "arcs" in record else None,  # type: ignore[misc]
    )


def _declared(spec: TestSpec) -> tuple[bool, str]:
    """Is every input of `spec` drawn from a domain the function declares? And the evidence, in words."""
    if any(part.startswith("_") for part in spec.qualname.split(".")):
        return False, f"{spec.qualname} is private: its callers, not a declaration, define its inputs"
    guessed = [name for name, origin in spec.origins.items() if origin not in _DECLARED]
    if guessed:
        return False, f"the types of {', '.join(guessed)} are guessed, not declared"
    declared = [f"{name}: {spec.domain.get(name, '?')} ({spec.origins[name]})" for name in spec.origins]
    return True, "inputs of its declared types" + (f" ({'; '.join(declared)})" if declared else "")


def classify(outcome: Outcome, spec: TestSpec, target_file: Path | None) -> tuple[str, str]:
    """("pass" | "bug" | "strategy" | "heuristic" | "broken", reason) for one outcome.

    "bug" comes with the evidence: why the input is in the declared domain and why the failure is the code's.
    """
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
    in_test = innermost == CANDIDATES_NAME
    where = f"line {outcome.frames[-1][1]} in {outcome.frames[-1][2]}" if outcome.frames else "?"
    if spec.kind == "raises":
        if exc == "Failed" or "DID NOT RAISE" in outcome.message:
            return "broken", "the guard's side did not raise as the source suggests"
        return "strategy", f"raised {summary} instead"
    if spec.kind in HEURISTIC_KINDS:
        what = {"roundtrip": "the round trip does not give back the input",
                "idempotent": "applying it twice differs from applying it once"}[spec.kind]
        if not (exc == "AssertionError" and in_test):
            what = f"raises {summary}"
        return "heuristic", f"{what}; not reported: the property was only guessed from the names"
    if spec.kind == "oracle":
        if exc == "AssertionError" and in_test:
            return "bug", f"the docstring of {spec.qualname} promises this example and it does not hold"
        if in_target:
            return "bug", f"the docstring's example raises {summary} at {where} of the module"
        return "broken", summary
    declared, evidence = _declared(spec)
    if exc == "AssertionError" and in_test:  # the isinstance check of the declared return type
        if declared:
            return "bug", f"returns a value that is not its declared return type ({spec.return_check}), for {evidence}"
        return "strategy", f"the return value does not match the annotation, but {evidence}"
    if in_test:
        return "broken", f"the generated test itself fails: {summary}"
    if not in_target:
        return "strategy", f"raises {summary} in {innermost or 'a callee'} for some generated inputs"
    if exc in _BUG_TYPES or exc in {"TypeError", "AttributeError"}:
        if not declared:
            return "strategy", f"raises {summary} at {where} of the module, but {evidence}"
        return "bug", (
            f"raises {summary} at {where} of the module, for {evidence}; "
            f"{spec.qualname} does not raise {exc} on purpose"
        )
    return "strategy", f"raises {summary} inside the module for some generated inputs"


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
    coverage_of: Path | None = None,
    cancel: threading.Event | None = None,
    notes: list[str] | None = None,
) -> tuple[list[Verdict], str | None]:
    """Verdicts in the order of `groups`, and the import error that stopped everything, if any.

    With `coverage_of`, each kept or bug verdict carries the arcs of that file its test executed; a note
    goes to `notes` when they could not be measured.
    """
    verdicts: dict[int, Verdict] = {}
    attempt = {index: 0 for index in range(len(groups))}
    pending = list(range(len(groups)))
    bug_candidates: dict[int, tuple[str, str | None]] = {}
    failures: dict[int, list[str]] = {index: [] for index in range(len(groups))}
    while pending:
        specs = [groups[index][attempt[index]] for index in pending]
        result = run_candidates(
            render(specs), [s.name for s in specs], python=python, pythonpath=pythonpath, limit=limit,
            coverage_of=coverage_of, cancel=cancel,
        )
        if result.coverage_note and notes is not None and result.coverage_note not in notes:
            notes.append(result.coverage_note)
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
                verdicts[index] = Verdict(spec, "kept", reason, attempts=attempt[index] + 1, arcs=outcome.arcs or frozenset())
            elif verdict_kind == "bug" and (not more or spec.kind == "oracle" or index in bug_candidates):
                # Reproduced with the narrower strategy too (or nothing narrower to try): the code's fault.
                verdicts[index] = Verdict(spec, "bug", reason, outcome.falsifying, attempt[index] + 1, outcome.arcs or frozenset())
            elif verdict_kind in {"bug", "strategy", "heuristic"} and more:
                if outcome.falsifying:
                    failures[index].append(outcome.falsifying)
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
                verdicts[index] = Verdict(groups[index][attempt[index] - 1], "bug", reason0, falsifying0, attempt[index] + 1,
                                          outcome.arcs or frozenset())
            else:
                verdicts[index] = Verdict(spec, "dropped", reason, outcome.falsifying, attempt[index] + 1)
            if progress:
                progress(1)
        pending = next_pending
    for index, verdict in verdicts.items():
        verdict.failures = tuple(failures[index])
    _shrink_bugs(verdicts, render, target_file=target_file, python=python, pythonpath=pythonpath, limit=limit,
                 coverage_of=coverage_of, cancel=cancel)
    return [verdicts[index] for index in range(len(groups))], None


def _shrink_bugs(verdicts: dict[int, Verdict], render: Callable[[list[TestSpec]], str], *, target_file: Path | None,
                 python: str | None, pythonpath: Sequence[str], limit: float, coverage_of: Path | None,
                 cancel: threading.Event | None) -> None:
    """Run the likely bugs again with shrinking on, so each report shows the minimal falsifying example
    (a failure that does not come back keeps the example it was found with)."""
    bugs = {index: verdict for index, verdict in verdicts.items() if verdict.status == "bug" and verdict.spec.given}
    if not bugs:
        return
    specs = [verdict.spec for verdict in bugs.values()]
    result = run_candidates(render(specs), [s.name for s in specs], python=python, pythonpath=pythonpath,
                            limit=max(limit, 30.0), coverage_of=coverage_of, cancel=cancel, shrink=True)
    for index, verdict in bugs.items():
        outcome = result.outcomes.get(verdict.spec.name)
        if outcome is not None and outcome.status == "failed" and outcome.falsifying:
            verdicts[index] = Verdict(verdict.spec, "bug", verdict.reason, outcome.falsifying, verdict.attempts,
                                      verdict.arcs | (outcome.arcs or frozenset()), verdict.failures)


def collect_check(
    text: str, *, python: str | None = None, pythonpath: Sequence[str] = (), timeout: float = 120,
    cancel: threading.Event | None = None,
) -> tuple[bool, str]:
    """Does `text` import and pass `pytest --collect-only`? (In the sandbox: collecting imports user code.)"""
    with scratch_directory("fireside-collect-") as scratch:
        path = scratch / "test_fireside_collect.py"
        path.write_text(text, encoding="utf-8")
        started = time.monotonic()
        run = run_python(
            ["-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", path.name], python=python,
            scratch=scratch, pythonpath=pythonpath, timeout=timeout, cancel=cancel,
            env={"HYPOTHESIS_STORAGE_DIRECTORY": str(hypothesis_cache())},
        )
        if run.timed_out:
            return False, f"pytest --collect-only timed out after {time.monotonic() - started:.0f}s"
        return run.returncode == 0, (run.stdout + run.stderr)[-2000:]

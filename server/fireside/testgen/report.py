"""What `fireside testgen` did, for people (rich table) and for programs (dict)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fireside.testgen.properties import Skipped
from fireside.testgen.verify import Verdict

__all__ = ["Report"]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@dataclass
class Report:
    target: str
    module: str
    functions: int = 0
    generated: int = 0
    verified: bool = False
    verdicts: list[Verdict] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    model_log: list[str] = field(default_factory=list)
    output: Path | None = None
    action: str = ""
    message: str = ""
    import_error: str | None = None
    collect_ok: bool | None = None
    collect_output: str = ""
    seconds: float = 0.0
    not_run_reason: str | None = None  # why the tests were written without being run
    notes: list[str] = field(default_factory=list)  # told once: no network isolation, no coverage...
    branches: int = 0  # branches in the module (coverage.py's count)
    branch_before: float | None = None  # % of them the verified tests take
    branch_after: float | None = None  # ... and with the coverage rounds' tests
    rounds: list[Any] = field(default_factory=list)  # rounds.RoundLog
    round_dropped: list[Verdict] = field(default_factory=list)  # round candidates that failed
    missed: dict[str, list[int]] = field(default_factory=dict)  # function -> lines of branches no kept test takes

    @property
    def kept(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.status == "kept"]

    @property
    def bugs(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.status == "bug"]

    @property
    def dropped(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.status == "dropped"]

    @property
    def written(self) -> int:
        return len(self.verdicts) if not self.verified else len(self.kept) + len(self.bugs)

    def summary(self) -> str:
        if self.import_error:
            missing = re.search(r"No module named '(hypothesis|pytest)'", self.import_error)
            if missing:  # the interpreter that runs the tests lacks a test tool, not the module a dependency
                return (f"{self.module}: the interpreter that runs the tests cannot import {missing[1]}; install "
                        "hypothesis and pytest into it, or name another one with --python; nothing written")
            return f"{self.module}: the module does not import ({self.import_error}); nothing written"
        if not self.verified:
            why = f": {self.not_run_reason}" if self.not_run_reason else ""
            return f"{self.module}: {self.generated} tests generated for {self.functions} functions, NOT VERIFIED (not run{why})"
        text = (
            f"{self.module}: {self.functions} functions, {self.generated} tests generated, {len(self.kept)} pass, "
            f"{len(self.bugs)} likely bugs, {len(self.dropped)} dropped"
        )
        if self.branch_after is not None:
            before = f"{self.branch_before:.0f}% → " if self.rounds and self.branch_before is not None else ""
            text += f"; branch coverage {before}{self.branch_after:.0f}%"
        return text + (f"; {self.message}" if self.message else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "module": self.module,
            "functions": self.functions,
            "generated": self.generated,
            "verified": self.verified,
            "kept": [v.spec.name for v in self.kept],
            "bugs": [{"test": v.spec.name, "reason": v.reason, "falsifying": v.falsifying} for v in self.bugs],
            "dropped": [{"test": v.spec.name, "reason": v.reason} for v in self.dropped],
            "skipped": [{"function": s.qualname, "reason": s.reason} for s in self.skipped],
            "model": self.model_log,
            "output": str(self.output) if self.output else None,
            "action": self.action,
            "message": self.message,
            "import_error": self.import_error,
            "collect_ok": self.collect_ok,
            "seconds": round(self.seconds, 2),
            "not_run_reason": self.not_run_reason,
            "notes": self.notes,
            "branches": self.branches,
            "branch_coverage_verified": _rounded(self.branch_before),
            "branch_coverage": _rounded(self.branch_after),
            "rounds": [{"round": r.number, "source": r.source, "candidates": r.candidates, "kept": r.kept,
                        "branch_coverage": _rounded(r.branch_percent), "seconds": round(r.seconds, 1)} for r in self.rounds],
            "round_dropped": [{"test": v.spec.name, "reason": v.reason} for v in self.round_dropped],
            "missed_branches": self.missed,
        }

    def print(self, console: Any) -> None:
        """Render on a rich Console: a summary line, likely bugs with their examples, then what was dropped."""
        from rich.table import Table

        console.print(self.summary())
        for note in self.notes:
            console.print(f"note: {note}")
        for log in self.rounds:
            percent = f"{log.branch_percent:.0f}%" if log.branch_percent is not None else "?"
            console.print(f"coverage round {log.number} ({log.source}): {log.kept} of {log.candidates} candidates "
                          f"kept, branch coverage {percent}, {log.seconds:.0f}s")
        if self.missed:
            shown = "; ".join(f"{name} (lines {', '.join(map(str, lines[:8]))})" for name, lines in list(self.missed.items())[:8])
            console.print(f"branches no test reaches: {shown}")
        if self.bugs:
            table = Table(title="Likely bugs", show_lines=True)
            table.add_column("test")
            table.add_column("why")
            table.add_column("falsifying example")
            for verdict in self.bugs:
                table.add_row(verdict.spec.name, verdict.reason, verdict.falsifying or "")
            console.print(table)
        if self.dropped or self.skipped:
            table = Table(title="Dropped or skipped")
            table.add_column("test / function")
            table.add_column("reason")
            for verdict in self.dropped:
                table.add_row(verdict.spec.name, verdict.reason)
            for skipped in self.skipped:
                table.add_row(skipped.qualname, skipped.reason)
            console.print(table)
        for line in self.model_log:
            console.print(f"model: {line}")

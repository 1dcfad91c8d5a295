"""`fireside testgen` vs `hypothesis write` (the ghostwriter) on small pure-Python modules from PyPI.

Usage (from the repository root; needs network to PyPI the first time):

    .venv/bin/python eval/testgen_compare.py [--model GGUF] [--modules roman inflection ...] [--tools ...]

Tools: `fireside` (the default: verification, then coverage rounds with the model), `fireside-mined`
(coverage rounds without the model: `--no-model`), `fireside-static` (no model, no rounds: `--no-model
--rounds 0`, what fireside did before the coverage rounds) and `ghostwriter`. `--model GGUF` is the model
the `fireside` tool asks (default: the server's default model).

Everything lands in eval/out/testgen/ (git-ignored): a throwaway venv with the packages, Hypothesis (with its
ghostwriter extra), pytest and coverage; one folder of tests per tool and module (with fireside's report.json);
results.json. For each module and tool it reports the tests generated, passing, failing, collection/import
errors, placeholder strategies (`st.nothing()`), branch coverage of the module measured by coverage.py (one
plain pytest run of the written file, as a user would run it), fireside's likely-bug reports, and the time
taken. Each fireside file is then run `--reruns` more times (new random inputs, no coverage): a test that fails
in any run and is not a reported bug was kept by luck. Which reports are real bugs is checked by hand: see REVIEWED_BUGS and eval/RESULTS.md.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "eval" / "out" / "testgen"
VENV = OUT / "venv"
# (PyPI requirement, module under test): small, pure Python, validation and string/number logic.
MODULES = [
    ("roman==5.2", "roman"),
    ("inflection==0.5.1", "inflection"),
    ("webcolors==25.10.0", "webcolors._normalization"),
    ("humanize==4.17.0", "humanize.number"),
    ("python-slugify==9.2.0", "slugify.slugify"),
    # Parser-style modules: text in, structure out, through regular expressions. The ghostwriter stays at or
    # under 25 % branch coverage on both (see eval/RESULTS.md).
    ("pytimeparse==1.1.10", "pytimeparse.timeparse"),
    ("isodate==0.7.2", "isodate.isoduration"),
]
# Each likely-bug report fireside made on these modules, checked by hand: (module, test) -> (real?, why).
REVIEWED_BUGS: dict[tuple[str, str], tuple[bool, str]] = {
    ("inflection", "test_camelize_fuzz"): (True, "camelize('', uppercase_first_letter=False) raises IndexError (string[0]) where camelize('') returns '': a crash on a str, the declared type"),
}
FIRESIDE_TOOLS = {
    "fireside": [],
    "fireside-mined": ["--no-model"],
    "fireside-static": ["--no-model", "--rounds", "0"],
}
TOOLS_REQUIREMENTS = ["hypothesis[cli,ghostwriter]", "pytest", "pytest-timeout", "coverage"]
PER_TEST_TIMEOUT = 30  # seconds, for both tools' tests: a hung test counts as failed, not as a hung eval


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv(requirements: list[str]) -> None:
    if not venv_python().exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(venv_python()), "-m", "pip", "install", "-q", *TOOLS_REQUIREMENTS, *requirements], check=True)


def module_file(module: str) -> Path:
    code = f"import importlib.util; print(importlib.util.find_spec({module!r}).origin)"
    return Path(subprocess.run([str(venv_python()), "-c", code], check=True, capture_output=True, text=True).stdout.strip())


def run_fireside(module: str, folder: Path, flags: list[str], model: str | None) -> tuple[Path | None, float, str]:
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "fireside", "testgen", str(module_file(module)), "-o", str(folder),
               "--python", str(venv_python()), "--json", *flags]
    if model and "--no-model" not in flags:
        command += ["--model", model]
    started = time.monotonic()
    completed = subprocess.run(command, capture_output=True, text=True, cwd=folder)
    seconds = time.monotonic() - started
    (folder / "report.json").write_text(completed.stdout)
    written = sorted(folder.glob("test_*.py"))
    return (written[0] if written else None), seconds, completed.stdout  # the --json report


def run_ghostwriter(module: str, folder: Path) -> tuple[Path | None, float, str]:
    folder.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    completed = subprocess.run([str(VENV / "bin" / "hypothesis"), "write", module], capture_output=True, text=True, cwd=folder)
    seconds = time.monotonic() - started
    if completed.returncode != 0 or not completed.stdout.strip():
        return None, seconds, completed.stderr[-2000:]
    path = folder / f"test_{module.replace('.', '_')}.py"
    path.write_text(completed.stdout)
    return path, seconds, completed.stderr[-2000:]


def seed_unicode_cache(folder: Path) -> None:
    """Give the run Hypothesis's unicode tables, built once: on a busy 2-core machine building them inside the
    first test can take longer than the per-test timeout, and that says nothing about either tool's tests."""
    warm = OUT / "hypothesis-warm"
    if not (warm / "unicode_data").exists():
        warm_up = ("import warnings; warnings.simplefilter('ignore'); from hypothesis import strategies as st; "
                   "st.text().example(); st.characters().example()")
        subprocess.run([str(venv_python()), "-c", warm_up],
                       env={**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": str(warm)}, check=False, capture_output=True)
    if (warm / "unicode_data").exists():
        shutil.copytree(warm / "unicode_data", folder / ".hypothesis" / "unicode_data", dirs_exist_ok=True)


def count_tests(path: Path) -> int:
    try:
        tree = ast.parse(path.read_text())
    except SyntaxError:
        return 0
    return sum(1 for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name.startswith("test"))


def measure(path: Path, source: Path) -> dict:
    """Run one test file under coverage in the throwaway venv: outcomes and branch coverage of `source`."""
    folder = path.parent
    junit, data, report = folder / "junit.xml", folder / ".coverage", folder / "coverage.json"
    for stale in (junit, data, report):
        stale.unlink(missing_ok=True)
    env = {**os.environ, "COVERAGE_FILE": str(data)}
    seed_unicode_cache(folder)
    started = time.monotonic()
    try:
        subprocess.run(
            [str(venv_python()), "-m", "coverage", "run", "--branch", f"--include={source}", "-m", "pytest", "-q",
             "-p", "no:cacheprovider", f"--timeout={PER_TEST_TIMEOUT}", f"--junitxml={junit}", str(path)],
            cwd=folder, env=env, capture_output=True, text=True, timeout=900,
        )
    except subprocess.TimeoutExpired:
        return {"error": "pytest timed out after 900 s"}
    run_seconds = time.monotonic() - started
    result = {"tests": count_tests(path), "run_seconds": round(run_seconds, 1),
              "placeholders": path.read_text().count("st.nothing()")}
    if junit.exists():
        suite = ET.parse(junit).getroot()
        suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
        total, failures, errors, skipped = (int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
        collection_errors = [c for c in suite.iter("testcase") if c.find("error") is not None and not c.get("name")]
        result.update(executed=total, passed=total - failures - errors - skipped, failed=failures, errors=errors,
                      import_error=bool(collection_errors) or (total == errors and errors > 0 and result["tests"] > 0))
    result["failed_tests"] = sorted(_failed_names(junit))
    subprocess.run([str(venv_python()), "-m", "coverage", "json", "-o", str(report)], cwd=folder, env=env,
                   capture_output=True, text=True)
    if report.exists():
        totals = json.loads(report.read_text())["totals"]
        branches = totals.get("num_branches", 0)
        result["branch_coverage"] = round(100 * totals.get("covered_branches", 0) / branches, 1) if branches else None
        result["line_coverage"] = round(100 * totals["covered_lines"] / max(totals["num_statements"], 1), 1)
    else:
        result["branch_coverage"] = result["line_coverage"] = 0.0
    return result


def _failed_names(junit: Path) -> set[str]:
    if not junit.exists():
        return set()
    return {case.get("name", "") for case in ET.parse(junit).getroot().iter("testcase")
            if case.find("failure") is not None or case.find("error") is not None}


def rerun_failures(path: Path, runs: int) -> list[list[str]]:
    """Run the written file `runs` more times (new random inputs each time, no coverage): the tests that failed in
    each run. A test that passes in the measured run but fails in another was kept by luck."""
    failed = []
    for number in range(runs):
        junit = path.parent / f"junit-rerun{number}.xml"
        junit.unlink(missing_ok=True)
        try:
            subprocess.run([str(venv_python()), "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--timeout={PER_TEST_TIMEOUT}",
                            f"--junitxml={junit}", str(path)], cwd=path.parent, capture_output=True, text=True, timeout=900)
        except subprocess.TimeoutExpired:
            failed.append(["(timed out)"])
            continue
        failed.append(sorted(_failed_names(junit)))
    return failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", nargs="*", help="only these modules (by module name)")
    parser.add_argument("--model", default=None, metavar="GGUF", help="the model the `fireside` tool asks (default: the server's)")
    parser.add_argument("--skip-install", action="store_true")
    parser.add_argument("--reruns", type=int, default=2, metavar="N",
                        help="run each fireside file N more times to catch tests kept by luck (default 2)")
    tools = [*FIRESIDE_TOOLS, "ghostwriter"]
    parser.add_argument("--tools", nargs="*", default=tools, choices=tools)
    args = parser.parse_args()
    chosen = [(req, mod) for req, mod in MODULES if not args.modules or mod in args.modules]
    if not args.skip_install:
        ensure_venv([req for req, _ in chosen])
    rows = []
    for requirement, module in chosen:
        source = module_file(module)
        for tool in args.tools:
            folder = OUT / tool / module.replace(".", "_")
            shutil.rmtree(folder, ignore_errors=True)
            if tool in FIRESIDE_TOOLS:
                path, seconds, log = run_fireside(module, folder, FIRESIDE_TOOLS[tool], args.model)
            else:
                path, seconds, log = run_ghostwriter(module, folder)
            row = {"module": module, "package": requirement, "tool": tool, "seconds": round(seconds, 1)}
            row.update(measure(path, source) if path else {"error": "no test file written", "log": log[-2000:]})
            if tool in FIRESIDE_TOOLS and path and args.reruns > 0:
                reruns = rerun_failures(path, args.reruns)
                row["rerun_failed"] = reruns
                row["failed_any_run"] = len(set(row.get("failed_tests", [])).union(*map(set, reruns)))
            if tool in FIRESIDE_TOOLS:
                try:
                    report = json.loads(log[log.index("{"):]) if "{" in log else {}
                except json.JSONDecodeError:
                    report = {}
                bugs = report.get("bugs", [])
                row["likely_bugs"] = len(bugs)
                reviewed = [REVIEWED_BUGS.get((module, bug["test"])) for bug in bugs]
                row["real_bugs"] = sum(1 for r in reviewed if r and r[0])
                row["unreviewed_bugs"] = [bug["test"] for bug, r in zip(bugs, reviewed) if r is None]
                row["bug_reports"] = bugs
                failed = set(row.get("failed_tests", [])).union(*map(set, row.get("rerun_failed", [])))
                row["unreported_failures"] = sorted(failed - {bug["test"] for bug in bugs})
                row["dropped"] = len(report.get("dropped", []))
                row["own_branch_coverage"] = report.get("branch_coverage")
                row["rounds"] = report.get("rounds", [])
            rows.append(row)
            print(json.dumps(row), flush=True)
    results = OUT / "results.json"
    if (args.modules or set(args.tools) != set(tools)) and results.exists():  # a partial re-run replaces only its rows
        done = {(r["module"], r["tool"]) for r in rows}
        old = [r for r in json.loads(results.read_text()) if (r["module"], r["tool"]) not in done]
        order = [m for _, m in MODULES]
        tool_order = [*FIRESIDE_TOOLS, "ghostwriter"]
        rows = sorted(old + rows, key=lambda r: (order.index(r["module"]) if r["module"] in order else 99,
                                                 tool_order.index(r["tool"]) if r["tool"] in tool_order else 99))
    results.write_text(json.dumps(rows, indent=2))
    print()
    print(table(json.loads(results.read_text())))
    return 0


def table(rows: list[dict]) -> str:
    header = ["module", "tool", "tests", "passed", "failed", "failed in any run", "import err", "st.nothing()", "branch cov %",
              "line cov %", "likely bugs (real)", "gen s", "run s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        bugs = f"{row['likely_bugs']} ({row.get('real_bugs', '?')})" if "likely_bugs" in row else ""
        cells = [row["module"], row["tool"], row.get("tests", 0), row.get("passed", 0), row.get("failed", 0),
                 row.get("failed_any_run", ""),
                 "yes" if row.get("import_error") or row.get("error") else "no",
                 row.get("placeholders", 0), row.get("branch_coverage"), row.get("line_coverage"), bugs, row["seconds"],
                 row.get("run_seconds", "")]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines.append("")
    lines.append("| tool | mean branch cov % | modules below the ghostwriter | failing tests | failing in any run | "
                 "failing, not reported | likely bugs (real) | gen s | max gen s |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    ghost = {r["module"]: r.get("branch_coverage") or 0.0 for r in rows if r["tool"] == "ghostwriter"}
    for tool in dict.fromkeys(r["tool"] for r in rows):
        mine = [r for r in rows if r["tool"] == tool]
        mean = sum(r.get("branch_coverage") or 0.0 for r in mine) / len(mine)
        below = [r["module"] for r in mine if tool != "ghostwriter" and (r.get("branch_coverage") or 0.0) < ghost.get(r["module"], 0.0)]
        bugs = sum(r.get("likely_bugs", 0) for r in mine)
        real = sum(r.get("real_bugs", 0) for r in mine)
        unreported = sum(len(r.get("unreported_failures", [])) for r in mine) if tool != "ghostwriter" else ""
        any_run = sum(r.get("failed_any_run", r.get("failed", 0)) for r in mine) if tool != "ghostwriter" else ""
        lines.append(f"| {tool} | {mean:.1f} | {', '.join(below) or 'none'} | {sum(r.get('failed', 0) for r in mine)} | "
                     f"{any_run} | {unreported} | {bugs} ({real}) | {sum(r['seconds'] for r in mine):.0f} | {max(r['seconds'] for r in mine):.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

"""Runs candidate tests one by one in a subprocess and writes one JSON line per outcome.

Copied into the run's scratch directory and started by sandbox.py's boot script
(`_fireside_harness.py FILE OUT LIMIT [NAME...]`) with the interpreter that will run the tests, so it
must not import fireside (nor could it: fireside's modules are not on the path, and none of its names
shadow the user's). A "started" line is written before each test so the parent can tell which test hung
if the whole process has to be killed.

With FIRESIDE_COVERAGE_OF=PATH (and coverage.py importable), branch coverage of that file is measured
with one coverage.py context per test, and each test's line carries the arcs it executed.
"""

import builtins
import importlib.util
import json
import os
import signal
import sys
import traceback
import unittest


_GROUP = getattr(builtins, "BaseExceptionGroup", ())  # Python 3.11+


class CandidateTimeout(BaseException):
    """Raised by the alarm; a BaseException so that neither the test nor Hypothesis swallows it."""


def _on_alarm(signum, frame):
    raise CandidateTimeout()


def _describe(error):
    if _GROUP and isinstance(error, _GROUP) and error.exceptions:  # distinct failures: describe the first
        notes = list(getattr(error, "__notes__", []))
        inner = _describe(error.exceptions[0])
        inner["notes"] = notes + inner["notes"]
        inner["group"] = len(error.exceptions)
        return inner
    frames = [(f.filename, f.lineno, f.name) for f in traceback.extract_tb(error.__traceback__)]
    return {
        "exc_type": type(error).__name__,
        "exc_module": type(error).__module__,
        "exc_mro": [cls.__name__ for cls in type(error).__mro__],
        "message": str(error)[:800],
        "notes": [str(n)[:2000] for n in getattr(error, "__notes__", [])],
        "frames": frames[-12:],
    }


def _start_coverage(target, emit):
    """A started coverage.Coverage measuring branches of `target` only, or None (said once in `out`)."""
    if not target:
        return None
    try:
        import coverage

        cov = coverage.Coverage(branch=True, include=[target], data_file=None, config_file=False)
        cov.start()
        return cov
    except Exception as error:  # noqa: BLE001 - no coverage.py for this interpreter: verify without it
        emit({"coverage_unavailable": "%s: %s" % (type(error).__name__, error)})
        return None


def _arcs(cov, target, name):
    data = cov.get_data()
    data.set_query_contexts([name])
    wanted = os.path.realpath(target)
    for measured in data.measured_files():
        if os.path.realpath(measured) == wanted:
            return sorted(data.arcs(measured) or [])
    return []


def main():
    path, out_path, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
    wanted = sys.argv[4:]
    out = open(out_path, "a", encoding="utf-8")

    def emit(record):
        out.write(json.dumps(record) + "\n")
        out.flush()

    target = os.environ.get("FIRESIDE_COVERAGE_OF", "")
    cov = _start_coverage(target, emit)
    try:
        from hypothesis import Phase, settings

        # No example database: verification must not leave .hypothesis/ folders behind.
        # FIRESIDE_TESTGEN_MAX_EXAMPLES lets fireside's own test suite verify quickly.
        examples = int(os.environ.get("FIRESIDE_TESTGEN_MAX_EXAMPLES", "0")) or settings.default.max_examples
        derandomize = os.environ.get("FIRESIDE_TESTGEN_DERANDOMIZE") == "1"  # for reproducible test runs
        # Shrinking a failure costs more than finding it; fireside asks for it (FIRESIDE_SHRINK=1) only to
        # show the minimal example of a likely bug. No "explain" phase: it traces, like coverage does.
        phases = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
        if os.environ.get("FIRESIDE_SHRINK") == "1":
            phases.append(Phase.shrink)
        settings.register_profile("fireside-verify", database=None, max_examples=examples, derandomize=derandomize,
                                  phases=phases)
        settings.load_profile("fireside-verify")
        spec = importlib.util.spec_from_file_location("fireside_candidates", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["fireside_candidates"] = module
        spec.loader.exec_module(module)
    except BaseException as error:  # noqa: BLE001 - any import failure is the answer
        emit({"import_error": True, **_describe(error)})
        return
    tests = {}
    for name, value in vars(module).items():
        if name.startswith("test") and callable(value) and not isinstance(value, type):
            tests[name] = value
        elif isinstance(value, type) and issubclass(value, unittest.TestCase):
            for attribute in dir(value):
                if attribute.startswith("test"):
                    tests[attribute] = getattr(value(attribute), attribute)
    signal.signal(signal.SIGALRM, _on_alarm)
    for name in wanted or list(tests):
        if name not in tests:
            emit({"name": name, "status": "missing"})
            continue
        emit({"name": name, "status": "started"})
        if cov is not None:
            cov.switch_context(name)
        signal.setitimer(signal.ITIMER_REAL, limit)
        try:
            tests[name]()
        except CandidateTimeout:
            emit({"name": name, "status": "timeout"})
            # Whatever it was doing (a giant allocation, a half-shrunk search) would weigh on the next test:
            # stop here, and the parent runs the rest in a fresh process.
            return
        except BaseException as error:  # noqa: BLE001
            signal.setitimer(signal.ITIMER_REAL, 0)
            record = {"name": name, "status": "failed", **_describe(error)}
        else:
            record = {"name": name, "status": "passed"}
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if cov is not None:
            cov.switch_context("")
            try:
                record["arcs"] = _arcs(cov, target, name)
            except Exception as error:  # noqa: BLE001
                record["arcs_error"] = str(error)[:200]
        emit(record)


if __name__ == "__main__":
    main()

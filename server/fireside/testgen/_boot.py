"""First code of every sandboxed run: set the resource limits, then run the real program.

Copied into the run's scratch directory and started as `python _fireside_boot.py LIMITS -m MODULE ARGS...`
or `python _fireside_boot.py LIMITS SCRIPT ARGS...`, with the interpreter that runs the tests, so it must
not import fireside. The limits are in place before anything else is imported (pytest, Hypothesis, the
module under test), so no user code ever runs without them.
"""

import json
import runpy
import sys

try:
    import resource
except ImportError:  # not a POSIX system: no limits to set (the parent's time limit still applies)
    resource = None


def _apply(limits):
    if resource is None:
        return sorted(limits)
    names = {"memory": "RLIMIT_AS", "processes": "RLIMIT_NPROC", "file_size": "RLIMIT_FSIZE", "cpu": "RLIMIT_CPU"}
    which_limit = {name: getattr(resource, constant) for name, constant in names.items() if hasattr(resource, constant)}
    refused = []
    for name, value in limits.items():
        which = which_limit.get(name)
        if which is None or value is None:
            continue
        _, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        # The hard limit comes down too (the tests cannot raise it back); for CPU time it leaves a
        # second between SIGXCPU at the soft limit and SIGKILL.
        new_hard = value + 1 if name == "cpu" else value
        if hard != resource.RLIM_INFINITY:
            new_hard = min(new_hard, hard)
        try:
            resource.setrlimit(which, (value, new_hard))
        except (ValueError, OSError):
            refused.append(name)
    return refused


def main():
    limits = json.loads(sys.argv[1])
    refused = _apply(limits)
    if refused:
        sys.stderr.write("fireside sandbox: could not set limits: %s\n" % ", ".join(refused))
    # Our own folder (the scratch directory) stays first on sys.path: it holds only fireside's
    # uniquely named files, so the user's modules (on PYTHONPATH) are the ones that import.
    rest = sys.argv[2:]
    if rest[:1] == ["-m"]:
        sys.argv = [rest[1], *rest[2:]]
        runpy.run_module(rest[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = rest
        runpy.run_path(rest[0], run_name="__main__")


if __name__ == "__main__":
    main()

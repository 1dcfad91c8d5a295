"""The sandbox user code runs in: a reduced environment, limits, bounded output, nothing left behind, no
network, cancellation, one run at a time, and fireside's own files never shadowing the user's modules."""

from __future__ import annotations

import os
import resource
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from fireside.testgen.pipeline import Options, generate_tests, resolve_target
from fireside.testgen.properties import TestSpec
from fireside.testgen.render import TargetImport, render_file
from fireside.testgen.sandbox import Limits, RunCancelled, isolation, reduced_environment, run_python, scratch_directory
from fireside.testgen.verify import run_candidates


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().split(") ", 1)[1][:1]
        except OSError:
            continue
        if marker.encode() in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def _gone(marker: str, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.1)  # an already-killed process may take a moment to be reaped by its new parent
    return not _processes_with(marker)


def _spec(name: str, call: str) -> TestSpec:
    return TestSpec(name=name, kind="no_exception", qualname="f", lineno=1, call=call)


def test_the_environment_is_reduced_to_what_python_needs(monkeypatch, tmp_path):
    monkeypatch.setenv("FIRESIDE_PROBE_SECRET", "hunter2")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-never-leak")
    env = reduced_environment(["/somewhere"], tmp_path)
    assert "FIRESIDE_PROBE_SECRET" not in env and "OPENAI_API_KEY" not in env
    assert env["HOME"] == str(tmp_path) and env["PYTHONPATH"].split(os.pathsep)[0] == "/somewhere"


def test_a_verified_function_does_not_see_the_servers_environment(fixtures, monkeypatch, tmp_path):
    monkeypatch.setenv("FIRESIDE_PROBE_SECRET", "hunter2")
    _, report, _ = generate_tests(resolve_target(str(fixtures / "envprobe.py")), tests_dir=tmp_path, write=False)
    oracle = next(v for v in report.verdicts if v.spec.kind == "oracle")
    # `secret_visible()` is False in the sandbox: the docstring example passes (it would be a "bug" otherwise).
    assert oracle.status == "kept", oracle.reason
    assert report.bugs == []


def test_a_flood_of_output_is_read_and_dropped_not_kept(tmp_path):
    cap = 64 * 1024
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with scratch_directory() as scratch:
        (scratch / "flood.py").write_text("import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(1024):\n    sys.stdout.write(chunk)\n")
        result = run_python(["flood.py"], python=None, scratch=scratch, timeout=120, limits=Limits(output_bytes=cap))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert result.returncode == 0 and not result.timed_out
    assert len(result.stdout) == cap and result.output_dropped >= (1 << 30) - cap
    assert (after - before) * 1024 < 64 * 2**20  # ru_maxrss is in KiB: the server's peak grew by less than 64 MiB


def test_hostile_tests_leave_no_process_behind(fixtures):
    marker = f"fireside-sandbox-marker-{os.getpid()}-{time.monotonic_ns()}"
    specs = [
        _spec("test_shout", "hostile.shout()"),
        _spec("test_group_sleeper", f"hostile.leave_sleeper({marker + '-group'!r}, False)"),
        _spec("test_spin", f"hostile.spin({marker + '-spin'!r})"),
    ]
    if isolation().prefix:  # a process that leaves the group is caught only by the PID namespace
        specs.insert(2, _spec("test_escaped_sleeper", f"hostile.leave_sleeper({marker + '-escaped'!r}, True)"))
    text = render_file(specs, TargetImport("hostile", "hostile")).text
    result = run_candidates(text, [s.name for s in specs], pythonpath=[str(fixtures)], limit=3)
    assert result.outcomes["test_shout"].status == "passed"
    assert result.outcomes["test_group_sleeper"].status == "passed"
    assert result.outcomes["test_spin"].status == "timeout"
    assert _gone(marker), f"left behind: {_processes_with(marker)}"


def test_cancelling_kills_the_run_at_once(tmp_path):
    marker = f"fireside-cancel-marker-{os.getpid()}-{time.monotonic_ns()}"
    started = tmp_path / "started"
    cancel = threading.Event()
    outcome: list[BaseException | object] = []

    def run() -> None:
        with scratch_directory() as scratch:
            (scratch / "slow.py").write_text(
                "import pathlib, subprocess, sys, time\n"
                f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', {marker!r}])\n"
                f"pathlib.Path({str(started)!r}).write_text('yes')\n"
                "time.sleep(600)\n"
            )
            try:
                outcome.append(run_python(["slow.py"], python=None, scratch=scratch, timeout=600, cancel=cancel))
            except RunCancelled as error:
                outcome.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists(), "the sandboxed script never started"
    cancel.set()
    worker.join(30)
    assert not worker.is_alive() and isinstance(outcome[0], RunCancelled)
    assert _gone(marker)


def test_limits_are_set_before_user_code_runs(tmp_path):
    with scratch_directory() as scratch:
        (scratch / "limits.py").write_text(
            "import resource\n"
            "print(resource.getrlimit(resource.RLIMIT_AS)[0], resource.getrlimit(resource.RLIMIT_FSIZE)[0],"
            " resource.getrlimit(resource.RLIMIT_CPU)[0], resource.getrlimit(resource.RLIMIT_NPROC)[0])\n"
        )
        result = run_python(["limits.py"], python=None, scratch=scratch, timeout=30, limits=Limits(memory_mb=1024, file_mb=8))
    memory, file_size, cpu, processes = (int(n) for n in result.stdout.split())
    assert memory == 1024 * 2**20 and file_size == 8 * 2**20 and 0 < cpu <= 40 and processes > 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="network isolation needs Linux namespaces")
def test_no_network_where_the_platform_allows(tmp_path):
    if not isolation().prefix:
        assert isolation().note  # ...and the user is told once
        pytest.skip(isolation().note)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:
        with scratch_directory() as scratch:
            (scratch / "net.py").write_text(
                "import socket\n"
                "try:\n"
                f"    socket.create_connection(('127.0.0.1', {port}), timeout=5)\n"
                "    print('connected')\n"
                "except OSError as error:\n"
                "    print('refused', error)\n"
            )
            result = run_python(["net.py"], python=None, scratch=scratch, timeout=30)
    finally:
        listener.close()
    assert result.stdout.startswith("refused"), result.stdout + result.stderr


def test_users_modules_named_like_fireside_modules_are_the_ones_tested(tmp_path):
    for name in ("report", "model", "cli"):
        (tmp_path / f"{name}.py").write_text(
            f'def which() -> str:\n    """\n    >>> which()\n    \'users {name}\'\n    """\n    return "users {name}"\n'
        )
        _, result, _ = generate_tests(resolve_target(str(tmp_path / f"{name}.py")), tests_dir=tmp_path / "tests", write=False,
                                      options=Options(rounds=0))
        assert result.import_error is None, result.import_error
        oracle = next(v for v in result.verdicts if v.spec.kind == "oracle")
        assert oracle.status == "kept", (name, oracle.reason)


def test_one_run_at_a_time(monkeypatch):
    from fireside.testgen import sandbox

    active, most = [0], [0]
    real_popen = sandbox.subprocess.Popen

    class Counted(real_popen):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs):  # noqa: ANN002, ANN003
            active[0] += 1
            most[0] = max(most[0], active[0])
            super().__init__(*args, **kwargs)

        def wait(self, timeout=None):  # noqa: ANN001
            code = super().wait(timeout)
            if not hasattr(self, "_counted_out"):
                self._counted_out = True
                active[0] -= 1
            return code

    monkeypatch.setattr(sandbox.subprocess, "Popen", Counted)

    def run() -> None:
        with scratch_directory() as scratch:
            (scratch / "nap.py").write_text("import time\ntime.sleep(0.5)\n")
            run_python(["nap.py"], python=None, scratch=scratch, timeout=60)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert most[0] == 1 and active[0] == 0

"""A candidate model is validated in a child process under limits: each limit stops it (with everything it
started) and says so; cancelling stops it; the watcher cancels a validation when its file changes again, and
when it stops."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from fireside.completion.default_model import default_model_path
from fireside.models.lifecycle import ModelLifecycle
from fireside.models.validation import ValidationCancelled, ValidationReport, validate_isolated, validation_limits
from fireside.process_limits import Cancelled, Limits, run_limited
from test_process_limits import group_is_gone


def validate(limits: Limits, started: list[int], cancel: threading.Event | None = None) -> ValidationReport:
    return validate_isolated(default_model_path(), latency_budget_ms=60_000, limits=limits, cancel=cancel, on_start=started.append)


def test_default_limits_fit_the_file_and_the_budget(tmp_path: Path):
    model = tmp_path / "m.gguf"
    model.write_bytes(b"\0" * 1000)
    limits = validation_limits(model, latency_budget_ms=10_000, prompts=4)
    assert limits.address_space_bytes == 1000 + (3 << 30)
    assert limits.wall_seconds == 120 + 4 * 3 * 10 and limits.cpu_seconds == 2 * limits.wall_seconds


@pytest.mark.model
def test_a_validation_over_its_cpu_time_is_stopped_and_rejected():
    started: list[int] = []
    report = validate(Limits(wall_seconds=300, cpu_seconds=1), started)
    assert not report.passed
    assert "CPU" in report.reason, report.reason
    assert group_is_gone(started[0])


@pytest.mark.model
def test_a_validation_over_its_wall_clock_time_is_stopped_and_rejected():
    started: list[int] = []
    report = validate(Limits(wall_seconds=0.5), started)
    assert not report.passed and "longer than" in report.reason, report.reason
    assert group_is_gone(started[0])


@pytest.mark.model
def test_a_validation_over_its_memory_limit_is_rejected():
    # The model file alone is ~240 MiB; Python and llama.cpp need more address space than that besides.
    started: list[int] = []
    size = default_model_path().stat().st_size
    report = validate(Limits(wall_seconds=300, address_space_bytes=size + (64 << 20)), started)
    assert not report.passed, report.render()
    assert "memory" in report.reason, report.reason
    assert group_is_gone(started[0])


@pytest.mark.model
def test_a_cancelled_validation_is_stopped_with_its_process_group():
    cancel = threading.Event()
    started: list[int] = []
    timer = None

    def on_start(pid: int) -> None:
        nonlocal timer
        started.append(pid)
        timer = threading.Timer(1.0, cancel.set)  # mid-way: loading the libraries or the model
        timer.start()

    with pytest.raises(ValidationCancelled):
        validate_isolated(default_model_path(), latency_budget_ms=60_000, limits=Limits(wall_seconds=300), cancel=cancel, on_start=on_start)
    assert group_is_gone(started[0])


# ----- the watcher --------------------------------------------------------------------------------
class BlockingValidation:
    """A validation that runs until cancelled: a real child process under run_limited, so that the test
    controls when it would end (never) and sees its process group."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.cancelled: list[int] = []
        self.running = threading.Event()

    def __call__(self, path: Path, budget: float, cancel: threading.Event) -> ValidationReport:
        pid: list[int] = []

        def on_start(number: int) -> None:
            pid.append(number)
            self.started.append(number)
            self.running.set()

        try:
            run_limited([sys.executable, "-c", "import time; time.sleep(600)"], Limits(wall_seconds=600), cancel=cancel, on_start=on_start)
        except Cancelled:
            self.cancelled.append(pid[0])
            raise ValidationCancelled(str(path)) from None
        raise AssertionError("a blocking validation ended on its own")


def wait_until(condition, timeout: float, what: str):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return value


def test_the_watcher_cancels_a_validation_when_its_file_changes_and_when_it_stops(tmp_path: Path):
    models = tmp_path / "models"
    models.mkdir()
    validation = BlockingValidation()
    verdicts: list[object] = []
    lifecycle = ModelLifecycle(
        models, latency_budget_ms=1000, on_accepted=verdicts.append, on_rejected=verdicts.append,
        on_activate=verdicts.append, settle_s=0.2, validate=validation,
    )
    lifecycle.start()
    try:
        (models / "candidate.gguf").write_bytes(b"GGUF" + b"\0" * 1024)
        wait_until(lambda: validation.started, 30, "the first validation")
        first = validation.started[0]
        # The candidate is replaced while it is being checked: that check stops, the new bytes are checked.
        replacement = models / "candidate.gguf.part"
        replacement.write_bytes(b"GGUF" + b"\1" * 2048)
        os.replace(replacement, models / "candidate.gguf")
        wait_until(lambda: first in validation.cancelled, 30, "the first validation to be cancelled")
        assert group_is_gone(first)
        wait_until(lambda: len(validation.started) == 2, 30, "the replaced file's validation")
        second = validation.started[1]
    finally:
        lifecycle.stop()
    wait_until(lambda: second in validation.cancelled, 30, "the second validation to be cancelled by stop()")
    assert group_is_gone(second)
    assert verdicts == [], "a cancelled validation gives no verdict"

"""The model's thread count follows the machine: all the cores other processes leave idle, looked at
again while generating. The CPU readings are given (no clock or load decides these tests); the real
model then shows that the count changes between steps and that greedy output does not depend on it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fireside.completion.default_model import default_model_path
from fireside.completion.thread_policy import CpuSample, ThreadPolicy, threads_for


class Machine:
    """CPU seconds as psutil would report them, advanced by hand, with a hand-moved clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.machine_busy = 0.0
        self.own = 0.0

    def run(self, seconds: float, *, others: float, own: float = 0.0) -> None:
        """``seconds`` pass while other processes keep ``others`` cores busy and this one ``own``."""
        self.now += seconds
        self.machine_busy += seconds * (others + own)
        self.own += seconds * own

    def policy(self, cores: int, start: int = 1) -> ThreadPolicy:
        return ThreadPolicy(cores=cores, start=start, sample=lambda: CpuSample(self.machine_busy, self.own),
                            clock=lambda: self.now)


def test_idle_cores_are_used_and_busy_ones_left_alone():
    assert threads_for(2, 0.0) == 2
    assert threads_for(2, 0.3) == 2, "an editor redrawing does not cost the model a core"
    assert threads_for(2, 1.0) == 1
    assert threads_for(2, 2.0) == 1, "never below one"
    assert threads_for(8, 2.5) == 5
    assert threads_for(32, 0.0) == 8, "at most 8"
    assert threads_for(4, 0.0, most=3) == 3


def test_the_policy_measures_others_only_and_looks_again_after_its_interval():
    machine = Machine()
    policy = machine.policy(cores=2, start=1)
    assert policy.choose() == 1, "no look yet: the starting count"
    machine.run(1.0, others=0.1, own=2.0)  # this process's own threads do not count against it
    assert policy.choose() == 2
    machine.run(0.1, others=2.0)
    assert policy.choose() == 2, "within the interval nothing is measured"
    machine.run(1.0, others=2.0, own=0.5)  # a build started
    assert policy.choose() == 1 and policy.others_busy == pytest.approx(2.0), "1.1 s since the last look, all of it busy"
    machine.run(5.0, others=0.0)
    assert policy.choose() == 2


@pytest.mark.model
def test_the_engine_follows_its_policy_between_steps_and_greedy_output_is_the_same():
    from fireside.completion.engine import LlamaEngine

    path = Path(os.environ["FIRESIDE_TEST_MODEL"]) if os.environ.get("FIRESIDE_TEST_MODEL") else default_model_path()
    engine = LlamaEngine(path, context_size=1024, threads=1, adaptive_threads=True)
    try:
        assert engine.thread_policy is not None
        machine = Machine()
        engine.thread_policy = machine.policy(cores=2, start=1)
        prompt = engine.tokenize("def fibonacci(n):\n    \"\"\"The n-th Fibonacci number.\"\"\"\n")
        steps: list[int] = []

        def busy_after_three_steps() -> bool:
            # Each model step asks whether it was cancelled: the machine gets busy after the third.
            steps.append(engine.thread_policy.current)
            machine.run(1.0, others=2.0 if len(steps) > 3 else 0.0)
            return False

        machine.run(1.0, others=0.0)
        changing = engine.run(prompt, max_tokens=16, stop_at=lambda text: None, cancelled=busy_after_three_steps)
        assert 2 in steps and steps[-1] == 1 and changing.threads == 1, steps

        engine.reset()
        fixed = LlamaEngine(path, context_size=1024, threads=1)
        try:
            plain = fixed.run(prompt, max_tokens=16, stop_at=lambda text: None, cancelled=lambda: False)
        finally:
            fixed.close()
        assert plain.threads == 1 and fixed.thread_policy is None
        assert changing.text == plain.text and changing.tokens == plain.tokens, "the thread count changed the output"
    finally:
        engine.close()


def test_unreadable_cpu_use_keeps_the_starting_count_and_is_logged_once(caplog):
    calls = []

    def unreadable() -> CpuSample:
        calls.append(1)
        raise PermissionError("/proc/stat")

    clock = iter(range(0, 100, 1))
    policy = ThreadPolicy(cores=4, start=3, sample=unreadable, clock=lambda: float(next(clock)))
    assert [policy.choose() for _ in range(5)] == [3] * 5
    assert len(calls) == 1, "not read again once it failed"
    assert len([r for r in caplog.records if "CPU use cannot be read" in r.getMessage()]) == 1

"""How many threads the model uses for the next steps: all the cores the rest of the machine leaves idle.

llama.cpp's threads spin while they wait for each other, so a thread that loses its core to another
process stalls the others: measured on 2 cores, 2 threads next to a busy process cost up to 50x per
token, while on an idle machine 2 threads generate 1.8x faster than 1 (eval/threads.py). A fixed
"cores - 1" gives up that speed-up whenever the editor is idle, which is when the user waits for a
suggestion. So the share of CPU that other processes took since the last look (psutil: the machine's
busy time minus this process's own) decides, looked at again every ``interval_s`` while generating.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import psutil

logger = logging.getLogger(__name__)

# Other processes' use below this many cores still counts as idle: an editor redrawing, a file
# watcher. Above it a spinning thread would lose its core often enough to stall the step.
SPARE_CORE_SHARE = 0.4
MAX_THREADS = 8


class CpuSample(NamedTuple):
    machine_busy: float  # CPU seconds all processes used, on every core
    own: float  # CPU seconds this process used


def sample_cpu() -> CpuSample:
    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    own = psutil.Process().cpu_times()
    return CpuSample(sum(times) - idle, own.user + own.system)


def threads_for(cores: int, others_busy: float, most: int = MAX_THREADS) -> int:
    """Threads for ``cores`` when other processes keep ``others_busy`` cores busy."""
    free = cores - max(0.0, others_busy - SPARE_CORE_SHARE)
    return max(1, min(most, cores, math.floor(free + 1e-9)))


@dataclass
class ThreadPolicy:
    """Chooses the thread count from what other processes used since the last choice."""

    cores: int
    start: int = 1  # the count until the first look
    most: int = MAX_THREADS
    interval_s: float = 0.25
    sample: Callable[[], CpuSample] = sample_cpu
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self.current = self.start
        self._last_at = self.clock()
        self._last: CpuSample | None = self._read()
        self.others_busy = 0.0

    @classmethod
    def for_this_machine(cls, start: int) -> ThreadPolicy:
        return cls(cores=os.cpu_count() or 1, start=start)

    def choose(self) -> int:
        """The thread count now; unchanged when less than ``interval_s`` passed since the last look."""
        at = self.clock()
        elapsed = at - self._last_at
        if elapsed < self.interval_s:
            return self.current
        if self._last is None or (now := self._read()) is None:
            return self.current  # no readings: the count stays where it started
        machine = now.machine_busy - self._last.machine_busy
        own = now.own - self._last.own
        self._last, self._last_at = now, at
        self.others_busy = max(0.0, (machine - own) / elapsed)
        self.current = threads_for(self.cores, self.others_busy, self.most)
        return self.current

    def _read(self) -> CpuSample | None:
        try:
            return self.sample()
        except (OSError, psutil.Error) as error:  # /proc hidden in some sandboxes
            logger.warning("CPU use cannot be read (%s): the model keeps %d thread(s)", error, self.current)
            self._last = None
            return None

"""Peak memory of the model-validation child (``python -m fireside.models.validation``) per GGUF, against its
default address-space limit: are the limits generous for sound models?

    .venv/bin/python eval/validation_memory.py MODEL.gguf [MODEL.gguf ...]
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from fireside.models.validation import load_smoke_suite, validate_isolated, validation_limits


def peak_of(pid: int, peak: dict[str, int]) -> None:
    """Polls /proc/PID/status until the process is gone, keeping the largest VmPeak and VmHWM (KiB)."""
    while True:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(("VmPeak:", "VmHWM:")):
                    name, value = line.split(":")
                    peak[name] = max(peak.get(name, 0), int(value.split()[0]))
        except OSError:
            return
        time.sleep(0.05)


def main(paths: list[str]) -> None:
    prompts = len(load_smoke_suite().prompts)
    print("| model | file | VmPeak | VmHWM | address-space limit | passed | wall |")
    print("|---|---:|---:|---:|---:|---|---:|")
    for name in paths:
        path = Path(name)
        limits = validation_limits(path, 60_000, prompts)
        peak: dict[str, int] = {}
        started = time.perf_counter()
        report = validate_isolated(
            path, latency_budget_ms=60_000, limits=limits,
            on_start=lambda pid: threading.Thread(target=peak_of, args=(pid, peak), daemon=True).start(),
        )
        print(
            f"| {path.name} | {path.stat().st_size / 2**20:,.0f} MiB | {peak.get('VmPeak', 0) / 2**20:.2f} GiB "
            f"| {peak.get('VmHWM', 0) / 2**10:,.0f} MiB | {limits.address_space_bytes / 2**30:.2f} GiB "
            f"| {report.passed} | {time.perf_counter() - started:.1f} s |"
        )


if __name__ == "__main__":
    main(sys.argv[1:])

"""Whether a process group has really ended (the process-limit tests)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def live_members(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that are still running (a zombie has ended: it only waits to be reaped)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        state, _parent, group = stat.rsplit(")", 1)[1].split()[:3]
        if int(group) == pgid and state != "Z":
            members.append(int(entry))
    return members


def group_is_gone(pgid: int) -> bool:
    deadline = time.monotonic() + 10  # SIGKILL is delivered asynchronously
    while live_members(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True

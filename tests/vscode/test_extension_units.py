"""Runs the extension's TypeScript unit tests (vscode-extension/test, Node's test runner) in the pytest suite."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

EXTENSION = Path(__file__).resolve().parents[2] / "vscode-extension"


@pytest.mark.skipif(shutil.which("npm") is None, reason="Node 20 + npm are needed (scripts/setup.d/20-vscode)")
def test_typescript_unit_tests_pass() -> None:
    if not (EXTENSION / "node_modules" / "typescript").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=EXTENSION, check=True, capture_output=True, timeout=600)
    result = subprocess.run(["npm", "test"], cwd=EXTENSION, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    passed = int(re.search(r"^# pass (\d+)$", output, re.M).group(1))  # type: ignore[union-attr]
    failed = int(re.search(r"^# fail (\d+)$", output, re.M).group(1))  # type: ignore[union-attr]
    assert failed == 0 and passed >= 28, output[-3000:]

"""Shared fixtures for the testgen tests. Fixture *modules* live in fixtures/ (no test_ prefix: not collected)."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _quick_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    # Verification subprocesses run fewer examples here so the suite stays fast on 2 cores.
    monkeypatch.setenv("FIRESIDE_TESTGEN_MAX_EXAMPLES", "25")
    monkeypatch.setenv("FIRESIDE_TESTGEN_DERANDOMIZE", "1")  # the same verdicts on every run


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES

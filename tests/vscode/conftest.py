"""The .vsix, built once per test session for the VS Code end-to-end tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.code_server import build_vsix, missing_tools


@pytest.fixture(scope="session")
def vsix() -> Path:
    missing = missing_tools()
    if missing:
        pytest.skip(f"scripts/setup.d/20-vscode did not install {', '.join(missing)}")
    return build_vsix()

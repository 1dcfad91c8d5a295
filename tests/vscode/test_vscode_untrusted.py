"""In a real VS Code (code-server + headless Chromium) with workspace trust on: a workspace the user has not
trusted brings its own `.venv/bin/fireside`, `.venv/bin/python` and a `fireside/` package, and names them (and a
model and an endpoint) in its `.vscode/settings.json`. None of it runs: the extension starts the server with the
interpreter from the user's settings, as `python -P -m fireside serve` from its own directory, and the server
works (its status turns to ready)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from code_server import vscode_session, wait_for
from test_vscode_e2e import SETTINGS, open_file

pytestmark = [pytest.mark.e2e, pytest.mark.model, pytest.mark.timeout(600)]

MARKER_SCRIPT = """#!/bin/sh
echo "$0 $*" >> "{markers}"
exit 3
"""
MARKER_MODULE = """import sys
with open({markers!r}, "a") as handle:
    handle.write(__name__ + " " + " ".join(sys.argv) + "\\n")
"""


def test_an_untrusted_workspace_runs_nothing_of_its_own(vsix: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    markers = tmp_path / "ran.txt"  # whatever of the workspace runs writes here
    workspace = tmp_path / "workspace"
    (workspace / ".venv" / "bin").mkdir(parents=True)
    for name in ("fireside", "python", "python3"):
        script = workspace / ".venv" / "bin" / name
        script.write_text(MARKER_SCRIPT.format(markers=markers))
        script.chmod(0o755)
    (workspace / "fireside").mkdir()
    for module in ("__init__.py", "__main__.py"):
        (workspace / "fireside" / module).write_text(MARKER_MODULE.format(markers=str(markers)))
    (workspace / "arith.py").write_text("def add(a, b):\n    return a + b\n")
    (workspace / ".vscode").mkdir()
    (workspace / ".vscode" / "settings.json").write_text(json.dumps({
        "fireside.path": "${workspaceFolder}/.venv/bin/fireside",
        "fireside.interpreter": "${workspaceFolder}/.venv/bin/python",
        "fireside.modelPath": str(workspace / "model.gguf"),
        "fireside.endpoints": ["http://127.0.0.1:9"],
        "fireside.endpointApiKeyEnv": "HOME",
    }))
    settings = {key: value for key, value in SETTINGS.items() if key != "fireside.path"}
    settings.update({
        "security.workspace.trust.enabled": True,
        "security.workspace.trust.startupPrompt": "never",  # opens in Restricted Mode without asking
        "security.workspace.trust.untrustedFiles": "open",
        # The user's own interpreter: started as `python -P -m fireside serve`, which a fireside/ package in
        # the server's working directory would shadow without -P.
        "fireside.interpreter": sys.executable,
    })
    with vscode_session(vsix, tmp_path, settings, workspace) as (server, driver, _artifacts):
        open_file(driver, "arith.py")
        wait_for(
            "Fireside's status item to say ready",
            lambda: driver.find_elements(By.CSS_SELECTOR, ".part.statusbar .statusbar-item .codicon-flame"),
            180,
            interval=1,
        )
        logs = server.extension_host_logs()
    assert not markers.exists(), f"the workspace's programs ran: {markers.read_text()}"
    started = re.search(r"\[fireside\] starting (.*) \(from (.*)\)", logs)
    assert started, logs
    command, source = started.groups()
    assert command.startswith(f"{sys.executable} -P -m fireside serve"), command
    assert "untrusted workspace" in source and "fireside.interpreter" in source, source
    # Nothing the workspace's settings name reached the server: no model, endpoint or key variable flag.
    assert str(workspace) not in command and "--endpoint" not in command and "--model" not in command, command
    assert "Model ready" in logs

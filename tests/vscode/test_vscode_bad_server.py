"""A server that cannot start, in a real VS Code (code-server + headless Chromium): one notification that says
what to fix, with a "Show logs" button that shows the server's own words, no restart loop; and a settings change
restarts the client (here into a missing fireside.path, which is reported as such)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from code_server import CodeServer, headless_chromium, wait_for
from test_vscode_e2e import SETTINGS, open_file

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

CRASHING_SERVER = """#!/bin/sh
echo started >> "{counter}"
echo "fireside: simulated failure at start (exit 3)" >&2
exit 3
"""



def _toasts(driver) -> list[str]:
    from selenium.webdriver.common.by import By

    return [toast.text for toast in driver.find_elements(By.CSS_SELECTOR, ".notifications-toasts .notification-toast")]


def test_a_server_that_cannot_start_is_reported_once_with_its_logs(vsix: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "arith.py").write_text("def add(a, b):\n    return a + b\n")
    (workspace / ".vscode").mkdir()
    workspace_settings = workspace / ".vscode" / "settings.json"
    workspace_settings.write_text("{}")
    counter = tmp_path / "starts.txt"
    crashing = tmp_path / "crashing-fireside"
    crashing.write_text(CRASHING_SERVER.format(counter=counter))
    crashing.chmod(0o755)
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    settings = {**SETTINGS, "fireside.path": str(crashing)}
    server = CodeServer(tmp_path / "code-server", settings)
    server.install_extension(vsix)
    url = server.start(workspace)
    try:
        with headless_chromium(artifacts) as driver:
            try:
                driver.get(url)
                open_file(driver, "arith.py")

                toast = wait_for(
                    "the start failure notification",
                    lambda: next((text for text in _toasts(driver) if "stopped while starting" in text), None),
                    90,
                )
                assert "fireside.path" in toast, toast  # says what to fix
                time.sleep(15)  # a restart loop would show by now
                assert counter.read_text().count("started") == 1, "the server was started again"
                fireside_toasts = [text for text in _toasts(driver) if "Fireside" in text or "fireside" in text]
                assert len(fireside_toasts) == 1, fireside_toasts
                assert not any("couldn't create connection" in text for text in _toasts(driver))
                assert driver.find_elements(By.CSS_SELECTOR, ".part.statusbar .statusbar-item .codicon-error")

                # "Show logs" opens the output channel with the server's stderr.
                buttons = driver.find_elements(By.CSS_SELECTOR, ".notifications-toasts .notification-toast .monaco-button")
                show_logs = next(button for button in buttons if button.text == "Show logs")
                show_logs.click()
                wait_for(
                    "the server's stderr in the Fireside output",
                    lambda: "simulated failure at start" in driver.find_element(By.CSS_SELECTOR, ".part.panel").text,
                    30,
                )

                # A changed fireside.path restarts the client, which reports the new problem.
                workspace_settings.write_text(json.dumps({"fireside.path": str(tmp_path / "missing" / "fireside")}))
                wait_for(
                    "the missing-path notification",
                    lambda: any("which is not an executable file" in text for text in _toasts(driver)),
                    60,
                )
                assert counter.read_text().count("started") == 1
                driver.save_screenshot(str(artifacts / "bad-server.png"))
            except BaseException:
                shot = artifacts / "failure.png"
                driver.save_screenshot(str(shot))
                print(f"screenshot: {shot}\n{server.extension_host_logs()}")
                raise
    finally:
        server.stop()

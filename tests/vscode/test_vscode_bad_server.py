"""In a real VS Code (code-server + headless Chromium): a server that cannot start is one notification that says
what to fix, with a "Show logs" button that shows the server's own words, and no restart loop; a settings change
restarts the client (into a missing fireside.path, reported as such, then into a stand-in server whose
fireside/alert notifications show as one notification each and in the "Fireside Alerts" view)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.support.code_server import SETTINGS, open_file, vscode_session, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

CRASHING_SERVER = """#!/bin/sh
echo started >> "{counter}"
echo "fireside: simulated failure at start (exit 3)" >&2
exit 3
"""



def _toasts(driver) -> list[str]:
    from selenium.webdriver.common.by import By

    return [toast.text for toast in driver.find_elements(By.CSS_SELECTOR, ".notifications-toasts .notification-toast")]


def _alert_rows(driver) -> list[str]:
    from selenium.webdriver.common.by import By

    for pane in driver.find_elements(By.CSS_SELECTOR, ".split-view-view .pane"):
        headers = pane.find_elements(By.CSS_SELECTOR, ".pane-header")
        if headers and "FIRESIDE ALERTS" in headers[0].text.upper():
            return [row.text for row in pane.find_elements(By.CSS_SELECTOR, ".monaco-list-row")] or [pane.text]
    return []


def test_start_failures_are_reported_once_and_alerts_are_shown(vsix: Path, tmp_path: Path) -> None:
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
    settings = {**SETTINGS, "fireside.path": str(crashing)}
    with vscode_session(vsix, tmp_path, settings, workspace) as (server, driver, artifacts):
        open_file(driver, "arith.py")

        toast = wait_for(
            "the start failure notification",
            lambda: next((text for text in _toasts(driver) if "stopped while starting" in text), None),
            90,
        )
        assert "fireside.path" in toast, toast  # says what to fix
        # The extension logs its decision on the closed connection: after it, no restart can come.
        logs = wait_for(
            "the decision to leave the server stopped",
            lambda: text if "left stopped" in (text := server.extension_host_logs()) else None,
            60,
        )
        assert "left stopped (failed-to-start)" in logs and "restarting it" not in logs, logs
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

        # A server that sends alerts: one notification per new alert (not the server's showMessage echo,
        # not the re-send), listed in the Fireside Alerts view until it resolves.
        stand_in = tmp_path / "stand-in-fireside"
        resolve_trigger = tmp_path / "resolve-now"
        stand_in.write_text(
            f"#!/bin/sh\nexec '{sys.executable}' '{Path(__file__).with_name('stand_in_server.py')}' '{resolve_trigger}'\n"
        )
        stand_in.chmod(0o755)
        for button in driver.find_elements(By.CSS_SELECTOR, ".notifications-toasts .notification-toast .codicon-notifications-clear"):
            button.click()
        workspace_settings.write_text(json.dumps({"fireside.path": str(stand_in)}))
        alert_toast = wait_for(
            "the alert notification",
            # The toast's text arrives before its buttons are rendered: wait for the buttons too.
            lambda: next(
                (t for t in _toasts(driver) if "Fireside anomaly: checkout latency is anomalous" in t and "Open graph" in t),
                None,
            ),
            60,
        )
        assert "Open graph" in alert_toast and "Show alerts" in alert_toast, alert_toast
        # The echo comes before the re-send, and the extension logs both: once the re-send is handled, the
        # echo has been too.
        logs = wait_for(
            "the re-sent alert handled",
            lambda: text if "alert updated: checkout latency" in (text := server.extension_host_logs()) else None,
            30,
        )
        assert "not shown again (the server's echo of an alert): Fireside Anomaly: checkout latency" in logs, logs
        assert sum("checkout latency" in t for t in _toasts(driver)) == 1, _toasts(driver)
        assert driver.find_elements(By.CSS_SELECTOR, ".part.statusbar .statusbar-item .codicon-flame")
        show_alerts = next(
            b for b in driver.find_elements(By.CSS_SELECTOR, ".notifications-toasts .notification-toast .monaco-button") if b.text == "Show alerts"
        )
        show_alerts.click()
        rows = wait_for("the alert in the Fireside Alerts view", lambda: [r for r in _alert_rows(driver) if "checkout latency" in r], 20)
        assert "the level jumped" in rows[0] and "815" in rows[0], rows
        driver.save_screenshot(str(artifacts / "alerts.png"))

        resolve_trigger.touch()
        wait_for("the resolved notification", lambda: any("resolved: checkout latency" in t for t in _toasts(driver)), 30)
        wait_for("the alert to leave the view", lambda: not any("checkout latency" in r for r in _alert_rows(driver)), 20)

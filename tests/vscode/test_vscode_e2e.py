"""The extension in a real VS Code (code-server 4.100.3 = VS Code 1.100.3, headless Chromium): it installs
from the .vsix built by scripts/build-vsix, starts the real server with the real model, shows its completion
as ghost text while the user types (Esc dismisses it, Ctrl+Right accepts a word, Tab the rest),
"Fireside: Generate Hypothesis tests" writes a test file (for the function at the cursor, then for the whole
file), and the status item's menu switches Fireside off for Python. Slow (about two minutes): marked ``e2e``
and ``model``."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tests.support.code_server import SETTINGS, open_file, vscode_session, wait_for
from tests.support.code_server import chord as _chord
from tests.support.code_server import keys as _keys

pytestmark = [pytest.mark.e2e, pytest.mark.model, pytest.mark.timeout(900)]

SAMPLE = '''def add(a: int, b: int) -> int:
    """Return the sum of a and b."""
    return a + b


def subtract(a: int, b: int) -> int:
    """Return a minus b."""
    return a - b
'''
TYPED = '\n\ndef multiply(a: int, b: int) -> int:\n    """Return the product of a and b."""\n    return '

def _run_command(driver, title: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    _chord(driver, Keys.CONTROL, Keys.SHIFT, "p")
    box = wait_for("the command palette", lambda: driver.find_element(By.CSS_SELECTOR, ".quick-input-widget input"), 20)
    wait_for("the command palette to be visible", lambda: box.is_displayed(), 10)
    _keys(driver, title, pause=0.3)

    def first_row_matches() -> bool:
        rows = driver.find_elements(By.CSS_SELECTOR, ".quick-input-widget .monaco-list-row")
        return bool(rows) and title.split(": ")[-1].lower() in rows[0].text.lower()

    wait_for(f"'{title}' in the command palette", first_row_matches, 20)
    _keys(driver, Keys.ENTER)


def _ghost_text(driver) -> str:
    """The ghost text shown on the cursor's line (Monaco renders further lines in view zones)."""
    from selenium.webdriver.common.by import By

    parts = driver.find_elements(By.CSS_SELECTOR, ".monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text-decoration-preview")
    return "".join(part.get_attribute("textContent") or "" for part in parts).replace("\u00a0", " ")


def _wait_for_ghost_text(driver, timeout: float) -> str:
    """Waits for ghost text, asking for it again now and then in case a request was superseded."""
    deadline = time.monotonic() + timeout
    next_trigger = time.monotonic() + 20
    while time.monotonic() < deadline:
        ghost = _ghost_text(driver)
        if ghost.strip():
            return ghost
        if time.monotonic() > next_trigger:
            _run_command(driver, "Trigger Inline Suggestion")
            next_trigger = time.monotonic() + 20
        time.sleep(0.5)
    raise AssertionError(f"no ghost text appeared within {timeout:.0f} s")


# The editor's lines as typed, without the ghost text Monaco renders inside them; and the cursor's line.
_LINES_SCRIPT = """
const editor = document.querySelector('.monaco-editor .view-lines');
const text = (line) => {
  const copy = line.cloneNode(true);
  copy.querySelectorAll('.ghost-text-decoration, .ghost-text-decoration-preview').forEach((n) => n.remove());
  return copy.textContent.replace(/\\u00a0/g, ' ');
};
const lines = [...editor.querySelectorAll('.view-line')];
const current = document.querySelector('.monaco-editor .view-overlays .current-line');
const top = current ? current.parentElement.style.top : null;
const cursor = lines.find((line) => line.style.top === top);
return [lines.map(text), cursor ? text(cursor) : ''];
"""


def _lines(driver) -> list[str]:
    return [line.rstrip() for line in driver.execute_script(_LINES_SCRIPT)[0]]


def _current_line(driver) -> str:
    return driver.execute_script(_LINES_SCRIPT)[1]


def test_vscode_shows_ghost_text_and_generates_tests(vsix: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "arith.py").write_text(SAMPLE)
    with vscode_session(vsix, tmp_path, SETTINGS, workspace) as (server, driver, artifacts):
        open_file(driver, "arith.py")

        # The extension starts the real server; its status item turns to the flame when the model is ready.
        def status_ready() -> bool:
            item = driver.find_elements(By.CSS_SELECTOR, ".part.statusbar .statusbar-item .codicon-flame")
            return bool(item)

        wait_for("Fireside's status item to say ready", status_ready, 180, interval=1)

        # Type at the end of the file; the ghost text comes from the real model.
        driver.find_element(By.CSS_SELECTOR, ".monaco-editor .view-lines").click()
        _chord(driver, Keys.CONTROL, Keys.END)
        _keys(driver, TYPED, pause=0.2)
        _wait_for_ghost_text(driver, 150)
        driver.save_screenshot(str(artifacts / "ghost-text.png"))

        # Escape dismisses it; asking again brings it back.
        _keys(driver, Keys.ESCAPE)
        wait_for("the ghost text to go", lambda: not _ghost_text(driver).strip(), 10)
        _run_command(driver, "Trigger Inline Suggestion")
        ghost = _wait_for_ghost_text(driver, 90)
        before = _current_line(driver)
        full = (before + ghost).rstrip()

        # Ctrl+Right accepts its next word, Tab the rest.
        _chord(driver, Keys.CONTROL, Keys.ARROW_RIGHT)
        wait_for(
            "a word of the suggestion in the line",
            lambda: (line := _current_line(driver).rstrip()) != before.rstrip() and full.startswith(line),
            10,
        )
        if _ghost_text(driver).strip():
            _keys(driver, Keys.TAB)
        wait_for("the whole suggestion in the file", lambda: full in _lines(driver), 10)
        assert not _ghost_text(driver).strip(), "the ghost text stays after accepting"

        # Back to the file on disk, cursor in add(), then the command.
        _run_command(driver, "File: Revert File")
        wait_for("the file as it is on disk", lambda: not any("multiply" in line for line in _lines(driver)), 20)
        driver.find_element(By.CSS_SELECTOR, ".monaco-editor .view-lines").click()
        _chord(driver, Keys.CONTROL, Keys.HOME)
        existing = set(workspace.rglob("*.py"))
        _run_command(driver, "Fireside: Generate Hypothesis tests")

        def written_test_file() -> Path | None:
            for path in set(workspace.rglob("test*.py")) - existing:
                text = path.read_text()
                if "def test_" in text and "hypothesis" in text:
                    return path
            return None

        test_file = wait_for("the generated test file on disk", written_test_file, 300, interval=2)
        text = test_file.read_text()
        assert re.search(r"\badd\b", text), text
        wait_for(
            "the test file's editor tab",
            lambda: any(test_file.name in tab.text for tab in driver.find_elements(By.CSS_SELECTOR, ".tabs-container .tab")),
            30,
        )
        add_tests = re.findall(r"def (test_\w*add\w*)", text)
        assert add_tests, text

        # Outside any function: tests for every function of the file, added to the same test file.
        open_file(driver, "arith.py")
        driver.find_element(By.CSS_SELECTOR, ".monaco-editor .view-lines").click()
        _chord(driver, Keys.CONTROL, Keys.HOME)
        _keys(driver, Keys.DOWN, Keys.DOWN, Keys.DOWN)  # the blank line after add()
        _run_command(driver, "Fireside: Generate Hypothesis tests")
        text = wait_for("tests for subtract in the test file", lambda: "subtract" in (t := test_file.read_text()) and t, 300, interval=2)
        assert all(f"def {name}" in text for name in add_tests), "the earlier tests were lost"
        driver.save_screenshot(str(artifacts / "generated-tests.png"))

        # The status item's menu switches Fireside off for the current language (a language-specific setting).
        open_file(driver, "arith.py")
        driver.find_element(By.CSS_SELECTOR, ".part.statusbar .statusbar-item .codicon-flame").click()
        wait_for("the Fireside menu", lambda: "Disable for python" in driver.find_element(By.CSS_SELECTOR, ".quick-input-widget").text, 20)
        _keys(driver, "Disable for python", pause=0.3)
        _keys(driver, Keys.ENTER)
        wait_for(
            "the status item to say off for python",
            lambda: driver.find_elements(By.CSS_SELECTOR, ".part.statusbar .statusbar-item .codicon-circle-slash"),
            20,
        )
        user_settings = json.loads((server.user_data / "User" / "settings.json").read_text())
        assert user_settings.get("[python]", {}).get("fireside.enable") is False, user_settings
    # The ghost text is the server's answer (the only inline completion provider installed): its log,
    # in the extension's output channel, records a non-empty completion for the file.
    logs = server.extension_host_logs()
    lengths = [int(n) for n in re.findall(r"completion arith\.py:\d+ (\d+) chars", logs)]
    assert any(n > 0 for n in lengths), logs
    assert "[info] INFO fireside.completion.service: Model ready" in logs, "server log lines keep their level"


TS_SAMPLE = 'const names: string[] = ["ada", "grace"];\nfor (const name of names) {\n  \n}\n'


def test_vscode_shows_ghost_text_in_typescript(vsix: Path, tmp_path: Path) -> None:
    """A .ts file (language id `typescript`, on by default) gets the real model's ghost text, and Tab
    puts it in the file."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "greet.ts").write_text(TS_SAMPLE)
    with vscode_session(vsix, tmp_path, SETTINGS, workspace) as (server, driver, artifacts):
        open_file(driver, "greet.ts")
        wait_for(
            "Fireside's status item to say ready",
            lambda: driver.find_elements(By.CSS_SELECTOR, ".part.statusbar .statusbar-item .codicon-flame"),
            180,
            interval=1,
        )
        driver.find_element(By.CSS_SELECTOR, ".monaco-editor .view-lines").click()
        _chord(driver, Keys.CONTROL, Keys.HOME)
        _keys(driver, Keys.DOWN, Keys.DOWN, Keys.END)  # the blank line inside the loop
        _keys(driver, "console.", pause=0.2)
        ghost = _wait_for_ghost_text(driver, 150)
        driver.save_screenshot(str(artifacts / "ghost-text-typescript.png"))
        full = ("  console." + ghost).rstrip()
        _keys(driver, Keys.TAB)
        wait_for("the suggestion in the file", lambda: full in _lines(driver), 10)
    logs = server.extension_host_logs()
    lengths = [int(n) for n in re.findall(r"completion greet\.ts:2 (\d+) chars", logs)]
    assert any(n > 0 for n in lengths), logs

"""A real VS Code for the extension's end-to-end test: code-server (installed by scripts/setup.d/20-vscode)
driven through headless Chromium with Selenium and the Debian chromedriver."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[2]
CODE_SERVER_VERSION = "4.100.3"
# Outside the checkout (the user's cache), so a fresh clone — CI's — does not install it again.
USER_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
CODE_SERVER = Path(
    os.environ.get("FIRESIDE_CODE_SERVER_DIR", USER_CACHE / "fireside" / f"code-server-{CODE_SERVER_VERSION}")
) / "node_modules" / ".bin" / "code-server"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

T = TypeVar("T")


def missing_tools() -> list[str]:
    missing = []
    if not CODE_SERVER.exists():
        missing.append(f"code-server {CODE_SERVER_VERSION} ({CODE_SERVER})")
    if CHROMIUM is None or CHROMEDRIVER is None:
        missing.append("chromium and chromium-driver")
    if shutil.which("npm") is None:
        missing.append("npm")
    return missing


def build_vsix() -> Path:
    result = subprocess.run([str(REPO / "scripts" / "build-vsix")], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"build-vsix failed:\n{result.stderr[-4000:]}"
    vsix = Path(result.stdout.strip().splitlines()[-1])
    assert vsix.is_file() and vsix.name.startswith("fireside-") and vsix.suffix == ".vsix", vsix
    return vsix


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, interval: float = 0.5) -> T:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = probe()
        except Exception as error:  # the page is still changing under us
            last_error = error
            value = None
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}" + (f" (last error: {last_error})" if last_error else ""))


class CodeServer:
    """code-server with its own user-data and extensions directories, serving one folder."""

    def __init__(self, home: Path, settings: dict[str, Any]) -> None:
        self.home = home
        self.user_data = home / "user-data"
        self.extensions = home / "extensions"
        self.log_path = home / "code-server.log"
        (self.user_data / "User").mkdir(parents=True, exist_ok=True)
        self.extensions.mkdir(parents=True, exist_ok=True)
        (self.user_data / "User" / "settings.json").write_text(json.dumps(settings, indent=2))
        self.env = {
            **os.environ,
            # Keep code-server's own config file out of the real home directory.
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def _args(self) -> list[str]:
        return [
            str(CODE_SERVER),
            "--user-data-dir", str(self.user_data),
            "--extensions-dir", str(self.extensions),
            "--disable-telemetry",
            "--disable-update-check",
        ]

    def install_extension(self, vsix: Path) -> None:
        result = subprocess.run(
            [*self._args(), "--install-extension", str(vsix)], capture_output=True, text=True, env=self.env, timeout=180
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert any(path.name.startswith("fireside.fireside-") for path in self.extensions.iterdir()), result.stdout

    def start(self, folder: Path) -> str:
        self.port = free_port()
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [*self._args(), "--bind-addr", f"127.0.0.1:{self.port}", "--auth", "none", str(folder)],
            stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True,
        )
        url = f"http://127.0.0.1:{self.port}/"

        def healthy() -> bool:
            assert self.process is not None and self.process.poll() is None, self.log_path.read_text()
            with urllib.request.urlopen(url + "healthz", timeout=2) as response:
                return response.status == 200

        wait_for("code-server to listen", healthy, 60)
        return f"{url}?folder={folder}"

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, 15)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, 9)
            self.process.wait(5)
        self.process = None

    def extension_host_logs(self) -> str:
        """What the extension host and the Fireside output channel wrote (for failure reports)."""
        texts = []
        for path in sorted(self.user_data.glob("logs/**/*.log")):
            if "exthost" in str(path) or "Fireside" in path.name or "fireside" in str(path):
                texts.append(f"--- {path.relative_to(self.user_data)}\n{path.read_text(errors='replace')[-6000:]}")
        return "\n".join(texts)


@contextlib.contextmanager
def headless_chromium(download_dir: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # type: ignore[assignment]
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1600,1000",
        f"--user-data-dir={download_dir / 'chromium-profile'}",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@contextlib.contextmanager
def vscode_session(vsix: Path, tmp_path: Path, settings: dict[str, Any], workspace: Path) -> Iterator[tuple[CodeServer, Any, Path]]:
    """code-server with the extension installed, serving ``workspace``, and headless Chromium on its page:
    yields (server, driver, artifacts). A failure inside saves artifacts/failure.png and prints the extension
    host's logs; code-server is stopped on the way out (its logs stay readable in ``server.user_data``)."""
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    server = CodeServer(tmp_path / "code-server", settings)
    server.install_extension(vsix)
    url = server.start(workspace)
    try:
        with headless_chromium(artifacts) as driver:
            try:
                driver.get(url)
                yield server, driver, artifacts
            except BaseException:
                shot = artifacts / "failure.png"
                driver.save_screenshot(str(shot))
                print(f"screenshot: {shot}\n{server.extension_host_logs()}")
                raise
    finally:
        server.stop()


# ----- driving the workbench (shared by the VS Code tests) ------------------------------------------
FIRESIDE = Path(sys.executable).with_name("fireside")

SETTINGS = {
    "security.workspace.trust.enabled": False,
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "workbench.welcomePage.walkthroughs.openOnInstall": False,
    "telemetry.telemetryLevel": "off",
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "extensions.ignoreRecommendations": True,
    "update.mode": "none",
    "files.autoSave": "off",
    "editor.inlineSuggest.enabled": True,
    # Only the ghost text: no suggest widget, no auto-closing or re-indenting of what the test types.
    "editor.quickSuggestions": {"other": "off", "comments": "off", "strings": "off"},
    "editor.suggestOnTriggerCharacters": False,
    "editor.wordBasedSuggestions": "off",
    "editor.autoClosingBrackets": "never",
    "editor.autoClosingQuotes": "never",
    "editor.autoIndent": "none",
    "editor.acceptSuggestionOnEnter": "off",
    "fireside.path": str(FIRESIDE),
    "fireside.threads": 1,
}


def keys(driver, *keys: str, pause: float = 0.05) -> None:
    """Types like a person: a short pause between keys is the cadence, never what a test waits on (callers
    wait for each key's effect with ``wait_for``)."""
    from selenium.webdriver.common.action_chains import ActionChains

    for key in keys:
        ActionChains(driver).send_keys(key).perform()
        time.sleep(pause)


def chord(driver, *keys: str) -> None:
    """Modifier keys held down, then the last key pressed."""
    from selenium.webdriver.common.action_chains import ActionChains

    *modifiers, key = keys
    chain = ActionChains(driver)
    for modifier in modifiers:
        chain.key_down(modifier)
    chain.send_keys(key)
    for modifier in reversed(modifiers):
        chain.key_up(modifier)
    chain.perform()


def open_file(driver, name: str) -> None:
    """Waits for the workbench, then opens a workspace file with Quick Open."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    wait_for("the workbench", lambda: driver.find_elements(By.CSS_SELECTOR, ".monaco-workbench .part.editor"), 90)

    def quick_open_lists_it() -> bool:
        # The workbench may still be restoring its layout and take the focus back: each step is checked and
        # asked for again until quick open shows the file first (no clock decides when it is ready).
        boxes = [box for box in driver.find_elements(By.CSS_SELECTOR, ".quick-input-widget input") if box.is_displayed()]
        if not boxes:
            chord(driver, Keys.CONTROL, "p")
            return False
        if boxes[0].get_attribute("value") != name:
            chord(driver, Keys.CONTROL, "a")
            keys(driver, name)
            return False
        rows = driver.find_elements(By.CSS_SELECTOR, ".quick-input-widget .monaco-list-row")
        return bool(rows) and name in rows[0].text

    wait_for(f"{name} in quick open", quick_open_lists_it, 60)
    keys(driver, Keys.ENTER)
    wait_for("the editor", lambda: driver.find_elements(By.CSS_SELECTOR, ".monaco-editor .view-lines .view-line"), 30)

"""Helpers and fixtures (re-exported by conftest.py) for real OpenAI-compatible engines on loopback: llama-cpp-python's server (`python -m llama_cpp.server`)
with the embedded model, one thread each, behind an API key."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from fireside.completion.default_model import default_model_path

API_KEY = "fireside-test-key-7c1e9a"  # the servers demand it; the tests check it never reaches a log


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class EngineServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def completions_served(self) -> int:
        return self.log.read_text(errors="replace").count('"POST /v1/completions HTTP/1.1" 200')


def start_engine_server(log: Path) -> EngineServer:
    port = free_port()
    handle = log.open("wb")
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("llama_server_without_amx.py")), "--model", str(default_model_path()), "--host", "127.0.0.1",
         "--port", str(port), "--n_threads", "1", "--n_threads_batch", "1", "--n_ctx", "2048",
         "--api_key", API_KEY,
         # Requests queue, as on a shared server: a new one does not cut another client's stream short.
         "--interrupt_requests", "False"],
        stdout=handle, stderr=subprocess.STDOUT,
    )
    return EngineServer(f"http://127.0.0.1:{port}", process, log)


def wait_until_up(server: EngineServer, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited: {server.log.read_text(errors='replace')[-2000:]}")
        try:
            if requests.get(f"{server.url}/v1/models", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"llama_cpp.server at {server.url} did not come up")


@pytest.fixture(scope="module")
def engine_servers(tmp_path_factory) -> Iterator[list[EngineServer]]:
    logs = tmp_path_factory.mktemp("engines")
    servers = [start_engine_server(logs / f"engine{index}.log") for index in range(2)]
    try:
        for server in servers:
            wait_until_up(server)
        yield servers
    finally:
        for server in servers:
            server.kill()


@pytest.fixture
def api_key_env(monkeypatch) -> str:
    monkeypatch.setenv("FIRESIDE_TEST_ENDPOINT_KEY", API_KEY)
    return "FIRESIDE_TEST_ENDPOINT_KEY"


@pytest.fixture
def stalled_endpoint() -> Iterator[str]:
    """A loopback socket that accepts connections and never answers: a hung inference server."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def environ_with(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}

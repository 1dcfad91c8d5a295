"""LSP over TCP and WebSocket for the transport tests: a server subprocess and minimal clients that can
send what no real client would (no token, a wrong one, an HTTP request)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

TOKEN = "fireside-transport-test-token-5d1f0c2b"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SocketServer:
    """``fireside serve --tcp|--ws`` in a subprocess; stderr is collected."""

    def __init__(self, transport: str, *args: str, env: dict[str, str] | None = None, token: str | None = TOKEN) -> None:
        self.port = free_port()
        environment = {key: value for key, value in os.environ.items() if key != "FIRESIDE_AUTH_TOKEN"}
        if token is not None:
            environment["FIRESIDE_AUTH_TOKEN"] = token
        environment.update(env or {})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fireside", "serve", "--engine", "fake", f"--{transport}", f"127.0.0.1:{self.port}", *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment,
        )
        self.stderr_lines: list[str] = []
        self._listening = threading.Event()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        if not self._listening.wait(30):
            self.stop()
            raise AssertionError(f"the server did not start listening:\n{self.stderr}")

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            text = line.decode("utf-8", "replace")
            self.stderr_lines.append(text)
            if "listening on" in text:
                self._listening.set()

    @property
    def stderr(self) -> str:
        return "".join(self.stderr_lines)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    # ----- what the process holds (Linux /proc) ---------------------------------------------------
    def threads(self) -> int:
        return len(os.listdir(f"/proc/{self.process.pid}/task"))

    def open_files(self) -> int:
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))

    def children(self) -> list[int]:
        found: list[int] = []
        for task in os.listdir(f"/proc/{self.process.pid}/task"):
            try:
                found += [int(pid) for pid in Path(f"/proc/{self.process.pid}/task/{task}/children").read_text().split()]
            except OSError:
                continue
        return found

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")


def frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def initialize_params(token: str | None = TOKEN, root: Path | None = None, **options: Any) -> dict[str, Any]:
    if token is not None:
        options["authToken"] = token
    return {
        "processId": os.getpid(),
        "rootUri": root.as_uri() if root else None,
        "capabilities": {"general": {"positionEncodings": ["utf-16"]}},
        "initializationOptions": options,
    }


class TcpClient:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self._buffer = b""
        self._next_id = 0

    def send(self, message: dict[str, Any]) -> None:
        self.sock.sendall(frame(message))

    def request(self, method: str, params: Any) -> int:
        self._next_id += 1
        self.send({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params})
        return self._next_id

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self._buffer += chunk
        return bool(chunk)

    def receive(self) -> dict[str, Any] | None:
        """The next message, or None when the server closed the connection."""
        while b"\r\n\r\n" not in self._buffer:
            if not self._fill():
                return None
        header, _, rest = self._buffer.partition(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in header.split(b"\r\n") if line.lower().startswith(b"content-length"))
        while len(rest) < length:
            if not self._fill():
                return None
            header, _, rest = self._buffer.partition(b"\r\n\r\n")
        self._buffer = rest[length:]
        return json.loads(rest[:length])

    def response(self, request_id: int) -> dict[str, Any]:
        while True:
            message = self.receive()
            assert message is not None, f"the connection closed before the answer to {request_id}"
            if message.get("id") == request_id and "method" not in message:
                return message

    def wait_for(self, predicate) -> dict[str, Any]:  # noqa: ANN001
        while True:
            message = self.receive()
            assert message is not None, "the connection closed"
            if predicate(message):
                return message

    def closed_by_server(self) -> bool:
        """Whether the server closes the connection (reads until the end; True at EOF)."""
        try:
            while self._fill():
                pass
        except ConnectionResetError:
            pass
        return True

    def close(self) -> None:
        self.sock.close()


def inline_params(uri: str, line: int, character: int) -> dict[str, Any]:
    return {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}, "context": {"triggerKind": 1}}


def wait_until(condition, timeout: float, what: str, interval: float = 0.1) -> Any:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)

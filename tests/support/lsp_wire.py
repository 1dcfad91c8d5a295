"""A minimal raw LSP client over a subprocess's stdio, for tests that must send bytes no real
client would (malformed frames) or check exactly what comes back on stdout."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from typing import Any

SERVER = [sys.executable, "-m", "fireside", "serve"]


class WireError(AssertionError):
    pass


class RawServer:
    def __init__(self, *args: str, prefix: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [*(prefix or []), *SERVER, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stderr_lines: list[str] = []
        self._stderr_changed = threading.Condition()
        self.garbage: list[bytes] = []  # anything on stdout that is not a well-formed frame
        self._stderr_closed = False
        self._next_id = 0
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            header = stream.readline()
            if not header:
                return
            if not header.startswith(b"Content-Length:"):
                self.garbage.append(header)
                continue
            length = int(header.split(b":")[1])
            while True:
                line = stream.readline()
                if line in (b"\r\n", b""):
                    break
                if not line.startswith(b"Content-Type:"):
                    self.garbage.append(line)
            body = stream.read(length)
            try:
                self.messages.put(json.loads(body))
            except ValueError:
                self.garbage.append(body)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._stderr_changed:
                self.stderr_lines.append(line.decode("utf-8", "replace"))
                self._stderr_changed.notify_all()
        with self._stderr_changed:  # the server exited: nothing more will come
            self._stderr_closed = True
            self._stderr_changed.notify_all()

    def wait_for_stderr(self, text: str, timeout: float = 30.0) -> str:
        """The first line the server logged that contains ``text``, once it has been logged (an event the
        server reports, not a pause the test takes); ``timeout`` only bounds a server that never says it."""
        with self._stderr_changed:
            found = self._stderr_changed.wait_for(
                lambda: next((line for line in self.stderr_lines if text in line), None) or self._stderr_closed, timeout
            )
            line = next((line for line in self.stderr_lines if text in line), None)
        if line is None:
            raise WireError(f"the server never logged {text!r} (found={found!r}); stderr:\n{''.join(self.stderr_lines[-30:])}")
        return line

    def send_bytes(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        self.send_bytes(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any) -> int:
        self._next_id += 1
        self.send({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params})
        return self._next_id

    def wait_for(self, predicate, timeout: float = 30.0) -> dict[str, Any]:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        skipped = []
        while time.monotonic() < deadline:
            try:
                message = self.messages.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if predicate(message):
                for other in skipped:
                    self.messages.put(other)
                return message
            skipped.append(message)
            if message.get("id") is not None and "method" in message:
                # A server→client request (e.g. workspace/configuration): answer it with nothing.
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": [None]})
        for other in skipped:
            self.messages.put(other)
        raise WireError(f"no matching message within {timeout}s; stderr:\n{''.join(self.stderr_lines[-30:])}")

    def response(self, request_id: int, timeout: float = 30.0) -> dict[str, Any]:
        return self.wait_for(lambda m: m.get("id") == request_id and "method" not in m, timeout)

    def call(self, method: str, params: Any, timeout: float = 30.0) -> dict[str, Any]:
        return self.response(self.request(method, params), timeout)

    def initialize(self, options: dict[str, Any] | None = None, root: str | None = None) -> dict[str, Any]:
        result = self.call(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": f"file://{root}" if root else None,
                "capabilities": {"general": {"positionEncodings": ["utf-16"]}},
                "initializationOptions": options or {},
            },
        )
        self.notify("initialized", {})
        return result

    def open(self, uri: str, text: str, language: str = "python", version: int = 1) -> None:
        self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": language, "version": version, "text": text}})

    def close(self) -> int:
        try:
            if self.process.poll() is None:
                request_id = self.request("shutdown", None)
                self.response(request_id, timeout=10)
                self.notify("exit", None)
                self.process.wait(timeout=10)
        except Exception:
            self.process.kill()
            self.process.wait()
        return self.process.returncode

    def alive(self) -> bool:
        return self.process.poll() is None

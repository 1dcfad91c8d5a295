"""Stopping a running llama_decode between two graph nodes, without the GIL.

llama.cpp asks its abort callback after every graph node (~600 per decode of a 0.5B model) on the
compute thread. A Python callback would take the GIL each time: cheap while the rest of the server
is idle, but while another thread runs Python (the workspace indexer on start-up) every call can
wait for that thread's switch interval, and a decode could take seconds longer. So the callback is
C: ``strlen`` over a one-byte buffer, which reads 1 (stop) once the byte is set. A watcher thread
polls the request's cancel check every ``POLL_SECONDS`` while a decode runs and sets the byte; the
check is also asked once before the decode starts, so a request cancelled already stops at the
first node.
"""

from __future__ import annotations

import ctypes
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.002


def _strlen() -> object | None:
    try:
        library = ctypes.cdll.msvcrt if sys.platform == "win32" else ctypes.CDLL(None)
        return library.strlen
    except (OSError, AttributeError):
        return None


class AbortSwitch:
    def __init__(self, llama_cpp, ctx) -> None:  # noqa: ANN001 - the llama_cpp module, a llama_context_p
        self._flag = ctypes.create_string_buffer(2)  # b"\0": go on; b"x": stop
        self._condition = threading.Condition()
        self._check: Callable[[], bool] | None = None
        self._round = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        strlen = _strlen()
        self.available = strlen is not None
        if strlen is None:
            logger.info("no C strlen here: decodes stop at the next token, not at the next graph node")
            return
        # Kept on self: llama.cpp holds only the pointers.
        self._callback = ctypes.cast(strlen, llama_cpp.ggml_abort_callback)
        llama_cpp.llama_set_abort_callback(ctx, self._callback, ctypes.cast(self._flag, ctypes.c_void_p))

    @contextmanager
    def watching(self, cancelled: Callable[[], bool]) -> Iterator[None]:
        """While the block runs (one llama_decode), stop it as soon as ``cancelled()`` says so."""
        if not self.available:
            yield
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="fireside-abort", daemon=True)
            self._thread.start()
        with self._condition:
            self._round += 1
            self._check = cancelled
            self._flag[0] = b"x" if cancelled() else b"\0"
            self._condition.notify()
        try:
            yield
        finally:
            with self._condition:
                self._round += 1
                self._check = None
                self._flag[0] = b"\0"

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify()

    def _watch(self) -> None:
        while True:
            with self._condition:
                while self._check is None and not self._closed:
                    self._condition.wait()
                if self._closed:
                    return
                watched, check = self._round, self._check
            try:
                stop = bool(check())
            except Exception:  # a broken check must not leave a decode running for ever
                logger.exception("cancel check failed; stopping the decode")
                stop = True
            with self._condition:
                if stop and self._round == watched:
                    self._flag[0] = b"x"  # only for the decode that was asked about
                self._condition.wait(POLL_SECONDS)

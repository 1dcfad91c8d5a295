"""Which endpoint gets the next request: health, least outstanding requests, backoff after failures.

A background thread probes every endpoint (``GET /v1/models``, which all OpenAI-compatible servers
answer). A request that fails or is too slow marks its endpoint down with an exponential backoff; the
prober brings it back as soon as it answers again.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

HEALTH_INTERVAL_S = 2.0
BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 30.0


@dataclass
class EndpointState:
    url: str
    healthy: bool = True  # optimistic until the first probe: a request finds out soon enough
    outstanding: int = 0
    down_until: float = 0.0
    backoff_s: float = BACKOFF_START_S
    failures: int = 0
    last_error: str = ""
    served: int = 0

    def available(self, now: float) -> bool:
        return self.healthy and now >= self.down_until


@dataclass
class EndpointPool:
    """Thread-safe: the completion worker picks and reports, the prober thread probes."""

    urls: tuple[str, ...]
    probe: Callable[[str], None]  # raises when the endpoint is not usable
    health_interval_s: float = HEALTH_INTERVAL_S
    states: dict[str, EndpointState] = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _stop: threading.Event = field(init=False, default_factory=threading.Event)
    _thread: threading.Thread | None = field(init=False, default=None)
    _turn: int = field(init=False)  # where the next rotation starts

    def __post_init__(self) -> None:
        self.states = {url: EndpointState(url) for url in self.urls}
        # Ties (every endpoint idle, the usual case for one editor) rotate from a random start, so that
        # several editors sharing the same endpoints do not all pick the first one.
        self._turn = random.randrange(max(1, len(self.urls)))

    # ----- picking --------------------------------------------------------------------------------
    def candidates(self, *, rotate: bool = True) -> list[str]:
        """Available endpoints, best first: fewest outstanding requests, ties in rotating order (the
        rotation moves on for each request; ``rotate=False`` for side calls such as tokenizing)."""
        now = time.monotonic()
        with self._lock:
            offset = self._turn
            if rotate:
                self._turn += 1
            count = len(self.urls)
            order = [self.urls[(offset + index) % count] for index in range(count)]
            ready = [url for url in order if self.states[url].available(now)]
            return sorted(ready, key=lambda url: self.states[url].outstanding)  # stable: keeps the rotation

    @contextmanager
    def using(self, url: str) -> Iterator[None]:
        with self._lock:
            self.states[url].outstanding += 1
        try:
            yield
        finally:
            with self._lock:
                self.states[url].outstanding -= 1

    def succeeded(self, url: str) -> None:
        with self._lock:
            state = self.states[url]
            state.served += 1
            state.failures = 0
            state.backoff_s = BACKOFF_START_S

    def failed(self, url: str, reason: str) -> None:
        """Take ``url`` out of rotation for a backoff that doubles with each failure in a row."""
        with self._lock:
            state = self.states[url]
            state.failures += 1
            state.last_error = reason
            state.down_until = time.monotonic() + state.backoff_s
            state.backoff_s = min(BACKOFF_MAX_S, state.backoff_s * 2)
        logger.warning("endpoint %s failed (%s); skipped for %.0f s", url, reason, state.down_until - time.monotonic())

    # ----- health ---------------------------------------------------------------------------------
    def check_all(self) -> None:
        for url in self.urls:
            try:
                self.probe(url)
            except TimeoutError:
                # Connected but slow to answer: busy (llama-cpp-python's server answers nothing while it
                # generates), not down. Requests have their own timeout for that.
                continue
            except Exception as error:  # refused, reset, HTTP errors: not usable now
                with self._lock:
                    state = self.states[url]
                    if state.healthy:
                        logger.warning("endpoint %s is down: %s", url, error)
                    state.healthy = False
                    state.last_error = str(error)
                continue
            with self._lock:
                state = self.states[url]
                if not state.healthy or state.down_until:
                    logger.info("endpoint %s is up", url)
                state.healthy = True
                state.down_until = 0.0
                state.backoff_s = BACKOFF_START_S

    def start(self) -> None:
        self._thread = threading.Thread(target=self._probe_forever, name="fireside-endpoint-health", daemon=True)
        self._thread.start()

    def _probe_forever(self) -> None:
        while not self._stop.wait(self.health_interval_s):
            self.check_all()

    def stop(self) -> None:
        self._stop.set()

    def snapshot(self) -> list[EndpointState]:
        with self._lock:
            return [EndpointState(**vars(state)) for state in self.states.values()]

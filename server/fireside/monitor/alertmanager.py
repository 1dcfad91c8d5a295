"""Delivery of alerts to Alertmanager's ``POST /api/v2/alerts``.

Alerts wait in an outbox keyed by their labels, so a newer state of an alert (re-sent lease,
resolution) replaces an older undelivered one and nothing is lost while Alertmanager is down:
a failed send is retried with exponential backoff on later ``flush`` calls, and the worker keeps
scoring in between. Firing alerts are re-sent every ``resend_seconds`` with ``endsAt`` leased
``4 × resend_seconds`` ahead, as Alertmanager expects from a client.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import requests

from fireside.monitor.alert import Alert

log = logging.getLogger(__name__)

Fingerprint = tuple[tuple[str, str], ...]


class AlertmanagerClient:
    def __init__(
        self,
        url: str,
        resend_seconds: float = 60.0,
        timeout: float = 5.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url.rstrip("/") + "/api/v2/alerts"
        self.resend_seconds = resend_seconds
        self.timeout = timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.clock = clock
        self.session = requests.Session()
        self.outbox: dict[Fingerprint, Alert] = {}
        self.firing: dict[Fingerprint, Alert] = {}  # delivered and still firing: re-sent on schedule
        self.last_sent: dict[Fingerprint, float] = {}
        self.failures = 0
        self.next_attempt = 0.0
        self.delivered = 0

    def submit(self, alert: Alert) -> None:
        """Queue a new state of an alert; delivered on the next successful flush."""
        self.outbox[alert.fingerprint] = alert
        if alert.status == "resolved":
            self.firing.pop(alert.fingerprint, None)

    def pending(self) -> int:
        return len(self.outbox)

    def flush(self) -> bool:
        """Send what is due. Returns True when nothing is left undelivered. Never raises."""
        now = self.clock()
        for key, alert in self.firing.items():
            if key not in self.outbox and now - self.last_sent.get(key, 0.0) >= self.resend_seconds:
                self.outbox[key] = alert
        if not self.outbox:
            return True
        if now < self.next_attempt:
            return False
        lease = now + 4 * self.resend_seconds
        batch = list(self.outbox.items())
        body = [alert.to_alertmanager(lease) for _, alert in batch]
        try:
            response = self.session.post(self.url, json=body, timeout=self.timeout)
            response.raise_for_status()
        except requests.RequestException as exc:
            self.failures += 1
            delay = min(self.backoff_max, self.backoff_initial * 2 ** (self.failures - 1))
            self.next_attempt = now + delay
            log.warning("Alertmanager %s unreachable (%s); %d alert(s) kept, retry in %.1fs",
                        self.url, exc, len(batch), delay)
            return False
        self.failures, self.next_attempt = 0, 0.0
        for key, alert in batch:
            # Only drop what was sent: a newer state submitted meanwhile stays queued.
            if self.outbox.get(key) is alert:
                del self.outbox[key]
            self.last_sent[key] = now
            if alert.status == "firing":
                self.firing[key] = alert
            else:
                self.last_sent.pop(key, None)
        self.delivered += len(batch)
        return not self.outbox

    def flush_until(self, deadline: float, sleep: Callable[[float], None] = time.sleep) -> bool:
        """Keep retrying (with the backoff) until delivered or ``deadline`` (clock time) passes."""
        while True:
            if self.flush():
                return True
            wait = max(0.05, self.next_attempt - self.clock())
            if self.clock() + wait > deadline:
                return False
            sleep(wait)

    def close(self) -> None:
        self.session.close()

"""Delivery of alerts to Alertmanager's ``POST /api/v2/alerts``.

Alerts wait in an outbox keyed by their labels, so a newer state of an alert (re-sent lease,
resolution) replaces an older undelivered one and nothing is lost while Alertmanager is down.
The outbox is posted in batches of ``batch_size``:

* 2xx: delivered.
* 429, 5xx or no answer: kept, and retried with exponential backoff (at least ``Retry-After``) on
  later ``flush`` calls, while the worker keeps scoring.
* another 4xx: the receiver refuses something in the batch, and retrying the same bytes would
  block every later alert forever. The batch is split in halves and each half tried again, down
  to single alerts; a single alert that is still refused is dropped with a log line naming it.

Firing alerts are re-sent every ``resend_seconds`` with ``endsAt`` leased ``4 × resend_seconds``
ahead, as Alertmanager expects from a client.
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
        batch_size: int = 64,
        verify_tls: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url.rstrip("/") + "/api/v2/alerts"
        self.resend_seconds = resend_seconds
        self.timeout = timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.batch_size = max(1, batch_size)
        self.clock = clock
        self.session = requests.Session()
        self.session.verify = verify_tls
        self.outbox: dict[Fingerprint, Alert] = {}
        self.firing: dict[Fingerprint, Alert] = {}  # delivered and still firing: re-sent on schedule
        self.last_sent: dict[Fingerprint, float] = {}
        self.failures = 0
        self.next_attempt = 0.0
        self.delivered = 0
        self.dropped = 0

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
        items = list(self.outbox.items())
        queue = [items[i : i + self.batch_size] for i in range(0, len(items), self.batch_size)]
        while queue:
            batch = queue.pop(0)
            outcome, retry_after, detail = self._post([alert.to_alertmanager(lease) for _, alert in batch])
            if outcome == "ok":
                self._delivered(batch, now)
            elif outcome == "refused":
                if len(batch) > 1:
                    half = len(batch) // 2
                    queue[:0] = [batch[:half], batch[half:]]
                else:
                    self._drop(batch[0], detail)
            else:  # "retry": Alertmanager is down or asks us to slow down
                self.failures += 1
                delay = min(self.backoff_max, self.backoff_initial * 2 ** (self.failures - 1))
                delay = max(delay, min(retry_after or 0.0, self.backoff_max))
                self.next_attempt = now + delay
                log.warning("Alertmanager %s unavailable; %d alert(s) kept, retry in %.1fs",
                            self.url, len(self.outbox), delay)
                return False
        self.failures, self.next_attempt = 0, 0.0
        return not self.outbox

    def _post(self, body: list[dict]) -> tuple[str, float | None, str]:
        """("ok" | "refused" | "retry", the Retry-After seconds if any, what the answer said)."""
        try:
            response = self.session.post(self.url, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            return "retry", None, str(exc)
        code = response.status_code
        detail = f"HTTP {code}: {response.text[:300].strip()}"
        if 200 <= code < 300:
            return "ok", None, detail
        if code == 429 or code >= 500:
            return "retry", _retry_after(response.headers.get("Retry-After")), detail
        if 400 <= code < 500:
            return "refused", None, detail
        return "retry", None, detail  # 1xx/3xx: not an answer we can act on

    def _delivered(self, batch: list[tuple[Fingerprint, Alert]], now: float) -> None:
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

    def _drop(self, item: tuple[Fingerprint, Alert], detail: str) -> None:
        key, alert = item
        if self.outbox.get(key) is alert:
            del self.outbox[key]
        self.firing.pop(key, None)
        self.last_sent.pop(key, None)
        self.dropped += 1
        log.error("Alertmanager %s refused the alert %s (%s); dropped it, the others go on",
                  self.url, dict(key), detail)

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


def _retry_after(header: str | None) -> float | None:
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff

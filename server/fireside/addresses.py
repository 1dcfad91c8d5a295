"""Is a host this machine's loopback? Decided from the text alone, without DNS: a name can resolve
anywhere (and be re-pointed at any time), so only ``localhost`` and loopback IP literals count."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "localhost."})


def bare_host(host: str) -> str:
    """``[::1]`` → ``::1``, lower-cased."""
    host = host.strip().lower()
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def is_loopback_literal(host: str) -> bool:
    host = bare_host(host)
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def may_carry_secret(url: str) -> bool:
    """Whether a request to ``url`` may carry an API key: over https://, or plain http:// to this machine."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and is_loopback_literal(parts.hostname or "")

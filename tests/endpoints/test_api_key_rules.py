"""Where the endpoints' API key may go, checked against real HTTP servers on this machine: over plain
http:// only to a loopback host, and never along a redirect."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from fireside.addresses import may_carry_secret
from fireside.endpoints.engine import EndpointEngine
from fireside.endpoints.openai_api import EndpointError, OpenAIClient

KEY = "sk-fireside-key-rules-3f9a0c"


@dataclass
class Recorded:
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Authorization header)


def start_server(host: str, respond) -> tuple[http.server.ThreadingHTTPServer, Recorded]:  # noqa: ANN001
    """A real HTTP server on ``host`` that records each request's path and Authorization header;
    ``respond(handler)`` answers it."""
    recorded = Recorded()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            recorded.requests.append((self.path, self.headers.get("Authorization")))
            respond(self)

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.do_GET()

        def log_message(self, *args) -> None:  # noqa: ANN002
            pass

    server = http.server.ThreadingHTTPServer((host, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, recorded


def answer_models(handler: http.server.BaseHTTPRequestHandler) -> None:
    body = json.dumps({"data": [{"id": "stand-in"}]}).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@pytest.fixture
def models_server() -> Iterator[tuple[int, Recorded]]:
    # Bound to every address, so that it is reachable as 127.0.0.1, localhost and 0.0.0.0 alike.
    server, recorded = start_server("0.0.0.0", answer_models)
    yield server.server_address[1], recorded
    server.shutdown()
    server.server_close()


def test_may_carry_secret_decides_from_the_url_alone():
    assert may_carry_secret("https://gpu-box.example:8000")
    assert may_carry_secret("http://127.0.0.1:8000") and may_carry_secret("http://localhost:8000/v1")
    assert may_carry_secret("http://[::1]:8000") and may_carry_secret("http://127.8.9.10")
    assert not may_carry_secret("http://gpu-box:8000")
    assert not may_carry_secret("http://0.0.0.0:8000")
    assert not may_carry_secret("http://localhost.evil.example:8000")  # a name, whatever it resolves to
    assert not may_carry_secret("http://127.0.0.1.nip.io:8000")
    assert not may_carry_secret("ftp://127.0.0.1/")


def test_the_key_goes_over_plain_http_to_loopback_only(models_server, caplog):
    port, recorded = models_server
    client = OpenAIClient(KEY)
    for host in ("127.0.0.1", "localhost"):
        assert client.models(f"http://{host}:{port}") == ["stand-in"]
    # 0.0.0.0 reaches this machine too, but it is no loopback address: the request goes, the key does not.
    assert client.models(f"http://0.0.0.0:{port}") == ["stand-in"]
    assert recorded.requests == [
        ("/v1/models", f"Bearer {KEY}"),
        ("/v1/models", f"Bearer {KEY}"),
        ("/v1/models", None),
    ]
    assert "the API key is not sent" in caplog.text and KEY not in caplog.text


def test_an_engine_on_a_plain_http_remote_endpoint_never_sends_the_key(models_server):
    port, recorded = models_server
    engine = EndpointEngine(
        [f"http://0.0.0.0:{port}"], context_size=512, timeout_s=5, api_key=KEY,
        local_tokenizer=lambda: pytest.fail("not needed"), local_engine=None, health_interval_s=0.05,
    )
    try:
        engine.pool.check_all()  # the health probe
    finally:
        engine.close()
    assert len(recorded.requests) >= 2 and all(header is None for _, header in recorded.requests), recorded.requests


def test_a_redirect_is_not_followed_with_the_key():
    target, target_recorded = start_server("127.0.0.1", answer_models)
    target_url = f"http://127.0.0.1:{target.server_address[1]}"

    def redirect(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(307)
        handler.send_header("Location", f"{target_url}{handler.path}")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    redirecting, redirecting_recorded = start_server("127.0.0.1", redirect)
    url = f"http://127.0.0.1:{redirecting.server_address[1]}"
    try:
        client = OpenAIClient(KEY)
        with pytest.raises(EndpointError, match="redirect"):
            client.models(url)
        with pytest.raises(EndpointError, match="redirect"):
            list(client.stream_completion(url, "x = ", max_tokens=4, timeout_s=5, cancelled=lambda: False))
        assert [path for path, _ in redirecting_recorded.requests] == ["/v1/models", "/v1/completions"]
        assert target_recorded.requests == [], "the redirect's target got nothing: no request, no key"
    finally:
        for server in (target, redirecting):
            server.shutdown()
            server.server_close()

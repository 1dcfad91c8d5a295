"""TCP and WebSocket transports: loopback by default, one authenticated client at a time.

Any program on the machine — and, over WebSocket, any web page the user visits — can open a
connection to a local port, so a connection is served only after its first message proves it comes
from the user: an ``initialize`` request whose ``initializationOptions.authToken`` is the server's
token (see :mod:`fireside.lsp.auth`). Anything else is answered with an error and the connection is
closed; nothing reaches a language-server handler before that. The first frame is read strictly (only
``Content-Length``/``Content-Type`` headers), so an HTTP request a browser aims at the TCP port is
dropped at its first line. WebSocket handshakes must also come from an allowed ``Origin`` (none by
default; clients that send no Origin, i.e. not browsers, pass) and name a loopback or allowed ``Host``
(DNS rebinding).

Each authenticated connection gets a fresh server session; when it ends, everything the session
started (watchers, the models-directory watcher, the monitor child, model requests) is stopped and the
port serves the next client. A second client while one is connected is refused. An ``exit``
notification still ends the process, as LSP specifies.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import ipaddress
import json
import logging
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pygls.exceptions import JsonRpcException

from fireside.addresses import bare_host, is_loopback_literal
from fireside.lsp.auth import AUTH_TOKEN_OPTION, AuthSetupError, AuthToken, load_token
from fireside.lsp.server import FiresideServer
from fireside.protocol import AUTH_FAILED_ERROR, SESSION_BUSY_ERROR

logger = logging.getLogger(__name__)

ServerFactory = Callable[[], FiresideServer]

AUTH_TIMEOUT_S = 10.0  # a connection that has not sent a valid initialize by then is closed
MAX_PENDING = 8  # connections waiting to authenticate at once; more are closed at once
INITIALIZE_MAX_BYTES = 1 << 20  # the first message (initialize) is small; a bigger one is refused
HEADER_LINE_MAX_BYTES = 1024


def message_limit(max_file_size: int) -> int:
    """Most bytes in one LSP message: a didOpen of a ``maxFileSize``-character document, each character
    JSON-escaped to at most 6 bytes, plus room for the envelope."""
    return 6 * max_file_size + (1 << 20)


# ----- addresses ----------------------------------------------------------------------------------
def binds_to_loopback_only(host: str) -> bool:
    """Whether listening on ``host`` is reachable from this machine only (every address it resolves to
    is a loopback address)."""
    host = bare_host(host)
    if not host:
        return False
    if is_loopback_literal(host):
        return True
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


@dataclass(frozen=True)
class TransportPolicy:
    """Who may connect: set from ``fireside serve``'s flags."""

    host: str
    port: int
    token: AuthToken | None  # None: generate one once the port is bound (see fireside.lsp.auth)
    allow_remote: bool = False
    allowed_origins: frozenset[str] = field(default_factory=frozenset)
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)  # Host header names besides loopback


def normalise_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def _host_name(header: str) -> str:
    """The host of a ``Host`` header, without its port."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def handshake_refusal(origin: str | None, host: str | None, policy: TransportPolicy) -> str | None:
    """Why a WebSocket handshake with these headers is refused (None: it is not)."""
    if origin is not None and normalise_origin(origin) not in policy.allowed_origins:
        return f"Origin {origin!r} is not allowed (start the server with --allow-origin {origin} to allow it)"
    if host is None:
        return "the request has no Host header"
    name = _host_name(host)
    if not (is_loopback_literal(name) or name in policy.allowed_hosts):
        return f"Host {host!r} is not this machine's loopback name (DNS rebinding?); --allow-host NAME allows it"
    return None


# ----- the first message --------------------------------------------------------------------------
class Refused(Exception):
    """The connection is not served: ``reply`` (if any) is sent, then it is closed."""

    def __init__(self, reason: str, reply: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reply = reply


def _error(message_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": message_id, "error": {"code": code, "message": message, "data": {"retry": False}}}


def authenticate(body: bytes, token: AuthToken) -> dict[str, Any]:
    """The client's initialize request, without its token, when ``body`` is one carrying the right token;
    raises Refused otherwise."""
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refused("the first message is not JSON", _error(None, -32700, "Parse error")) from None
    if not isinstance(message, dict):
        raise Refused("the first message is not a JSON-RPC object", _error(None, -32600, "Invalid Request"))
    message_id = message.get("id")
    if not isinstance(message_id, (int, str)) or isinstance(message_id, bool):
        message_id = None
    if message.get("method") != "initialize" or message_id is None:
        raise Refused(
            f"the first message is {str(message.get('method'))[:40]!r}, not an initialize request",
            _error(message_id, AUTH_FAILED_ERROR, "Fireside: the first message must be initialize, with initializationOptions.authToken"),
        )
    params = message.get("params")
    options = params.get("initializationOptions") if isinstance(params, dict) else None
    candidate = options.pop(AUTH_TOKEN_OPTION, None) if isinstance(options, dict) else None
    if candidate is None:
        raise Refused("no auth token", _error(message_id, AUTH_FAILED_ERROR, "Fireside: initializationOptions.authToken is missing; this server needs its auth token"))
    if not token.matches(candidate):
        raise Refused("a wrong auth token", _error(message_id, AUTH_FAILED_ERROR, "Fireside: initializationOptions.authToken is wrong"))
    return message


async def read_frame(reader: asyncio.StreamReader, max_bytes: int, *, strict: bool) -> bytes | None:
    """One LSP frame's body (None at the end of the stream). ``strict``: only Content-Length and
    Content-Type headers, each line short — for the unauthenticated first frame."""
    length: int | None = None
    lines = 0
    while True:
        line = await reader.readline()
        if not line:
            return None
        lines += 1
        if strict and (len(line) > HEADER_LINE_MAX_BYTES or lines > 4):
            raise Refused("the first frame's headers are not LSP headers")
        if line in (b"\r\n", b"\n"):
            if length is not None:
                break
            if strict:
                raise Refused("the first frame has no Content-Length")
            continue
        name, colon, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length" and colon and value.strip().isdigit():
            length = int(value.strip())
        elif strict and not (name == b"content-type" and colon):
            raise Refused(f"the first frame has a header that LSP does not have: {line[:40]!r}")
    if length > max_bytes:
        raise Refused(f"a message of {length:,} bytes is larger than the limit ({max_bytes:,} bytes)")
    return await reader.readexactly(length)


# ----- sessions -----------------------------------------------------------------------------------
class Gate:
    """One served client at a time; a bounded number of connections waiting to authenticate."""

    def __init__(self, token: AuthToken, make_server: ServerFactory) -> None:
        self.token = token
        self.make_server = make_server
        self.active: FiresideServer | None = None
        self.closing: asyncio.Event | None = None  # set when the last session's teardown has finished
        self.pending = 0

    async def session(
        self,
        peer: Any,
        first_message: Callable[[], Awaitable[bytes | None]],
        send: Callable[[dict[str, Any]], Awaitable[None]],
        serve: Callable[[FiresideServer, dict[str, Any]], Awaitable[None]],
    ) -> None:
        """Authenticate the connection from ``peer``, then ``serve`` it; always ends with everything the
        session started stopped."""
        if self.pending >= MAX_PENDING:
            logger.warning("refused a connection from %s: %d others are still authenticating", peer, self.pending)
            return
        self.pending += 1
        try:
            try:
                body = await asyncio.wait_for(first_message(), AUTH_TIMEOUT_S)
            except (asyncio.TimeoutError, TimeoutError):
                raise Refused(f"no initialize within {AUTH_TIMEOUT_S:.0f} s") from None
            if body is None:
                return  # a port probe: connected and went away
            message = authenticate(body, self.token)
        except Refused as refusal:
            logger.warning("refused a client from %s: %s", peer, refusal)
            if refusal.reply is not None:
                with contextlib.suppress(Exception):
                    await send(refusal.reply)
            return
        except (ConnectionError, asyncio.IncompleteReadError, ValueError) as error:
            logger.info("connection from %s dropped before initialize: %s", peer, type(error).__name__)
            return
        finally:
            self.pending -= 1
        if self.active is not None:
            logger.warning("refused a client from %s: another client is connected", peer)
            with contextlib.suppress(Exception):
                await send(_error(message["id"], SESSION_BUSY_ERROR, "Fireside: another client is connected to this server"))
            return
        server = self.make_server()
        self.active = server
        if self.closing is not None:  # a client reconnecting at once waits for its old session to be gone
            await self.closing.wait()
        closing = self.closing = asyncio.Event()
        logger.info("client connected: %s", peer)
        try:
            await serve(server, message)
        finally:
            self.active = None
            try:
                await server.close_session()
            finally:
                closing.set()
            logger.info("client disconnected: %s; its watchers, monitor and model requests are stopped", peer)


def _handle(server: FiresideServer, data: bytes | str | dict[str, Any]) -> None:
    """Hand one message to the session, as pygls' own loop does (a bad frame is answered, not fatal)."""
    try:
        text = json.dumps(data) if isinstance(data, dict) else data
        server.protocol.handle_message(json.loads(text, object_hook=server.protocol.structure_message))
    except Exception as error:
        logger.exception("Unable to handle message")
        server.report_server_error(error, JsonRpcException)


def _refuse_non_loopback(policy: TransportPolicy, scheme: str) -> None:
    if binds_to_loopback_only(policy.host):
        return
    if not policy.allow_remote:
        raise SystemExit(
            f"fireside serve: refusing to listen on {policy.host} (reachable from other machines); "
            f"use 127.0.0.1, or pass --allow-remote if you mean it"
        )
    print(
        f"fireside serve: WARNING: listening on {scheme}://{policy.host}:{policy.port}, reachable from other machines. "
        "The auth token is the only guard, and the connection is not encrypted: anyone on the network path "
        "can read the code your editor sends. Prefer an SSH tunnel to 127.0.0.1.",
        file=sys.stderr,
    )


def _token_and_announce(scheme: str, port: int, policy: TransportPolicy) -> AuthToken:
    """The token (generated now, once the port is ours, unless given), announced on stderr — where a
    client finds it, never the token itself (stdout may be another program's transport)."""
    token = policy.token
    if token is None:
        try:
            token, _ = load_token(None, f"{scheme}-{port}.token")
        except AuthSetupError as error:
            raise SystemExit(f"fireside serve: {error}") from None
    print(
        f"fireside serve: listening on {scheme}://{policy.host}:{port}; clients must send "
        f"initializationOptions.authToken, the token in {token.source}",
        file=sys.stderr,
        flush=True,
    )
    return token


def _cancel_on_termination() -> None:
    """SIGTERM/SIGINT end the listener cleanly: sessions are closed and a generated token file removed."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)


def _run(main: Awaitable[None]) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        asyncio.run(main)  # type: ignore[arg-type]


# ----- TCP ----------------------------------------------------------------------------------------
def serve_tcp(make_server: ServerFactory, policy: TransportPolicy) -> None:
    _refuse_non_loopback(policy, "tcp")
    gate: Gate

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")

        async def send(message: dict[str, Any]) -> None:
            body = json.dumps(message).encode()
            writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            await writer.drain()

        async def serve(server: FiresideServer, initialize: dict[str, Any]) -> None:
            server.protocol.set_writer(writer)  # type: ignore[arg-type]
            _handle(server, initialize)
            while True:
                body = await read_frame(reader, message_limit(server.config.max_file_size), strict=False)
                if body is None:
                    return
                _handle(server, body)

        try:
            await gate.session(peer, lambda: read_frame(reader, INITIALIZE_MAX_BYTES, strict=True), send, serve)
        except Refused as refusal:  # a frame over the limit after authentication
            logger.warning("closing the connection from %s: %s", peer, refusal)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError) as error:
            logger.info("connection from %s ended: %s", peer, type(error).__name__)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def main() -> None:
        nonlocal gate
        _cancel_on_termination()
        listener = await asyncio.start_server(on_connection, bare_host(policy.host), policy.port)
        gate = Gate(_token_and_announce("tcp", listener.sockets[0].getsockname()[1], policy), make_server)
        try:
            async with listener:
                await listener.serve_forever()
        finally:
            gate.token.remove_generated_file()

    _run(main())


# ----- WebSocket ----------------------------------------------------------------------------------
def serve_websocket(make_server: ServerFactory, policy: TransportPolicy) -> None:
    from pygls.io_ import WebSocketWriter
    from websockets.asyncio.server import ServerConnection, serve
    from websockets.exceptions import ConnectionClosed
    from websockets.http11 import Request, Response

    _refuse_non_loopback(policy, "ws")
    gate: Gate

    def check_handshake(connection: ServerConnection, request: Request) -> Response | None:
        origins, hosts = request.headers.get_all("Origin"), request.headers.get_all("Host")
        if len(origins) > 1 or len(hosts) > 1:
            reason: str | None = "the request repeats its Origin or Host header"
        else:
            reason = handshake_refusal(origins[0] if origins else None, hosts[0] if hosts else None, policy)
        if reason is None:
            return None
        logger.warning("refused a WebSocket handshake from %s: %s", connection.remote_address, reason)
        return connection.respond(http.HTTPStatus.FORBIDDEN, f"Fireside: {reason}\n")

    async def on_connection(websocket: ServerConnection) -> None:
        peer = websocket.remote_address

        async def first_message() -> bytes | None:
            try:
                data = await websocket.recv(decode=False)
            except ConnectionClosed:
                return None
            return data

        async def send(message: dict[str, Any]) -> None:
            await websocket.send(json.dumps(message))

        async def serve_session(server: FiresideServer, initialize: dict[str, Any]) -> None:
            nonlocal served
            served = True
            server.protocol.set_writer(WebSocketWriter(websocket), include_headers=False)  # type: ignore[arg-type]
            _handle(server, initialize)
            while True:
                # The limit follows the session's maxFileSize (it may change with the settings).
                websocket.protocol.max_message_size = message_limit(server.config.max_file_size)
                try:
                    data = await websocket.recv(decode=False)
                except ConnectionClosed:
                    return
                _handle(server, data)

        served = False
        try:
            await gate.session(peer, first_message, send, serve_session)
        finally:
            with contextlib.suppress(Exception):
                await websocket.close(1000 if served else 1008)  # 1008: policy violation

    async def main() -> None:
        async with serve(
            on_connection,
            bare_host(policy.host),
            policy.port,
            process_request=check_handshake,
            max_size=INITIALIZE_MAX_BYTES,  # raised to fit maxFileSize once the client is authenticated
            server_header=None,
        ) as listener:
            nonlocal gate
            _cancel_on_termination()
            gate = Gate(_token_and_announce("ws", next(iter(listener.sockets)).getsockname()[1], policy), make_server)
            try:
                await listener.serve_forever()
            finally:
                gate.token.remove_generated_file()

    _run(main())

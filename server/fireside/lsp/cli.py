"""`fireside serve`: the language server over stdio, TCP or WebSocket."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from fireside.lsp.auth import AUTH_TOKEN_ENV


def _host_port(value: str) -> tuple[str, int]:
    """HOST:PORT ([::1]:PORT for IPv6), or PORT alone for 127.0.0.1:PORT."""
    host, _, port = value.rpartition(":")
    if not host and value.isdigit():
        host, port = "127.0.0.1", value
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host, int(port)


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "serve",
        help="run the language server (stdio by default)",
        description="Run the Fireside language server. Speaks LSP 3.17 over stdio unless --tcp or --ws is given. "
        "Everything runs on this machine; nothing is sent anywhere unless --endpoint names an inference server.",
    )
    transport = parser.add_mutually_exclusive_group()
    transport.add_argument("--stdio", action="store_true", help="talk LSP over stdin/stdout (the default)")
    transport.add_argument(
        "--tcp", metavar="HOST:PORT", type=_host_port,
        help="listen for one LSP client at a time over TCP (loopback only unless --allow-remote; clients "
        "authenticate with initializationOptions.authToken)",
    )
    transport.add_argument(
        "--ws", metavar="HOST:PORT", type=_host_port,
        help="listen over WebSocket (browser editors; as --tcp, plus the --allow-origin/--allow-host checks)",
    )
    network = parser.add_argument_group("TCP and WebSocket")
    network.add_argument(
        "--auth-token-file", metavar="FILE",
        help=f"read the auth token clients must send from FILE (else ${AUTH_TOKEN_ENV}, else a random token is "
        "written to a file only you can read, whose path is printed on stderr)",
    )
    network.add_argument(
        "--allow-remote", action="store_true",
        help="allow a HOST:PORT that other machines can reach (unencrypted; prefer an SSH tunnel)",
    )
    network.add_argument(
        "--allow-origin", action="append", default=[], metavar="ORIGIN",
        help="a web page origin (e.g. http://localhost:3000) whose editor may connect over --ws (repeatable; "
        "none by default)",
    )
    network.add_argument(
        "--allow-host", action="append", default=[], metavar="NAME",
        help="a Host name the --ws server answers besides localhost and loopback addresses (repeatable)",
    )
    parser.add_argument("--model", metavar="PATH", help="GGUF model file (default: the model `fireside models install` chose for this machine)")
    parser.add_argument("--context-size", type=int, metavar="N", help="model context window in tokens")
    parser.add_argument("--max-tokens", type=int, metavar="N", help="most tokens generated per completion")
    parser.add_argument("--max-prompt-tokens", type=int, metavar="N", help="most prompt tokens per completion")
    parser.add_argument("--threads", type=int, metavar="N", help="CPU threads for the model (0: all cores)")
    parser.add_argument("--debounce-ms", type=int, metavar="MS", help="wait after a keystroke before completing")
    parser.add_argument(
        "--languages", metavar="IDS", help="comma-separated language ids to complete in (default: every supported language)"
    )
    parser.add_argument(
        "--log-level", choices=("debug", "info", "warning", "error"), help="log level (default: info)"
    )
    parser.add_argument(
        "--models-dir", metavar="DIR",
        help="watch DIR for GGUF models: new ones are validated, then served (see `fireside models`)",
    )
    parser.add_argument(
        "--endpoint", action="append", metavar="URL",
        help="an OpenAI-compatible inference server to complete with instead of the local model (repeatable); "
        "prompts are sent there",
    )
    parser.add_argument(
        "--endpoint-api-key-env", metavar="NAME",
        help="the environment variable holding the endpoints' API key (sent as a Bearer token over https://, "
        "or http:// to this machine only)",
    )
    parser.add_argument("--prometheus-url", metavar="URL", help="run `fireside monitor` on this Prometheus")
    parser.add_argument("--alertmanager-url", metavar="URL", help="where the monitor sends its alerts")
    parser.add_argument("--monitor-config", metavar="FILE", help="a `fireside monitor` config file")
    parser.add_argument("--log-file", metavar="PATH", help="write logs to this file instead of stderr")
    # Protocol tests use a deterministic stand-in for the model; not for users.
    parser.add_argument("--engine", choices=("llama", "fake"), default="llama", help=argparse.SUPPRESS)
    parser.add_argument("--fake-token-delay-ms", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def cli_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as flags (only those given), in the config model's names."""
    settings: dict[str, Any] = {}
    for flag, name in (
        ("model", "model_path"),
        ("context_size", "context_size"),
        ("max_tokens", "max_tokens"),
        ("max_prompt_tokens", "max_prompt_tokens"),
        ("threads", "threads"),
        ("debounce_ms", "debounce_ms"),
        ("log_level", "log_level"),
        ("models_dir", "models_dir"),
        ("endpoint", "endpoints"),
        ("endpoint_api_key_env", "endpoint_api_key_env"),
        ("prometheus_url", "prometheus_url"),
        ("alertmanager_url", "alertmanager_url"),
        ("monitor_config", "monitor_config"),
    ):
        value = getattr(args, flag)
        if value is not None:
            settings[name] = value
    if args.languages:
        settings["enabled_languages"] = [item.strip() for item in args.languages.split(",") if item.strip()]
    return settings


def run(args: argparse.Namespace) -> int:
    from fireside.logs import configure_logging

    configure_logging(args.log_level or "info", args.log_file)

    from fireside import engines
    from fireside.lsp.app import create_server

    engine_factory = engines.engine_factory(args.engine, fake_token_delay_s=args.fake_token_delay_ms / 1000)

    settings = cli_settings(args)
    if args.tcp or args.ws:
        from fireside.lsp.auth import AuthSetupError, load_token
        from fireside.lsp.transports import TransportPolicy, normalise_origin, serve_tcp, serve_websocket

        token = None
        if args.auth_token_file or os.environ.get(AUTH_TOKEN_ENV):
            try:
                token, warnings = load_token(args.auth_token_file, "")
            except AuthSetupError as error:
                print(f"fireside serve: {error}", file=sys.stderr)
                return 2
            for warning in warnings:
                print(f"fireside serve: warning: {warning}", file=sys.stderr)
        host, port = args.tcp or args.ws
        policy = TransportPolicy(
            host=host,
            port=port,
            token=token,
            allow_remote=args.allow_remote,
            allowed_origins=frozenset(normalise_origin(origin) for origin in args.allow_origin),
            allowed_hosts=frozenset(name.strip().lower() for name in args.allow_host),
        )
        serve = serve_tcp if args.tcp else serve_websocket
        serve(lambda: create_server(engine_factory, settings), policy)
    else:
        server = create_server(engine_factory, settings)
        # stdout is the transport: keep a private handle on it and point fd 1 at stderr, so that a
        # stray print or a native library's output can never corrupt the LSP stream.
        transport = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
        sys.stdout = sys.stderr
        server.start_io(sys.stdin.buffer, transport)  # type: ignore[arg-type]
    return 0

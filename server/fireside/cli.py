"""The `fireside` command line: one entry point, one module per subcommand.

Each subcommand module exposes ``add_parser(subparsers)`` which registers its parser and sets
``func`` (called with the parsed namespace, returning an exit code). Heavy imports stay inside
``func`` so that ``fireside --help`` and ``fireside --version`` are instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from fireside import __version__

# Subcommand modules, in the order `fireside --help` lists them.
COMMAND_MODULES = (
    "fireside.lsp.cli",
    "fireside.testgen.cli",
    "fireside.monitor.cli",
    "fireside.models.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fireside",
        description="Fireside: a self-hosted AI pair for the editor. Everything runs on this machine.",
    )
    parser.add_argument("--version", action="version", version=f"fireside {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

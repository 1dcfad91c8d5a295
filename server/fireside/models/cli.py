"""`fireside models list|validate|rollback`: the models directory from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "models",
        help="list, validate and roll back the models of a models directory",
        description="Manage a models directory (the one `fireside serve --models-dir DIR` watches).",
    )
    commands = parser.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    listing = commands.add_parser("list", help="installed models: which is active, which were rejected and why")
    listing.add_argument("--models-dir", metavar="DIR", required=True, help="the models directory")
    listing.set_defaults(func=run_list)
    validate = commands.add_parser("validate", help="run the checks a candidate model must pass (exit 0: passed)")
    validate.add_argument("path", metavar="PATH", help="a GGUF file")
    validate.add_argument(
        "--latency-budget-ms", type=int, default=None, metavar="MS",
        help="median smoke-completion latency allowed (default: the modelLatencyBudgetMs default)",
    )
    validate.set_defaults(func=run_validate)
    rollback = commands.add_parser(
        "rollback", help="make the previous model active again (a server watching the directory switches to it)"
    )
    rollback.add_argument("--models-dir", metavar="DIR", required=True, help="the models directory")
    rollback.set_defaults(func=run_rollback)


def run_list(args: argparse.Namespace) -> int:
    from fireside.models.registry import ModelRegistry

    directory = Path(args.models_dir).expanduser()
    if not directory.is_dir():
        print(f"fireside models: {directory} is not a directory", file=sys.stderr)
        return 1
    registry = ModelRegistry(directory)
    state = registry.load()
    installed = registry.installed()
    print(f"models in {directory}:")
    if not installed:
        print("  (no .gguf files)")
    for path in installed:
        size_mb = path.stat().st_size / 1e6
        if path.name == state.active:
            status = "active"
        elif path.name == state.previous:
            status = "previous (fireside models rollback)"
        elif path.name in state.rejected:
            status = f"rejected: {state.rejected[path.name].reason}"
        else:
            status = "installed"
        print(f"  {path.name:40} {size_mb:8.1f} MB  {status}")
    for name, rejection in sorted(state.rejected.items()):
        if not (directory / name).exists():
            print(f"  {name:40} {'':>11}  rejected (file gone): {rejection.reason}")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    from fireside.logs import configure_logging

    configure_logging("warning", None)
    from fireside.config import FiresideConfig
    from fireside.models.validation import validate_isolated

    budget = args.latency_budget_ms or FiresideConfig().model_latency_budget_ms
    # In a child process under time and memory limits, as the models-directory watcher does it.
    report = validate_isolated(Path(args.path).expanduser(), latency_budget_ms=budget)
    print(report.render())
    return 0 if report.passed else 1


def run_rollback(args: argparse.Namespace) -> int:
    from fireside.models.registry import ModelRegistry

    directory = Path(args.models_dir).expanduser()
    try:
        state = ModelRegistry(directory).rollback()
    except (LookupError, OSError) as error:  # no previous model; a directory it cannot write
        print(f"fireside models rollback: {error}", file=sys.stderr)
        return 1
    print(f"active model: {state.active} (was {state.previous}); a server watching {directory} switches to it")
    return 0

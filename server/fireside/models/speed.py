"""How fast is this machine, and which catalog model should be the default here?

The default is the largest default candidate whose keystroke cost fits ``KEYSTROKE_BUDGET_MS``: the
issue's target for a keystroke that needs the model (p50 ≤ 400 ms). A keystroke is modelled as
``KEYSTROKE_PROMPT_TOKENS`` newly evaluated prompt tokens (the typed text; the rest of the prompt is
reused from the KV cache) plus ``KEYSTROKE_GENERATED_TOKENS`` generated ones (a one-line suggestion).

Nothing large is downloaded to decide: a model that is present (the bundled Gemma always is; an
installed Qwen once it is) is measured with the thread count the server uses, and the others are
predicted by scaling with the GGUF's size — CPU decoding streams every weight once per token, so
its cost grows with the bytes of the weights. After an install the chosen model itself is measured
and the choice is made again with its real figures.

Each figure is the best of a few repeats: the machine's capability, not the noise of whatever else
was running.
"""

from __future__ import annotations

import logging
import os
import platform
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from fireside.models.catalog import (
    CATALOG,
    Catalog,
    CatalogModel,
    DefaultChoice,
    models_home,
    read_json,
    write_json_atomically,
)

logger = logging.getLogger(__name__)

KEYSTROKE_BUDGET_MS = 400.0
KEYSTROKE_PROMPT_TOKENS = 8
KEYSTROKE_GENERATED_TOKENS = 10
MEASUREMENTS_FILE = "measurements.json"

MEASURE_CONTEXT = 1024
MEASURE_PROMPT_TOKENS = 128
MEASURE_DECODE_TOKENS = 16
MEASURE_REPEATS = 3


def keystroke_ms(decode_ms_per_token: float, prompt_tokens_per_s: float) -> float:
    return KEYSTROKE_PROMPT_TOKENS * 1000.0 / prompt_tokens_per_s + KEYSTROKE_GENERATED_TOKENS * decode_ms_per_token


@dataclass(frozen=True)
class SpeedFigures:
    """One model measured on this machine."""

    model: str
    model_bytes: int
    threads: int
    decode_ms_per_token: float
    prompt_tokens_per_s: float
    measured_at: str

    @property
    def keystroke_ms(self) -> float:
        return keystroke_ms(self.decode_ms_per_token, self.prompt_tokens_per_s)


@dataclass(frozen=True)
class Machine:
    """What the figures depend on; figures taken on another machine (or thread count) are stale."""

    cpu_count: int
    threads: int
    platform: str

    @staticmethod
    def current(threads: int) -> Machine:
        return Machine(os.cpu_count() or 1, threads, f"{platform.system()} {platform.machine()}")


@dataclass(frozen=True)
class Measurements:
    machine: Machine
    figures: Mapping[str, SpeedFigures]


def load_measurements(home: Path | None = None) -> Measurements | None:
    raw = read_json((home or models_home()) / MEASUREMENTS_FILE)
    if raw is None:
        return None
    try:
        machine = Machine(**raw["machine"])
        figures = {name: SpeedFigures(**item) for name, item in raw["figures"].items()}
    except (KeyError, TypeError, AttributeError) as error:
        logger.warning("measurements file unusable (%s); ignored", error)
        return None
    return Measurements(machine, figures)


def save_measurements(measurements: Measurements, home: Path | None = None) -> None:
    write_json_atomically(
        (home or models_home()) / MEASUREMENTS_FILE,
        {
            "machine": asdict(measurements.machine),
            "figures": {name: asdict(figures) for name, figures in measurements.figures.items()},
            "budget": {
                "keystroke_ms": KEYSTROKE_BUDGET_MS,
                "prompt_tokens": KEYSTROKE_PROMPT_TOKENS,
                "generated_tokens": KEYSTROKE_GENERATED_TOKENS,
            },
        },
    )


# ----- predicting and choosing ------------------------------------------------------------------------
@dataclass(frozen=True)
class Estimate:
    model: str
    decode_ms_per_token: float
    prompt_tokens_per_s: float
    basis: str  # "measured", or "predicted from NAME"

    @property
    def keystroke_ms(self) -> float:
        return keystroke_ms(self.decode_ms_per_token, self.prompt_tokens_per_s)

    @property
    def measured(self) -> bool:
        return self.basis == "measured"


def estimate(model: CatalogModel, figures: Mapping[str, SpeedFigures]) -> Estimate | None:
    """``model``'s own figures, else a prediction from the largest model measured (the nearest in
    scale to the candidates), scaled by the size of the weights."""
    own = figures.get(model.name)
    if own is not None:
        return Estimate(model.name, own.decode_ms_per_token, own.prompt_tokens_per_s, "measured")
    if not figures:
        return None
    reference = max(figures.values(), key=lambda item: item.model_bytes)
    scale = model.gguf_size / reference.model_bytes
    return Estimate(
        model.name,
        reference.decode_ms_per_token * scale,
        reference.prompt_tokens_per_s / scale,
        f"predicted from {reference.model}",
    )


def choose_default(
    figures: Mapping[str, SpeedFigures], *, budget_ms: float = KEYSTROKE_BUDGET_MS, catalog: Catalog = CATALOG
) -> DefaultChoice:
    """The largest default candidate whose keystroke fits ``budget_ms`` (else the smallest candidate)."""
    candidates = catalog.candidates
    estimates = {model.name: estimate(model, figures) for model in candidates}
    if any(item is None for item in estimates.values()):
        smallest = candidates[0].name
        return DefaultChoice(smallest, "catalog", "nothing measured on this machine yet")
    fitting = [model for model in candidates if estimates[model.name].keystroke_ms <= budget_ms]  # type: ignore[union-attr]
    figures_text = "; ".join(
        f"{name} ~{item.keystroke_ms:.0f} ms per keystroke ({item.basis})"  # type: ignore[union-attr]
        for name, item in estimates.items()
    )
    if fitting:
        chosen = fitting[-1]
        reason = f"the largest model within the {budget_ms:.0f} ms keystroke budget here: {figures_text}"
    else:
        chosen = candidates[0]
        reason = (
            f"no candidate fits the {budget_ms:.0f} ms keystroke budget here, so the smallest: {figures_text} "
            f"(`fireside models default {catalog.fallback}` is faster but has no fill-in-the-middle)"
        )
    return DefaultChoice(chosen.name, "measurement", reason)


# ----- measuring --------------------------------------------------------------------------------------
def _open_llama(path: Path, threads: int):  # noqa: ANN202 - an Engine
    from fireside.completion.engine import LlamaEngine

    return LlamaEngine(path, context_size=MEASURE_CONTEXT, threads=threads)


def measure(
    model: CatalogModel,
    path: Path,
    *,
    threads: int,
    open_engine: Callable[[Path, int], object] | None = None,
) -> SpeedFigures:
    """Decode ms/token and prompt tokens/s of ``path`` through the same engine the server uses.

    Each repeat evaluates a fresh prompt (a different stretch of text, so nothing is reused from the
    KV cache), then asks for ``MEASURE_DECODE_TOKENS`` tokens after that same prompt (all reused)."""
    engine = (open_engine or _open_llama)(path, threads)
    text_tokens = engine.tokenize(Path(__file__).read_text("utf-8"))  # type: ignore[attr-defined]
    never = lambda text: None  # noqa: E731 - decode the full count
    decode: list[float] = []
    prompt: list[float] = []
    for repeat in range(MEASURE_REPEATS + 1):  # the first one warms up
        stretch = text_tokens[repeat * MEASURE_PROMPT_TOKENS :][:MEASURE_PROMPT_TOKENS]
        tokens = [*engine.start_tokens, *stretch]  # type: ignore[attr-defined]
        first = engine.run(tokens, max_tokens=1, stop_at=never, cancelled=lambda: False)  # type: ignore[attr-defined]
        second = engine.run(  # type: ignore[attr-defined]
            tokens, max_tokens=MEASURE_DECODE_TOKENS, stop_at=never, cancelled=lambda: False
        )
        if repeat == 0:
            continue
        per_token = second.seconds / max(1, second.generated_tokens)
        evaluated = first.prompt_tokens - first.reused_tokens
        # Less the one-token step at its end (unless that is all there is to it: a tiny test model).
        prompt_seconds = first.seconds - per_token if first.seconds > 2 * per_token else first.seconds
        decode.append(per_token * 1000)
        prompt.append(max(1, evaluated - 1) / max(prompt_seconds, 1e-6))
    close = getattr(engine, "close", None)
    if close is not None:
        close()
    return SpeedFigures(
        model=model.name,
        model_bytes=path.stat().st_size,
        threads=threads,
        decode_ms_per_token=round(min(decode), 2),
        prompt_tokens_per_s=round(max(prompt), 1),
        measured_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )


"""How many series `fireside monitor`'s detector keeps up with: series per second for scoring and
for training, at 1,000 series, with the monitor's default settings (60 s step, 7 seasonal days).

    .venv/bin/python eval/monitor_scale.py [--series 1000] [--history-series 50]

* scoring: each of N trained series takes one new point (what one worker cycle does per series);
* training: each of N series refits its IsolationForest on its training window (once a day each);
* history: a new series takes in ``history_seconds`` (8 days) of history, its first fits included
  (what the worker does when a series first appears); measured on fewer series, it is a rate.

Also the memory a series costs (its pickled detector, which is what the worker keeps). One
process, one thread; wall-clock on a shared machine is noisy: CPU seconds are reported too.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from fireside.monitor.config import MonitorConfig  # noqa: E402
from fireside.monitor.detector import SeriesDetector  # noqa: E402


def synthetic(n: int, seed: int, step: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) * step
    daily = 100 + 30 * np.sin(2 * np.pi * t / 86_400 + rng.uniform(0, 6))
    return daily * rng.uniform(0.5, 2) + rng.normal(0, 3, n)


def timed(fn) -> tuple[float, float]:  # noqa: ANN001
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--history-series", type=int, default=50)
    args = parser.parse_args(argv)
    config = MonitorConfig()
    step, settings = config.step_seconds, config.detector_settings
    # Not a whole number of days: the scoring pass must not land on the series' daily refit
    # (refits are measured on their own below; in a running worker they are spread over the day).
    history = int(config.history_seconds / step) - 60
    first = int(1_800_000_000 // step)

    # History: new series take in 8 days each (features, range stats, the daily fits).
    detectors: list[SeriesDetector] = []
    data = [synthetic(history + 10, seed, step) for seed in range(args.history_series)]

    def take_history() -> None:
        for values in data:
            detector = SeriesDetector(step, settings)
            detector.update(first, values[:history])
            detectors.append(detector)

    history_wall, history_cpu = timed(take_history)
    size = float(np.mean([len(pickle.dumps(d)) for d in detectors]))

    # Scale to N series by copying the trained detectors (their cost per cycle is what matters).
    fleet = [pickle.loads(pickle.dumps(detectors[k % len(detectors)])) for k in range(args.series)]
    new_points = [data[k % len(data)][history : history + 1] for k in range(args.series)]

    def score_once() -> None:
        for detector, point in zip(fleet, new_points, strict=True):
            detector.update(first + history, point)

    score_wall, score_cpu = timed(score_once)

    def refit_all() -> None:
        for detector in fleet:
            detector._fit(detector.next_index)  # what the daily refit does, for every series at once

    fit_wall, fit_cpu = timed(refit_all)
    n = args.series
    report = {
        "series": n,
        "step_seconds": step,
        "history_points": history,
        "scoring_series_per_second": round(n / score_wall, 1),
        "scoring_cpu_ms_per_series": round(1000 * score_cpu / n, 2),
        "training_series_per_second": round(n / fit_wall, 1),
        "training_cpu_ms_per_series": round(1000 * fit_cpu / n, 1),
        "history_series_per_second": round(args.history_series / history_wall, 2),
        "history_cpu_s_per_series": round(history_cpu / args.history_series, 3),
        "detector_kib_per_series": round(size / 1024, 1),
        "cycle_seconds_at_n_series": round(score_wall, 2),
        "daily_training_seconds_at_n_series": round(fit_wall, 1),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

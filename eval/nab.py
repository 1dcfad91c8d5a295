"""Run Fireside's anomaly detector over a NAB-layout data folder and score it with NAB's rules.

    python eval/nab.py --data ../shared/nab/data --labels ../shared/nab/labels --out eval/out/nab

Writes NAB's results layout for two detectors:

* ``OUT/fireside/<category>/fireside_<file>.csv``: the continuous calibrated score in [0, 1];
  NAB picks its threshold with the labels (per profile).
* ``OUT/fireside_alerts/<category>/fireside_alerts_<file>.csv``: 1 where the worker's alert state
  machine fires (the moment a notification would be sent), else 0; scored at 0.5, label-free.

Streaming is causal: the model that scores a point was trained only on points before it, and the
features of a point use only that point and earlier ones. Models are retrained on the worker's
schedule (``retrain_interval_seconds`` of the config, converted to points with the file's step).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from fireside.monitor.alert_state import AlertState, Transition  # noqa: E402
from fireside.monitor.config import MonitorConfig  # noqa: E402
from fireside.monitor.detector import Detector  # noqa: E402
from fireside.monitor.features import history_points  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nab_scoring import load_profiles, score_corpus  # noqa: E402

NAB_TIME = "%Y-%m-%d %H:%M:%S"


@dataclass
class FileResult:
    relative: str  # category/file.csv
    timestamps: list[str]
    values: np.ndarray
    scores: np.ndarray
    alerts: np.ndarray
    seconds: float


def read_series(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    stamps = [row["timestamp"] for row in rows]
    seconds = np.array([datetime.strptime(t, NAB_TIME).replace(tzinfo=UTC).timestamp() for t in stamps])
    values = np.array([float(row["value"]) for row in rows])
    return stamps, seconds, values


def run_detector(values: np.ndarray, seconds: np.ndarray, config: MonitorConfig) -> tuple[np.ndarray, np.ndarray]:
    """Causal streaming: fit on points [.., i), score [i, next retrain), repeat."""
    n = len(values)
    step = float(np.median(np.diff(seconds))) if n > 1 else config.step_seconds
    retrain_every = max(1, int(round(config.retrain_interval_seconds / step)))
    detector = Detector(step, config.detector_settings)
    history = history_points(config.train_points, step)  # the worker keeps as much per series
    scores = np.full(n, np.nan)
    alerts = np.zeros(n, dtype=int)
    state = AlertState(config.rule)
    i = min(n, config.min_train_points + 10)
    while i < n:
        detector.fit(values[max(0, i - history) : i], now=float(seconds[i - 1]))
        end = min(n, i + retrain_every)
        if detector.ready:
            assert detector.spec is not None
            lo = max(0, i - detector.spec.context)
            scores[i:end] = detector.score(values[lo:end], i - lo)
        for j in range(i, end):
            if state.observe(float(seconds[j]), float(scores[j])) is Transition.FIRED:
                alerts[j] = 1
        i = end
    return np.nan_to_num(scores, nan=0.0), alerts


def process(path: Path, data_dir: Path, config: MonitorConfig) -> FileResult:
    started = time.perf_counter()
    stamps, seconds, values = read_series(path)
    scores, alerts = run_detector(values, seconds, config)
    relative = path.relative_to(data_dir).as_posix()
    return FileResult(relative, stamps, values, scores, alerts, time.perf_counter() - started)


def labels_for(result: FileResult, windows: list[tuple[str, str]]) -> np.ndarray:
    """1 inside the anomaly windows (their stamps already in the data's format, see `_nab_stamp`)."""
    label = np.zeros(len(result.timestamps), dtype=int)
    index = {t: i for i, t in enumerate(result.timestamps)}
    for start, end in windows:
        label[index[start] : index[end] + 1] = 1
    return label


def _nab_stamp(stamp: str) -> str:
    return stamp.split(".")[0]  # windows carry ".000000"; data rows do not


def write_results(out: Path, detector: str, result: FileResult, column: np.ndarray, label: np.ndarray) -> None:
    category, name = result.relative.split("/", 1)
    target = out / detector / category / f"{detector}_{name}"
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["timestamp", "value", "anomaly_score", "label"])
        for t, v, s, lab in zip(result.timestamps, result.values, column, label, strict=True):
            writer.writerow([t, repr(float(v)), f"{float(s):.6f}", int(lab)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="NAB data folder (category/file.csv)")
    parser.add_argument("--labels", type=Path,
                        help="NAB labels folder (combined_windows.json); default: DATA/../labels")
    parser.add_argument("--profiles", type=Path,
                        help="NAB config/profiles.json; default: DATA/../config/profiles.json")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="only the first N files (a smoke run)")
    args = parser.parse_args(argv)

    labels_dir = args.labels or args.data.parent / "labels"
    windows_path = labels_dir / "combined_windows.json"
    all_windows = json.loads(windows_path.read_text()) if windows_path.exists() else {}
    profiles = load_profiles(args.profiles or args.data.parent / "config" / "profiles.json")
    config = MonitorConfig()
    paths = sorted(p for p in args.data.glob("*/*.csv"))
    if args.limit:
        paths = paths[: args.limit]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(process, paths, [args.data] * len(paths), [config] * len(paths)))
    elapsed = time.perf_counter() - started

    corpus_scores, corpus_alerts = [], []
    for result in results:
        windows = [(_nab_stamp(a), _nab_stamp(b)) for a, b in all_windows.get(result.relative, [])]
        label = labels_for(result, windows)
        write_results(args.out, "fireside", result, result.scores, label)
        write_results(args.out, "fireside_alerts", result, result.alerts, label)
        corpus_scores.append((result.timestamps, result.scores, windows))
        corpus_alerts.append((result.timestamps, result.alerts.astype(float), windows))

    summary: dict[str, dict[str, dict[str, float]]] = {"fireside": {}, "fireside_alerts": {}}
    for profile, weights in profiles.items():
        for name, corpus, threshold in (("fireside", corpus_scores, None), ("fireside_alerts", corpus_alerts, 0.5)):
            scored = score_corpus(corpus, weights, profile, threshold)
            summary[name][profile] = {"score": round(scored.normalized, 2), "threshold": scored.threshold,
                                      "raw": round(scored.raw, 3), "null": scored.null, "perfect": scored.perfect}
    summary_meta = {"files": len(results), "rows": int(sum(len(r.timestamps) for r in results)),
                    "alerts_fired": int(sum(int(r.alerts.sum()) for r in results)),
                    "wall_seconds": round(elapsed, 1), "jobs": args.jobs}
    (args.out / "summary.json").write_text(json.dumps({"meta": summary_meta, **summary}, indent=2))
    print(f"{'detector':18} {'standard':>9} {'low_FP':>9} {'low_FN':>9}")
    for name in ("fireside", "fireside_alerts"):
        row = summary[name]
        print(f"{name:18} {row['standard']['score']:9.2f} {row['reward_low_FP_rate']['score']:9.2f} "
              f"{row['reward_low_FN_rate']['score']:9.2f}")
    print(json.dumps(summary_meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run `fireside monitor`'s detector and alert rule over NAB, write NAB's results layout, score it.

    .venv/bin/python eval/nab.py --data ../shared/nab/data --out eval/out/nab

Two detectors are written (``OUT/<detector>/<category>/<detector>_<file>.csv``, NAB's layout and
columns ``timestamp,value,anomaly_score,label``):

* ``fireside``: the continuous anomaly score in [0, 1); NAB picks its threshold with the labels
  (per profile), as it does for every published detector;
* ``fireside_alerts``: 1 at each point where the monitor's alert fires (pending → firing with the
  configured ``for``, then the per-series suppression), else 0; scored at 0.5, label-free. These
  are the events `fireside monitor` sends to Alertmanager and the editor: both go through
  ``SeriesDetector.update`` and ``fireside.monitor.events.alert_events`` with the default
  ``MonitorConfig``.

The scores are read back from the written files and scored with ``nab_scoring`` (NAB's rules, see
that module): what is scored is exactly what is written. Results are reported for the whole
corpus and separately for the tuning part (``--tune``: the categories the settings were chosen on)
and the held-out rest. NAB's rows are taken as consecutive points at the file's median step.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
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
from fireside.monitor.detector import DetectorSettings, SeriesDetector  # noqa: E402
from fireside.monitor.events import alert_events  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nab_scoring import load_profiles, score_corpus  # noqa: E402

NAB_TIME = "%Y-%m-%d %H:%M:%S"
TUNE_DEFAULT = "artificialNoAnomaly,artificialWithAnomaly,realAWSCloudwatch"
DETECTORS = ("fireside", "fireside_alerts")
PROFILE_COLUMNS = (("standard", "standard"), ("reward_low_FP_rate", "low_FP"), ("reward_low_FN_rate", "low_FN"))


@dataclass
class FileResult:
    relative: str  # category/file.csv
    timestamps: list[str]
    values: np.ndarray
    scores: np.ndarray
    alerts: np.ndarray
    reasons: dict[str, int]  # alerts by reason:feature, e.g. "range_break:value"
    cpu_seconds: float


def read_series(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    stamps = [row["timestamp"] for row in rows]
    seconds = np.array([datetime.strptime(t, NAB_TIME).replace(tzinfo=UTC).timestamp() for t in stamps])
    values = np.array([float(row["value"]) for row in rows])
    return stamps, seconds, values


def run_detector(values: np.ndarray, seconds: np.ndarray, config: MonitorConfig,
                 settings: DetectorSettings | None = None) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Stream the file through the monitor's detector and alert rule, a day at a time."""
    n = len(values)
    step = float(np.median(np.diff(seconds))) if n > 1 else config.step_seconds
    detector = SeriesDetector(step, settings or config.detector_settings)
    state = AlertState(config.rule)
    first = int(round(seconds[0] / step)) if n else 0
    chunk = max(1, int(round(86_400 / step)))
    scores = np.full(n, np.nan)
    alerts = np.zeros(n, dtype=int)
    reasons: dict[str, int] = {}
    for a in range(0, n, chunk):
        scored = detector.update(first + a, values[a : a + chunk])
        scores[a : a + len(scored)] = scored.score
        for event in alert_events(state, scored, step):
            if event.transition is Transition.FIRED:
                alerts[a + event.offset] = 1
                why = detector.explain(scored, event.offset)
                reasons[f"{why.reason}:{why.feature}"] = reasons.get(f"{why.reason}:{why.feature}", 0) + 1
    return np.nan_to_num(scores, nan=0.0), alerts, reasons


def process(path: Path, data_dir: Path, config: MonitorConfig, settings: DetectorSettings) -> FileResult:
    started = time.process_time()
    stamps, seconds, values = read_series(path)
    scores, alerts, reasons = run_detector(values, seconds, config, settings)
    relative = path.relative_to(data_dir).as_posix()
    return FileResult(relative, stamps, values, scores, alerts, reasons, time.process_time() - started)


def _nab_stamp(stamp: str) -> str:
    return stamp.split(".")[0]  # windows carry ".000000"; data rows do not


def labels_for(timestamps: list[str], windows: list[tuple[str, str]]) -> np.ndarray:
    label = np.zeros(len(timestamps), dtype=int)
    index = {t: i for i, t in enumerate(timestamps)}
    for start, end in windows:
        label[index[start] : index[end] + 1] = 1
    return label


def result_path(out: Path, detector: str, relative: str) -> Path:
    category, name = relative.split("/", 1)
    return out / detector / category / f"{detector}_{name}"


def write_results(path: Path, result: FileResult, column: np.ndarray, label: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["timestamp", "value", "anomaly_score", "label"])
        for t, v, s, lab in zip(result.timestamps, result.values, column, label, strict=True):
            writer.writerow([t, repr(float(v)), f"{float(s):.6f}", int(lab)])


def read_scores(path: Path) -> tuple[list[str], np.ndarray]:
    """The file as NAB's scorer reads it: timestamps and the anomaly_score column as floats."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [r["timestamp"] for r in rows], np.array([float(r["anomaly_score"]) for r in rows])


def score_written(out: Path, parts: dict[str, list[str]], all_windows: dict, profiles: dict) -> dict:
    """Read each written file back once, as NAB's scorer would, and score every part."""
    written = {detector: {relative: read_scores(result_path(out, detector, relative)) for relative in parts["all"]}
               for detector in DETECTORS}
    summary: dict = {}
    for part, relatives in parts.items():
        if not relatives:
            continue
        summary[part] = {}
        for detector in DETECTORS:
            corpus = []
            for relative in relatives:
                stamps, scores = written[detector][relative]
                windows = [(_nab_stamp(a), _nab_stamp(b)) for a, b in all_windows.get(relative, [])]
                corpus.append((stamps, scores, windows))
            threshold = None if detector == "fireside" else 0.5
            summary[part][detector] = {}
            for profile, weights in profiles.items():
                scored = score_corpus(corpus, weights, profile, threshold)
                summary[part][detector][profile] = {
                    "score": round(scored.normalized, 2), "threshold": scored.threshold, "raw": round(scored.raw, 3),
                    "null": scored.null, "perfect": scored.perfect}
    return summary


def apply_overrides(assignments: list[str]) -> tuple[MonitorConfig, DetectorSettings]:
    config_fields = {f.name: f for f in dataclasses.fields(MonitorConfig)}
    changes: dict[str, object] = {}
    detector_changes: dict[str, object] = {}
    detector_fields = {f.name: f for f in dataclasses.fields(DetectorSettings)}
    for assignment in assignments:
        name, _, text = assignment.partition("=")
        value = json.loads(text)
        if name in config_fields:
            changes[name] = value
        elif name in detector_fields:
            detector_changes[name] = value
        else:
            raise SystemExit(f"--set {name}: not a MonitorConfig or DetectorSettings field")
    config = MonitorConfig().replace(**changes)
    return config, dataclasses.replace(config.detector_settings, **detector_changes)


def _total_reasons(results: list[FileResult]) -> dict[str, int]:
    total: dict[str, int] = {}
    for result in results:
        for reason, count in result.reasons.items():
            total[reason] = total.get(reason, 0) + count
    return total


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
    parser.add_argument("--tune", default=TUNE_DEFAULT,
                        help=f"comma-separated categories the settings were tuned on (default {TUNE_DEFAULT})")
    parser.add_argument("--tune-only", action="store_true", help="run the tuning part only (for experiments)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override a MonitorConfig or DetectorSettings value (experiments, ablations)")
    args = parser.parse_args(argv)

    labels_dir = args.labels or args.data.parent / "labels"
    windows_path = labels_dir / "combined_windows.json"
    all_windows = json.loads(windows_path.read_text()) if windows_path.exists() else {}
    profiles = load_profiles(args.profiles or args.data.parent / "config" / "profiles.json")
    config, settings = apply_overrides(args.set)
    tune = {c.strip() for c in args.tune.split(",") if c.strip()}
    paths = sorted(p for p in args.data.glob("*/*.csv"))
    if args.tune_only:
        paths = [p for p in paths if p.parent.name in tune]
    if args.limit:
        paths = paths[: args.limit]
    if not paths:
        print(f"no NAB files (category/file.csv) under {args.data}", file=sys.stderr)
        return 2
    load_before = os.getloadavg()
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(process, paths, [args.data] * len(paths), [config] * len(paths),
                                [settings] * len(paths)))
    elapsed = time.perf_counter() - started
    load_after = os.getloadavg()

    for result in results:
        windows = [(_nab_stamp(a), _nab_stamp(b)) for a, b in all_windows.get(result.relative, [])]
        label = labels_for(result.timestamps, windows)
        write_results(result_path(args.out, "fireside", result.relative), result, result.scores, label)
        write_results(result_path(args.out, "fireside_alerts", result.relative), result, result.alerts, label)

    relatives = [r.relative for r in results]
    parts = {
        "all": relatives,
        "tune": [r for r in relatives if r.split("/")[0] in tune],
        "held_out": [r for r in relatives if r.split("/")[0] not in tune],
    }
    summary = score_written(args.out, parts, all_windows, profiles)
    total_seconds = time.perf_counter() - started
    meta = {
        "files": len(results), "rows": int(sum(len(r.timestamps) for r in results)),
        "alerts_fired": int(sum(int(r.alerts.sum()) for r in results)),
        "alert_reasons": dict(sorted(_total_reasons(results).items(), key=lambda kv: -kv[1])),
        "wall_seconds": round(elapsed, 1), "wall_seconds_with_scoring": round(total_seconds, 1),
        "cpu_seconds": round(sum(r.cpu_seconds for r in results), 1),
        "jobs": args.jobs, "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after], "tune_categories": sorted(tune),
        "files_tune": len(parts["tune"]), "files_held_out": len(parts["held_out"]), "overrides": args.set,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps({"meta": meta, **summary}, indent=2))
    print(f"{'part':9} {'detector':16} " + " ".join(f"{short:>8}" for _, short in PROFILE_COLUMNS))
    for part, by_detector in summary.items():
        for detector in DETECTORS:
            row = by_detector[detector]
            print(f"{part:9} {detector:16} " + " ".join(f"{row[p]['score']:8.2f}" for p, _ in PROFILE_COLUMNS))
    print(json.dumps(meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())

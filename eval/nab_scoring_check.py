"""Check eval/nab_scoring.py (our port of NAB's scoring) against NAB's published results.

    python eval/nab_scoring_check.py --nab /path/to/NAB [--labels ../shared/nab/labels/combined_windows.json]

For each published detector, reads its result files from a checkout of github.com/numenta/NAB
(``results/<detector>/…``), scores them with the port at NAB's published thresholds
(``config/thresholds.json``) and with the threshold our port optimises, and prints them beside
``results/final_results.json``. With NAB's own labels (the default) the published-threshold
figures must equal final_results.json; with ``--labels`` of a subset (e.g. the 51 local files) it
prints the detectors' scores on that subset, the figures issue 14 compares Fireside with.
Exits 1 if a published-threshold figure on NAB's full labels differs by more than 0.001.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nab_scoring import load_profiles, score_corpus  # noqa: E402

DETECTORS = ("ARTime", "contextOSE", "numenta", "htmjava", "earthgeckoSkyline", "knncad", "relativeEntropy",
             "randomCutForest", "twitterADVec", "windowedGaussian", "null")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nab", type=Path, required=True)
    parser.add_argument("--labels", type=Path, help="combined_windows.json to score on (default: NAB's)")
    args = parser.parse_args(argv)
    labels = args.labels or args.nab / "labels" / "combined_windows.json"
    full = args.labels is None
    windows_by_file = json.loads(labels.read_text())
    profiles = load_profiles(args.nab / "config" / "profiles.json")
    thresholds = json.loads((args.nab / "config" / "thresholds.json").read_text())
    published = json.loads((args.nab / "results" / "final_results.json").read_text())
    worst = 0.0
    print(f"{'detector':18} {'profile':20} {'published thr':>13} {'optimised':>10} {'final_results':>13}")
    for detector in DETECTORS:
        corpus = []
        for relative, windows in sorted(windows_by_file.items()):
            category, name = relative.split("/")
            with (args.nab / "results" / detector / category / f"{detector}_{name}").open(newline="") as handle:
                rows = list(csv.DictReader(handle))
            corpus.append(([r["timestamp"] for r in rows], np.array([float(r["anomaly_score"]) for r in rows]),
                           [(a.split(".")[0], b.split(".")[0]) for a, b in windows]))
        for profile, weights in profiles.items():
            fixed = score_corpus(corpus, weights, profile, thresholds[detector][profile]["threshold"]).normalized
            best = score_corpus(corpus, weights, profile, None).normalized
            reference = published[detector][profile]
            if full:
                worst = max(worst, abs(fixed - reference))
            print(f"{detector:18} {profile:20} {fixed:13.3f} {best:10.3f} {reference:13.3f}")
    if full:
        print(f"largest difference from final_results.json: {worst:.6f}")
    return 0 if not full or worst <= 0.001 else 1


if __name__ == "__main__":
    sys.exit(main())

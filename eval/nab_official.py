"""Score `eval/nab.py`'s result files with NAB's own code, and compare with our port.

    python eval/nab_official.py --nab /path/to/NAB --results eval/out/nab --data ../shared/nab/data \
        --python /path/to/python-with-pandas

NAB (github.com/numenta/NAB, MIT) is not vendored: point ``--nab`` at a checkout. Its runner needs
pandas, which Fireside does not install; ``--python`` names an interpreter that has it. In a
scratch directory this script

1. lets NAB's own null detector write its results (``run.py -d null --detect``), which NAB's
   normalisation reads;
2. runs ``--optimize --score --normalize`` for ``fireside`` (the threshold chosen with the labels,
   as for every published detector);
3. writes 0.5 as ``fireside_alerts``' threshold for every profile and runs ``--score
   --normalize`` for it (label-free; NAB splits names at "_", so it is reported as detector
   ``fireside``, profiles ``alerts_standard`` …);

then prints NAB's figures beside the ones in ``RESULTS/summary.json`` and exits 1 if any differs
by more than 0.01.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")


def run_nab(python: str, nab: Path, work: Path, data: Path, windows: Path, profiles: Path, *args: str) -> None:
    command = [python, str(nab / "run.py"), "--skipConfirmation", "--dataDir", str(data), "--resultsDir",
               str(work / "results"), "--windowsFile", str(windows), "--profilesFile", str(profiles),
               "--thresholdsFile", str(work / "thresholds.json"), "-n", "2", *args]
    subprocess.run(command, cwd=nab, check=True, stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nab", type=Path, required=True, help="a checkout of github.com/numenta/NAB")
    parser.add_argument("--results", type=Path, required=True, help="eval/nab.py's --out folder")
    parser.add_argument("--data", type=Path, required=True, help="the NAB data folder eval/nab.py ran on")
    parser.add_argument("--labels", type=Path, help="combined_windows.json; default DATA/../labels/…")
    parser.add_argument("--profiles", type=Path, help="profiles.json; default DATA/../config/profiles.json")
    parser.add_argument("--python", default=sys.executable, help="an interpreter with pandas installed")
    parser.add_argument("--keep", type=Path, help="keep NAB's working folder here")
    args = parser.parse_args(argv)

    windows = (args.labels or args.data.parent / "labels" / "combined_windows.json").resolve()
    profiles = (args.profiles or args.data.parent / "config" / "profiles.json").resolve()
    data, nab = args.data.resolve(), args.nab.resolve()
    ours = json.loads((args.results / "summary.json").read_text())["all"]
    work = Path(tempfile.mkdtemp(prefix="nab-official-"))
    try:
        (work / "results").mkdir()
        for detector in ("fireside", "fireside_alerts"):
            shutil.copytree(args.results / detector, work / "results" / detector)
        (work / "thresholds.json").write_text("{}")
        run_nab(args.python, nab, work, data, windows, profiles, "-d", "null", "--detect")
        run_nab(args.python, nab, work, data, windows, profiles, "-d", "null,fireside", "--optimize", "--score",
                "--normalize")
        # NAB's final_results.json is keyed by the name before the first "_", and each run replaces
        # that key: read it after each run.
        final = json.loads((work / "results" / "final_results.json").read_text())["fireside"]
        thresholds = json.loads((work / "thresholds.json").read_text())
        thresholds["fireside_alerts"] = {p: {"threshold": 0.5, "score": 0.0} for p in PROFILES}
        (work / "thresholds.json").write_text(json.dumps(thresholds, indent=2))
        run_nab(args.python, nab, work, data, windows, profiles, "-d", "null,fireside_alerts", "--score",
                "--normalize")
        final.update(json.loads((work / "results" / "final_results.json").read_text())["fireside"])
        if args.keep:
            shutil.copytree(work, args.keep, dirs_exist_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    worst = 0.0
    print(f"{'detector':16} {'profile':20} {'NAB (official)':>15} {'eval/nab.py':>12}")
    for detector, prefix in (("fireside", ""), ("fireside_alerts", "alerts_")):
        for profile in PROFILES:
            official = final[prefix + profile]
            port = ours[detector][profile]["score"]
            worst = max(worst, abs(official - port))
            print(f"{detector:16} {profile:20} {official:15.4f} {port:12.2f}")
    print(f"largest difference: {worst:.4f}")
    return 0 if worst <= 0.01 else 1


if __name__ == "__main__":
    sys.exit(main())

"""Run every benchmark, each timing part with the background training paused (bench/quiet.sh).

    .venv/bin/python -m bench                        # everything, about 6 minutes, ~4.5 of them paused
    .venv/bin/python -m bench --parts models load    # some parts
    .venv/bin/python -m bench --no-quiet             # on a machine with no training to pause

Each paused command is short (the longest, the 60 s load test, pauses ~75 s).
Results: bench/out/results/*.json while running, then archived with the
printed report to bench/out/run-<time>/. bench/RESULTS.md is written from
these by hand, with the analysis.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time

from bench import load, models, pipeline, png_speed, training_speed
from bench.common import OUT, PYTHON, RESULTS, ROOT, load_results

BEFORE_COMMIT = "7e25702"  # colorizer/ as it was before this benchmark's optimisations
PARTS = ("models", "pipeline", "png", "load", "training")


def step(command: list[str], quiet: bool) -> None:
    """Run one part's command, paused-training around it unless quiet is off."""
    command = [PYTHON, "-m", *command]
    if quiet:
        command = [str(ROOT / "bench" / "quiet.sh"), *command]
    print("$", " ".join(command).replace(str(ROOT) + "/", ""), flush=True)
    subprocess.run(command, cwd=ROOT, check=True)


def before_tree() -> str:
    """colorizer/ at BEFORE_COMMIT, unpacked under bench/out/before/ (for the before/after rows)."""
    target = OUT / "before"
    if not (target / "colorizer").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", BEFORE_COMMIT, "colorizer"], cwd=ROOT, capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return str(target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--no-quiet", dest="quiet", action="store_false", help="do not pause the training")
    parser.add_argument("--no-before", dest="before", action="store_false",
                        help=f"skip the pipeline rows for the code before optimisation ({BEFORE_COMMIT})")
    args = parser.parse_args()
    shutil.rmtree(RESULTS, ignore_errors=True)
    if "models" in args.parts:
        step(["bench.models", "--prepare"], quiet=False)  # exports and MAC counts: no timing
        for name in models.NAMES:
            step(["bench.models", "--models", name], args.quiet)
    if "pipeline" in args.parts:
        for path in ("library", "api"):
            step(["bench.pipeline", "--paths", path], args.quiet)
        step(["bench.pipeline", "--paths", "library", "--inputs", "colour", "--sizes", "1", "12"], args.quiet)
        if args.before:
            step(["bench.pipeline", "--paths", "library", "--src", before_tree(), "--label", "before"], args.quiet)
    if "png" in args.parts:
        step(["bench.png_speed"], args.quiet)
    if "load" in args.parts:
        step(["bench.load"], args.quiet)
    if "training" in args.parts:
        for size in ("256", "128"):
            step(["bench.training_speed", "--size", size], args.quiet)
    reports = {"models": lambda r: models.report(r, models.load_info()), "pipeline": pipeline.report,
               "png": png_speed.report, "load": load.report, "training": training_speed.report}
    text = "\n\n".join(f"## {part}\n\n{reports[part](load_results(part))}" for part in args.parts)
    print(text)
    (RESULTS / "report.md").write_text(text + "\n")
    archive = OUT / time.strftime("run-%Y%m%d-%H%M%S")
    shutil.copytree(RESULTS, archive)
    print(f"results in {archive.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()

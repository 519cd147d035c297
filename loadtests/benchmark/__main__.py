"""`python -m loadtests.benchmark`: measure, then report (see the package's docstring)."""

from __future__ import annotations

import argparse
import shutil
import sys

from harness.loopback import ROOT

from . import __doc__ as DESCRIPTION
from .measure import measure_all
from .ratios import (
    ratios,
)
from .report import CHART, HISTORY, RESULTS, record, write_results
from .targets import compose_target, loopback_target


def main() -> int:
    parser = argparse.ArgumentParser(description=DESCRIPTION.split("\n\n")[0])
    parser.add_argument(
        "--stack",
        choices=("compose", "loopback"),
        default="compose",
        help="what to measure (default: the production compose stack)",
    )
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument(
        "--large", type=int, default=1_000_000, help="rows in posts and in tasks for the large run"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench: wrk is not installed (apt-get install wrk)")
    start = compose_target if args.stack == "compose" else loopback_target
    with start() as target:
        measured = measure_all(target, args.seconds, args.large)
    found = ratios(measured.runs)
    write_results(args.stack, measured.runs, found, measured.worker_memory, measured.machine)
    record(args.stack, measured.runs, found)
    missed = sum(not r.met for r in found)
    print(
        f"\nbench: written to {RESULTS.relative_to(ROOT)}, appended to "
        f"{HISTORY.relative_to(ROOT)}, charted in {CHART.relative_to(ROOT)}; "
        f"{len(found) - missed} targets met, {missed} missed"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

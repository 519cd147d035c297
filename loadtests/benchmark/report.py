"""Where a run's figures go: the table printed and written to RESULTS.md, the
history of every run, and the chart of the ratios over the runs."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime

from harness.loopback import ROOT

from .load import Run
from .ratios import Ratio, ratio_table
from .targets import STACKS

RESULTS = ROOT / "loadtests/RESULTS.md"
HISTORY = ROOT / "loadtests/history.jsonl"
CHART = ROOT / "loadtests/ratios.svg"


def table(runs: list[Run]) -> str:
    lines = [
        "| measurement | rows | requests/s | p50 ms | p99 ms | errors |",
        "|---|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.name} | {r.rows} | {r.requests_per_second:,.0f} | {r.p50_ms:.1f} | "
        f"{r.p99_ms:.1f} | {r.errors} |"
        for r in runs
    ]
    return "\n".join(lines)


def record(stack: str, runs: list[Run], found: list[Ratio]) -> None:
    """Append this run to the history and chart every run's ratios so far."""
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    entry = {
        "time": f"{datetime.now(UTC):%Y-%m-%dT%H:%MZ}",
        "stack": stack,
        "commit": commit or "unknown",
        "ratios": {r.label: round(r.value, 3) for r in found},
        "shares": {r.label: round(r.share, 3) for r in found},
        "runs": [vars(r) for r in runs],
    }
    with HISTORY.open("a") as history:
        history.write(json.dumps(entry, ensure_ascii=False) + "\n")
    chart([json.loads(line) for line in HISTORY.read_text().splitlines() if line.strip()])


def chart(history: list[dict]) -> None:
    """Each ratio as a share of its target over the runs: above 1, met."""
    import matplotlib

    matplotlib.use("Agg")  # no display: a file
    from matplotlib import pyplot

    labels = sorted({label for entry in history for label in entry["shares"]})
    figure, axes = pyplot.subplots(figsize=(11, 6))
    ticks = [f"{e['time'][:16]}\n{e['stack']} {e['commit']}" for e in history]
    for label in labels:
        points = [(i, e["shares"][label]) for i, e in enumerate(history) if label in e["shares"]]
        axes.plot(*zip(*points, strict=True), marker="o", label=label)
    axes.axhline(1, color="black", linewidth=1, linestyle="--")
    axes.set_yscale("log")
    axes.set_ylabel("share of target (≥ 1: met; log scale)")
    axes.set_xticks(range(len(history)), ticks, fontsize=7)
    axes.set_title("make bench: each ratio against its target, run by run")
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    figure.tight_layout()
    figure.savefig(CHART, format="svg", metadata={"Date": None})
    pyplot.close(figure)


def write_results(
    stack: str, runs: list[Run], found: list[Ratio], memory: list[float], machine: str
) -> str:
    """The run's report, printed and put between the stack's markers in RESULTS.md."""
    memory_line = ", ".join(f"{mb:.0f}" for mb in memory)
    report = "\n\n".join(
        [
            f"Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {STACKS[stack]}. {machine}.",
            table(runs),
            ratio_table(found),
            f"Resident memory of each gunicorn worker after the runs (MB): {memory_line} "
            f"(target: under 120).",
        ]
    )
    print("\n" + report)
    begin, end = f"<!-- bench:{stack}:begin -->", f"<!-- bench:{stack}:end -->"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if begin not in text:
        text += f"\n{begin}\n{end}\n"
    before, _, rest = text.partition(begin)
    _, _, after = rest.partition(end)
    RESULTS.write_text(f"{before}{begin}\n{report}\n{end}{after}")
    return report

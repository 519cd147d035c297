"""The load generators: wrk for peak rates, hey for a paced rate."""

from __future__ import annotations

import csv
import io
import re
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

# The Host every request names: nginx and the app answer only their own names,
# and wrk reaches the containers by address. One User-Agent for every client,
# hey's own (Debian's hey sends it whatever -H says): Flask-Login ties a session
# to the browser that signed in, and a session seen from another is marked
# "not fresh" and its cookie written anew on every answer, which no real
# browser's requests cost.
SITE = {"Host": "localhost", "User-Agent": "hey/0.0.1"}
CONNECTIONS = 50
PACERS = 25  # hey processes sharing a paced rate (see paced)
WARM_UP_SECONDS = 2  # a paced run's start, sent and not counted (see paced)


@dataclass
class Run:
    name: str
    rows: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


# What wrk sends to measure task creation: a POST with a JSON body.
CREATE_TASK = Path(__file__).with_name("create_task.lua")


def wrk(
    url: str,
    seconds: int,
    headers: dict[str, str] | None = None,
    connections: int = CONNECTIONS,
    script: Path | None = None,
) -> tuple[float, float, float, int]:
    command = [
        "wrk",
        "--threads",
        str(min(2, connections)),
        "--connections",
        str(connections),
        "--duration",
        f"{seconds}s",
        "--latency",
        "--timeout",
        "5s",
    ]
    for name, value in {**SITE, **(headers or {})}.items():
        command += ["--header", f"{name}: {value}"]
    if script:
        command += ["--script", str(script)]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout

    def found(pattern: str) -> re.Match[str]:
        match = re.search(pattern, output, re.M)
        if match is None:
            raise SystemExit(f"bench: wrk's output has no {pattern!r}:\n{output}")
        return match

    rps = float(found(r"Requests/sec:\s+([\d.]+)")[1])

    def percentile(label: str) -> float:
        value, unit = found(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\b").groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), "
        r"timeout (\d+)",
        output,
    )
    count = int(errors.group(1)) if errors else 0
    if socket_errors:
        count += sum(int(n) for n in socket_errors.groups())
    return rps, percentile("50%"), percentile("99%"), count


def paced(
    url: str, seconds: int, rate: float, headers: dict[str, str] | None = None
) -> tuple[float, float, float, int]:
    """``rate`` requests/s in all, evenly spread: latency below saturation.

    hey paces each worker by its own clock, and workers started together send
    together, a burst every period. So PACERS hey processes of one worker
    each start a fraction of the period apart, and requests arrive evenly.

    The first WARM_UP_SECONDS are sent but not counted: PACERS clients
    opening their TLS connections at once, and nginx and the pool opening
    theirs behind them, is a start no steady load has. It was most of the
    slow answers of a run (86 of the 87 over 100 ms in one of 30 s).
    """
    each = rate / PACERS
    run = seconds + WARM_UP_SECONDS
    command = ["hey", "-z", f"{run}s", "-c", "1", "-q", f"{each:.3f}", "-t", "5", "-o", "csv"]
    command += ["-host", SITE["Host"]]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    pacers = []
    for _ in range(PACERS):
        pacers.append(
            subprocess.Popen([*command, url], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        )
        time.sleep(1 / each / PACERS)
    times, failed = [], 0
    for pacer in pacers:
        output, _ = pacer.communicate(timeout=run + 60)
        for row in csv.DictReader(io.StringIO(output.decode())):
            if float(row["offset"]) < WARM_UP_SECONDS:
                continue
            times.append(float(row["response-time"]) * 1000)
            failed += not row["status-code"].startswith(("2", "3"))
    if len(times) < 100:
        raise SystemExit(f"bench: only {len(times)} answers at {rate:,.0f}/s from {url}")
    cuts = statistics.quantiles(times, n=100)
    return len(times) / seconds, cuts[49], cuts[98], failed

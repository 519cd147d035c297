"""The load generator: wrk, at its peak rate or at a paced one."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

# The Host every request names: nginx and the app answer only their own names,
# and wrk reaches the containers by address. One User-Agent for every request,
# the sign-in's included (it was hey's, which paced the f rows once and sends
# its own whatever -H says): Flask-Login ties a session to the browser that
# signed in, and a session seen from another is marked "not fresh" and its
# cookie written anew on every answer, which no real browser's requests cost.
SITE = {"Host": "localhost", "User-Agent": "hey/0.0.1"}
CONNECTIONS = 50
PACERS = 25  # connections sharing a paced rate (see paced)
WARM_UP_SECONDS = 3  # a paced run's first, to learn its latency (see paced)


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
# wrk at a steady rate (paced).
PACED = Path(__file__).with_name("paced.lua")


def wrk(
    url: str,
    seconds: int,
    headers: dict[str, str] | None = None,
    connections: int = CONNECTIONS,
    script: Path | list[str] | None = None,
) -> tuple[float, float, float, int]:
    """Requests/s, p50 and p99 in ms, and failures; ``script`` is a Lua file,
    or one and its arguments (wrk's ``--script FILE URL -- ARGS``)."""
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
    file, *script_args = script if isinstance(script, list) else [script]
    if file:
        command += ["--script", str(file)]
    output = subprocess.run(
        [*command, url, *map(str, script_args)], capture_output=True, text=True, check=True
    ).stdout

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
    url: str, seconds: int, rate: float, opening: str, headers: dict[str, str] | None = None
) -> tuple[float, float, float, int]:
    """``rate`` requests/s in all, evenly spread: latency below saturation.

    wrk with paced.lua: PACERS connections, each pausing before each request
    so that its requests come PACERS / rate apart, and each connection's
    first request for ``opening`` (a small static file), as wrk sends those
    all at once. A first run of WARM_UP_SECONDS learns how long a request
    takes (the pause is that much shorter, so the rate is met) and warms
    nginx and the pool.

    hey, which paced this before, cost 1.0 ms of CPU per request on the two
    cores the stack has (25 processes), wrk 0.2 ms: at "70 % of peak" the
    machine ran near its limit, and its queue was what the p99 measured.
    """
    apart_ms = PACERS / rate * 1000
    # Openings per wrk thread, rounded up: 25 connections on 2 threads are 13
    # and 12, and every connection's first request must be the opening.
    openings = -(-PACERS // min(2, PACERS))
    script = [str(PACED), "--", f"{apart_ms:.3f}", opening, str(openings)]
    warm = wrk(url, WARM_UP_SECONDS, headers, PACERS, script)
    taken_ms = max(0.0, PACERS / warm[0] * 1000 - apart_ms)  # a request, and wrk's turn
    script[2] = f"{max(0.0, apart_ms - taken_ms):.3f}"
    result = wrk(url, seconds, headers, PACERS, script)
    print(f"bench: paced at {result[0]:,.0f} requests/s (asked {rate:,.0f})", flush=True)
    return result

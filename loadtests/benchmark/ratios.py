"""What is measured, by name, and the ratios between measurements that the
targets are set in."""

from __future__ import annotations

from dataclasses import dataclass

from .load import Run

SEARCH_QUERY = "garden+river"
# The search that used to read every post, at its costliest: a phrase of two
# words that are each in most posts, checked in every post of the window it
# reads (bulletin/services/search.py). 26.5 ms p50 at 1M posts on one
# connection, straight to gunicorn, on this team's machine; 'garden river'
# (SEARCH_QUERY, many matches to rank and highlight) measured 32.6 ms.
WORST_SEARCH = "%22garden+kitchen%22+-river"
DEEP = "half the posts deep"
HOME, TASKS, POSTS = "GET /", "GET /api/v1/tasks", "GET /api/v1/posts"
CREATE = "POST /api/v1/tasks"
SIGNED_IN = "signed in"
# Each route against the raw floor doing its work (loadtests/floor.py), and the
# share of it the app must reach.
FLOOR_SHARES = ((TASKS, 0.6), (CREATE, 0.6), (f"{HOME} {SIGNED_IN}", 0.4))
PACED = "70 % of peak"
# The (timestamp, id) of the post at an offset in the home feed's order.
KEY_AT = (
    "SELECT json_build_array(timestamp, id)::text FROM posts "
    "ORDER BY timestamp DESC, id DESC OFFSET {offset} LIMIT 1"
)


@dataclass
class Ratio:
    label: str
    value: float
    target: float
    at_least: bool  # the value must be at least the target (else at most)

    @property
    def met(self) -> bool:
        return self.value >= self.target if self.at_least else self.value <= self.target

    @property
    def share(self) -> float:
        """How far to the target, 1 meeting it exactly: for the chart."""
        if self.at_least:
            return self.value / self.target
        return self.target / self.value if self.value else 0.0


def ratios(runs: list[Run]) -> list[Ratio]:
    by = {(r.name, r.rows): r for r in runs}
    floor = by[("b. hello-world Flask, gunicorn", "–")].requests_per_second
    found: list[Ratio] = []

    def rps(name: str, rows: str) -> float:
        return by[(name, rows)].requests_per_second

    for rows in ("1k", "1M"):
        found.append(
            Ratio(
                f"d/c {TASKS} ({rows}): proxy's cost",
                rps(f"d. {TASKS}, nginx + TLS", rows) / rps(f"c. {TASKS}, gunicorn", rows),
                0.8,
                True,
            )
        )
        found.append(
            Ratio(
                f"d/c {HOME} ({rows}): visitors from nginx's page cache",
                rps(f"d. {HOME}, nginx + TLS", rows) / rps(f"c. {HOME}, gunicorn", rows),
                5,
                True,
            )
        )
    for rows in ("1k", "1M"):
        for route, share in FLOOR_SHARES:
            found.append(
                Ratio(
                    f"c/raw floor {route} ({rows})",
                    rps(f"c. {route}, gunicorn", rows)
                    / rps(f"b. raw floor {route}, gunicorn", rows),
                    share,
                    True,
                )
            )
    found.append(
        Ratio(
            f"c/b {TASKS} (1k): app's cost", rps(f"c. {TASKS}, gunicorn", "1k") / floor, 0.3, True
        )
    )
    found.append(
        Ratio(f"c/b {HOME} (1k): app's cost", rps(f"c. {HOME}, gunicorn", "1k") / floor, 0.2, True)
    )
    for route in (TASKS, HOME):
        name = f"c. {route}, gunicorn, 1 connection"
        found.append(
            Ratio(
                f"p50 1M/1k {route}, 1 connection",
                by[(name, "1M")].p50_ms / by[(name, "1k")].p50_ms,
                1.2,
                False,
            )
        )
    for route in (HOME, POSTS):
        first = by[(f"c. {route}, gunicorn, 1 connection", "1M")]
        deep = by[(f"c. {route} {DEEP}, gunicorn, 1 connection", "1M")]
        found.append(
            Ratio(f"p50 deep/first page {route} at 1M", deep.p50_ms / first.p50_ms, 1.5, False)
        )
    for route in (TASKS, f"{HOME} {SIGNED_IN}"):
        paced = by.get((f"f. {route}, nginx + TLS, {PACED}", "1M"))
        if paced:
            found.append(Ratio(f"p99 {route} at {PACED} (ms)", paced.p99_ms, 50, False))
    search = by.get(("e. GET /search, gunicorn, 1 connection", "1M"))
    if search:
        found.append(Ratio("p50 GET /search at 1M, 1 connection (ms)", search.p50_ms, 20, False))
    worst = by.get(("e. GET /search, the worst query, gunicorn, 1 connection", "1M"))
    if worst:
        found.append(Ratio("p50 worst search at 1M, 1 connection (ms)", worst.p50_ms, 50, False))
    return found


def ratio_table(found: list[Ratio]) -> str:
    lines = ["| ratio | value | target | |", "|---|---:|---|---|"]
    lines += [
        f"| {r.label} | {r.value:.2f} | {'≥' if r.at_least else '≤'} {r.target:g} | "
        f"{'met' if r.met else '**missed**'} |"
        for r in found
    ]
    return "\n".join(lines)

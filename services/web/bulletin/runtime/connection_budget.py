"""The connections budget: how many PostgreSQL connections this deployment
may open, derived in one place from the settings that multiply.

Each gunicorn worker has its own SQLAlchemy pool. A gthread worker serves
GUNICORN_THREADS requests at once, so a pool of that size never makes a
request wait, and DB_MAX_OVERFLOW adds a little room. The whole deployment
may hold WEB_REPLICAS x workers x (pool + overflow) connections, which must
stay under PostgreSQL's max_connections, less what others need (backups,
migrations, psql, superusers). Beyond that, put PgBouncer in front (README).
"""

from __future__ import annotations

import multiprocessing
from dataclasses import dataclass
from typing import Any

# Connections left for everything that is not a web worker: pg_dump,
# migrations, an operator's psql, and PostgreSQL's superuser reserve (3).
RESERVED = 10


# gthread threads per worker when GUNICORN_THREADS is unset: the requests a
# worker serves at once, and so the size of its connection pool.
DEFAULT_THREADS = 2


def default_workers() -> int:
    """gunicorn's workers when GUNICORN_WORKERS is unset (gunicorn.conf.py)."""
    return multiprocessing.cpu_count() * 2 + 1


@dataclass(frozen=True)
class Budget:
    replicas: int
    workers: int
    pool_size: int
    max_overflow: int

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Budget:
        return cls(
            replicas=config["WEB_REPLICAS"],
            workers=config["GUNICORN_WORKERS"] or default_workers(),
            pool_size=config["DB_POOL_SIZE"],
            max_overflow=config["DB_MAX_OVERFLOW"],
        )

    @property
    def connections(self) -> int:
        return self.replicas * self.workers * (self.pool_size + self.max_overflow)

    def problem(self, max_connections: int) -> str | None:
        """A sentence for the log when the budget exceeds what PostgreSQL allows."""
        available = max_connections - RESERVED
        if self.connections <= available:
            return None
        return (
            f"connections budget: {self.replicas} replica(s) x {self.workers} workers x "
            f"(DB_POOL_SIZE {self.pool_size} + DB_MAX_OVERFLOW {self.max_overflow}) = "
            f"{self.connections} connections may be opened, more than PostgreSQL's "
            f"max_connections {max_connections} less {RESERVED} kept for others; lower "
            "GUNICORN_WORKERS or the pool, raise max_connections, or put PgBouncer in "
            "front (README: Connections budget)"
        )

"""The connections budget: derived from the settings that multiply, and a
warning that names what to change when it exceeds PostgreSQL's limit."""

from bulletin.config import load_config
from bulletin.runtime.connection_budget import RESERVED, Budget


def test_pools_follow_gunicorns_threads_on_postgresql():
    config = load_config(
        "development",
        {"DATABASE_URL": "postgresql://u:p@db/bulletin", "GUNICORN_THREADS": "4"},
    )
    assert config.SQLALCHEMY_ENGINE_OPTIONS == {
        "pool_pre_ping": False,
        "pool_size": 4,
        "max_overflow": 2,
    }
    sqlite = load_config("development", {})
    assert sqlite.SQLALCHEMY_ENGINE_OPTIONS == {"pool_pre_ping": False}


def test_the_budget_multiplies_replicas_workers_and_pools():
    config = vars(
        load_config(
            "development",
            {"WEB_REPLICAS": "3", "GUNICORN_WORKERS": "5", "DB_POOL_SIZE": "2"},
        )
    )
    budget = Budget.from_config(config)
    assert budget.connections == 3 * 5 * (2 + 2)
    assert budget.problem(100) is None
    warning = budget.problem(60 + RESERVED - 1)
    assert warning
    assert "= 60 connections" in warning
    assert "PgBouncer" in warning

"""``flask jobs``: run the worker, see what waits or died, retry the dead."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from . import status
from .queue import job_queue
from .worker import healthy, run_worker

jobs_cli = AppGroup("jobs", help="The job queue: the worker, and what waits or died in it.")


def _database_queue() -> None:
    if job_queue().procrastinate is None:
        raise click.ClickException(
            "JOB_QUEUE is inline: jobs run in the web process as they are asked for, "
            "and none waits. The worker and this command need JOB_QUEUE=database "
            "(PostgreSQL)."
        )


@jobs_cli.command("worker")
@click.option("--concurrency", type=int, help="Jobs at once (default: JOB_WORKER_CONCURRENCY).")
@click.option("--until-empty", is_flag=True, help="Stop when no job is left, instead of waiting.")
def worker(concurrency: int | None, until_empty: bool) -> None:
    """Run jobs until SIGTERM; the jobs in hand are finished first."""
    _database_queue()
    run_worker(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        concurrency=concurrency or current_app.config["JOB_WORKER_CONCURRENCY"],
        wait=not until_empty,
    )


@jobs_cli.command("list")
@click.option("--dead", "only_dead", is_flag=True, help="Only the dead jobs.")
def list_jobs(only_dead: bool) -> None:
    """The jobs waiting, running and dead, oldest first."""
    _database_queue()
    statuses = [status.DEAD] if only_dead else ["todo", "doing", status.DEAD]
    rows = status.list_jobs(statuses)
    if not rows:
        click.echo("No jobs " + ("dead." if only_dead else "waiting, running or dead."))
        return
    click.echo(f"{'id':>8}  {'status':<8} {'tries':>5}  {'task':<26} {'due':<20} recipient")
    for row in rows:
        due = f"{row.scheduled_at:%Y-%m-%d %H:%M:%S}" if row.scheduled_at else "now"
        shown = "dead" if row.status == status.DEAD else row.status
        click.echo(
            f"{row.id:>8}  {shown:<8} {row.attempts:>5}  {row.task:<26} {due:<20} "
            f"{row.recipient or ''}"
        )


@jobs_cli.command("retry")
@click.argument("job_ids", nargs=-1, type=int)
@click.option("--all-dead", is_flag=True, help="Every dead job.")
def retry(job_ids: tuple[int, ...], all_dead: bool) -> None:
    """Queue dead jobs again (by id, or --all-dead), once what failed them is fixed."""
    _database_queue()
    if all_dead:
        job_ids = tuple(row.id for row in status.list_jobs([status.DEAD]))
    elif not job_ids:
        raise click.UsageError(
            "name the jobs to retry (ids from `flask jobs list --dead`) or --all-dead"
        )
    dead = {row.id for row in status.list_jobs([status.DEAD])}
    unknown = sorted(set(job_ids) - dead)
    if unknown:
        raise click.ClickException(
            f"not dead jobs: {', '.join(map(str, unknown))}; "
            "`flask jobs list --dead` shows the dead ones"
        )
    click.echo(f"Queued {status.retry(job_ids)} dead jobs again.")


@jobs_cli.command("health")
def health() -> None:
    """Exit 0 when this container's worker is alive (its health check)."""
    _database_queue()
    problem = healthy(max_silence=current_app.config["JOB_STALLED_SECONDS"])
    if problem:
        click.echo(f"unhealthy: {problem}", err=True)
        sys.exit(1)
    click.echo("healthy")

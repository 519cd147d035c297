"""To-do tasks: each user sees and changes only their own."""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, insert, select, true
from sqlalchemy.dialects import postgresql

from ..core.pagination import Listing
from ..extensions import db
from ..models import Role, Task, User, utcnow
from ..runtime.pool import autocommit, insert_once, request_key
from .api_tokens import CALLER_COLUMNS, Claims, caller_row

# What the API shows of a task, read as columns: no entity to build per row.
TASK_COLUMNS = (Task.id, Task.title, Task.description, Task.done, Task.created_at, Task.updated_at)


def tasks_of(owner_id: int, *, done: bool | None = None) -> Listing:
    """The owner's tasks, oldest first."""
    statement = select(Task).where(Task.owner_id == owner_id)
    if done is not None:
        statement = statement.where(Task.done.is_(done))
    return Listing(statement, keys=TASK_ORDER.keys, descending=TASK_ORDER.descending)


# Every list of tasks is in this order (the statement is the whole table's: the
# order and key are what a cursor is checked against).
TASK_ORDER = Listing(select(Task), keys=(Task.id,), descending=False)


def caller_and_tasks(
    claims: Claims, *, done: bool | None, after: int, limit: int
) -> tuple[Any, list[Any]]:
    """The token's caller (a row of CALLER_COLUMNS, or None) and up to ``limit``
    of their tasks (TASK_COLUMNS) with ids past ``after``, in id order.

    One statement, outside a transaction, on PostgreSQL: the caller's check
    and the page in one round trip, no BEGIN and no ROLLBACK. SQLite has no
    LATERAL join, so there it is two queries.
    """
    values = {"public_id": claims.public_id, "after": after, "limit": limit, "done": done}
    if db.engine.dialect.name != "postgresql":
        caller = caller_row(claims)
        if caller is None:
            return None, []
        page = db.session.execute(
            _own_page(done is not None), {**values, "owner": caller.caller_id}
        )
        return caller, list(page)
    with autocommit(db.engine) as connection:
        rows = connection.execute(_caller_with_page(done is not None), values).all()
    if not rows:
        return None, []
    first_task = len(CALLER_COLUMNS)  # a caller with no tasks has one row, its task NULL
    return rows[0], [row for row in rows if row[first_task] is not None]


def _page(statement: Select[Any], by_done: bool) -> Select[Any]:
    statement = statement.where(Task.id > bindparam("after"))
    if by_done:
        statement = statement.where(Task.done == bindparam("done"))
    return statement.order_by(Task.id).limit(bindparam("limit"))


@cache
def _own_page(by_done: bool) -> Select[Any]:
    return _page(select(*TASK_COLUMNS).where(Task.owner_id == bindparam("owner")), by_done)


@cache
def _caller_with_page(by_done: bool) -> Select[Any]:
    # Built once per shape: building a statement costs more than running it here.
    page = _page(select(*TASK_COLUMNS).where(Task.owner_id == User.id), by_done).lateral("page")
    return (
        select(*CALLER_COLUMNS, *page.c)
        .join(Role, User.role_id == Role.id)
        .outerjoin(page, true())
        .where(User.public_id == bindparam("public_id"))
        .order_by(page.c.id)
    )


def find_task(owner_id: int, task_id: int) -> Task | None:
    """The owner's task, or None: another user's task is as absent as a missing one."""
    return db.session.scalar(select(Task).where(Task.id == task_id, Task.owner_id == owner_id))


def create_task(*, owner_id: int, title: str, description: str = "", done: bool = False) -> Task:
    task = Task(owner_id=owner_id, title=title, description=description, done=done)
    db.session.add(task)
    db.session.commit()
    return task


def create_own_task(
    claims: Claims, *, title: str, description: str = "", done: bool = False
) -> Any | None:
    """A new task of the token's caller, as a row of TASK_COLUMNS; None when the
    token no longer stands (revoked, or its user gone or unconfirmed).

    One INSERT that reads the caller and returns the row: no separate check
    of the caller before it, and no reading the task back after the commit.
    On PostgreSQL it is one round trip, safe to run again (insert_once).
    """
    now = utcnow()
    values = {
        "public_id": claims.public_id,
        "version": claims.version,
        "title": title,
        "description": description,
        "done": done,
        "now": now,
        "request_key": request_key(),
    }
    if db.engine.dialect.name == "postgresql":
        again = _insert_own_task(skip_stored=True)
        return insert_once(db.engine, _insert_own_task(), again, _TASK_OF_REQUEST, values)
    row = db.session.execute(_insert_own_task(), values).one_or_none()
    db.session.commit()
    return row


@cache
def _insert_own_task(*, skip_stored: bool = False) -> Any:
    """The INSERT of create_own_task; ``skip_stored``: none when a row has its
    request key already (PostgreSQL's ON CONFLICT, for insert_once)."""
    now = bindparam("now", type_=Task.created_at.type)
    callers = select(
        User.id,
        bindparam("title", type_=Task.title.type),
        bindparam("description", type_=Task.description.type),
        bindparam("done", type_=Task.done.type),
        now,
        now,
        bindparam("request_key", type_=Task.request_key.type),
    ).where(
        User.public_id == bindparam("public_id"),
        User.token_version == bindparam("version"),
        User.confirmed.is_(True),
    )
    columns = [
        "owner_id",
        "title",
        "description",
        "done",
        "created_at",
        "updated_at",
        "request_key",
    ]
    # The table, not the entity: a plain INSERT, not the ORM's bulk insert of entities.
    table = cast(Table, Task.__table__)
    if not skip_stored:
        return insert(table).from_select(columns, callers).returning(*TASK_COLUMNS)
    statement = postgresql.insert(table).from_select(columns, callers)
    skipped = statement.on_conflict_do_nothing(
        index_elements=[table.c.request_key], index_where=table.c.request_key.is_not(None)
    )
    return skipped.returning(*TASK_COLUMNS)


# The task a request stored, found by its key (insert_once).
_TASK_OF_REQUEST = select(*TASK_COLUMNS).where(Task.request_key == bindparam("request_key"))


def update_task(task: Task, **changes: object) -> Task:
    """Apply ``changes`` (title, description, done); unknown names are a bug."""
    for name, value in changes.items():
        if name not in {"title", "description", "done"}:
            raise TypeError(f"tasks have no field {name!r}")
        setattr(task, name, value)
    db.session.commit()
    return task


def delete_task(task: Task) -> None:
    db.session.delete(task)
    db.session.commit()

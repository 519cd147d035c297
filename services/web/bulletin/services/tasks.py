"""To-do tasks: each user sees and changes only their own."""

from __future__ import annotations

from sqlalchemy import select

from ..core.pagination import Listing
from ..extensions import db
from ..models import Task


def tasks_of(owner_id: int, *, done: bool | None = None) -> Listing:
    """The owner's tasks, oldest first."""
    statement = select(Task).where(Task.owner_id == owner_id)
    if done is not None:
        statement = statement.where(Task.done.is_(done))
    return Listing(statement, keys=(Task.id,), descending=False)


def find_task(owner_id: int, task_id: int) -> Task | None:
    """The owner's task, or None: another user's task is as absent as a missing one."""
    return db.session.scalar(select(Task).where(Task.id == task_id, Task.owner_id == owner_id))


def create_task(*, owner_id: int, title: str, description: str = "", done: bool = False) -> Task:
    task = Task(owner_id=owner_id, title=title, description=description, done=done)
    db.session.add(task)
    db.session.commit()
    return task


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

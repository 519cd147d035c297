"""Your to-do tasks. Also served under the legacy prefix /todo/api/v1.0/."""

from __future__ import annotations

from flask import Blueprint, url_for

from ..errors import api_error
from ..models import Task
from ..services import tasks
from .auth import api_bearer, token_required, write_limit
from .blueprint import bp
from .paging import page_of
from .schemas import TaskCreate, TaskListArgs, TaskPage, TaskPatch, TaskPublic, TaskReplace


def _own_task_or_404(task_id: int) -> Task:
    task = tasks.find_task(api_bearer().id, task_id)
    if task is None:
        raise api_error(404, f"You have no task {task_id}.")
    return task


@bp.get("/tasks")
@token_required
@bp.arguments(TaskListArgs, location="query", as_kwargs=True)
@bp.response(200, TaskPage)
def list_tasks(**args):
    """List your tasks, oldest first; filter with done=true or done=false."""
    listing = tasks.tasks_of(api_bearer().id, done=args.get("done"))
    return page_of(listing, args, "api.list_tasks")


@bp.post("/tasks")
@token_required
@write_limit
@bp.arguments(TaskCreate)
@bp.response(201, TaskPublic, headers={"Location": {"schema": {"type": "string"}}})
def create_task(data):
    """Create a task."""
    task = tasks.create_task(owner_id=api_bearer().id, **data)
    return task, 201, {"Location": url_for("api.get_task", task_id=task.id, _external=True)}


@bp.get("/tasks/<id:task_id>")
@token_required
@bp.response(200, TaskPublic)
def get_task(task_id: int):
    """Show one of your tasks."""
    return _own_task_or_404(task_id)


@bp.put("/tasks/<id:task_id>")
@token_required
@write_limit
@bp.arguments(TaskReplace)
@bp.response(200, TaskPublic)
def replace_task(data, task_id: int):
    """Replace a task; fields left out take their defaults."""
    return tasks.update_task(_own_task_or_404(task_id), **data)


@bp.patch("/tasks/<id:task_id>")
@token_required
@write_limit
@bp.arguments(TaskPatch)
@bp.response(200, TaskPublic)
def update_task(data, task_id: int):
    """Change some fields of a task."""
    return tasks.update_task(_own_task_or_404(task_id), **data)


@bp.delete("/tasks/<id:task_id>")
@token_required
@write_limit
@bp.response(204)
def delete_task(task_id: int):
    """Delete a task."""
    tasks.delete_task(_own_task_or_404(task_id))


# The same views at the prefix older clients use; left out of the OpenAPI document.
legacy_bp = Blueprint("legacy_api", __name__, url_prefix="/todo/api/v1.0")
legacy_bp.add_url_rule("/tasks", "list_tasks", list_tasks, methods=["GET"])
legacy_bp.add_url_rule("/tasks", "create_task", create_task, methods=["POST"])
legacy_bp.add_url_rule("/tasks/<id:task_id>", "get_task", get_task, methods=["GET"])
legacy_bp.add_url_rule("/tasks/<id:task_id>", "replace_task", replace_task, methods=["PUT"])
legacy_bp.add_url_rule("/tasks/<id:task_id>", "update_task", update_task, methods=["PATCH"])
legacy_bp.add_url_rule("/tasks/<id:task_id>", "delete_task", delete_task, methods=["DELETE"])

"""Your to-do tasks. Also served under the legacy prefix /todo/api/v1.0/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, g

from ..core.pagination import forward_key, forward_page
from ..errors import api_error
from ..models import Task
from ..runtime.json_provider import json_response
from ..services import tasks
from ..services.api_tokens import caller_row
from ..web.urls import row_urls
from .auth import api_bearer, caller_checked, check_caller_row, token_required, write_limit
from .blueprint import bp
from .paging import links_of, page_of
from .schemas import TaskCreate, TaskListArgs, TaskPage, TaskPatch, TaskPublic, TaskReplace


def _own_task_or_404(task_id: int) -> Task:
    task = tasks.find_task(api_bearer().id, task_id)
    if task is None:
        raise api_error(404, f"You have no task {task_id}.")
    return task


@bp.get("/tasks")
@token_required(caller_in_view=True)
@bp.arguments(TaskListArgs, location="query", as_kwargs=True)
@bp.response(200, TaskPage)
def list_tasks(**args):
    """List your tasks, oldest first; filter with done=true or done=false."""
    done = args.get("done")
    after = forward_key(tasks.TASK_ORDER, args.get("cursor"), args.get("page"))
    if after is None:  # a page back, or an old numbered one: the general way
        return page_of(tasks.tasks_of(api_bearer().id, done=done), args, "api.list_tasks")
    # The hot path, the first page and the next ones: the caller's check and
    # the page in one round trip, the answer written straight from the rows.
    caller, rows = tasks.caller_and_tasks(
        g.api_claims, done=done, after=after[0] if after else 0, limit=args["per_page"] + 1
    )
    check_caller_row(caller)
    page = forward_page(tasks.TASK_ORDER, rows, args["per_page"], after)
    uri = task_uris()
    body = {
        "items": [task_json(row, uri) for row in page.items],
        "per_page": page.per_page,
        "links": links_of(page, args, "api.list_tasks"),
    }
    return json_response(body)


def task_uris() -> Callable[[object], str]:
    return row_urls("api.get_task", "task_id", external=True)


def task_json(row: Any, uri: Callable[[object], str] | None = None) -> dict[str, Any]:
    """TaskPublic's dump of a row that ends in tasks.TASK_COLUMNS (the list's
    rows have the caller's columns first), without marshmallow; ``uri`` from
    task_uris() for a list of them. Read by position: a Row's names cost a
    microsecond each, seven times a task."""
    id_, title, description, done, created_at, updated_at = row[-len(tasks.TASK_COLUMNS) :]
    return {
        "id": id_,
        "title": title,
        "description": description,
        "done": done,
        "created_at": created_at,
        "updated_at": updated_at,
        "uri": (uri or task_uris())(id_),
    }


@bp.post("/tasks")
@token_required(caller_in_view=True)
@write_limit
@bp.arguments(TaskCreate)
@bp.response(201, TaskPublic, headers={"Location": {"schema": {"type": "string"}}})
def create_task(data):
    """Create a task."""
    task = tasks.create_own_task(g.api_claims, **data)
    if task is None:  # the insert found no caller: the check, alone, says why
        check_caller_row(caller_row(g.api_claims))
        raise api_error(401, "The token has been revoked: request a new one.")
    caller_checked()  # by the insert's own WHERE
    body = task_json(task)
    return json_response(body, 201, {"Location": body["uri"]})


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

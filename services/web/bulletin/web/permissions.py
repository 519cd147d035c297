"""View decorators for permission checks."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user, login_required

from ..models import Permission


def permission_required(permission: Permission) -> Callable:
    """Require a signed-in user whose role grants ``permission``; else 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.can(permission):
                abort(403, description="Your account does not have permission to do this.")
            return view(*args, **kwargs)

        return wrapped

    return decorator


def admin_required(view: Callable) -> Callable:
    return permission_required(Permission.ADMIN)(view)

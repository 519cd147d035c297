"""Business rules shared by the HTML views, the API and the command line.

Service functions take keyword arguments, own the commit, and raise
``ServiceError`` for a request that breaks a rule, with a message for the user.
Views do not catch them: bulletin/errors.py answers each with its ``status``
(JSON for the API, the message flashed on the page for browsers).
"""

from __future__ import annotations


class ServiceError(Exception):
    """A rule the request breaks; ``field`` names the input at fault, if one is."""

    status = 422  # understood, but not allowed by the rules

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Forbidden(ServiceError):
    """The user may not do this (someone else's post, a missing permission)."""

    status = 403


class Conflict(ServiceError):
    """The request clashes with stored data (a taken email or username)."""

    status = 409


class TooManyAttempts(ServiceError):
    """A limit on attempts is spent; ``retry_after`` seconds until the next may be made."""

    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

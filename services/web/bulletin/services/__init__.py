"""Business rules shared by the HTML views, the API and the command line.

Service functions take keyword arguments, own the commit, and raise
``ServiceError`` for a request that breaks a rule, with a message for the user.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A rule the request breaks; ``field`` names the input at fault, if one is."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Conflict(ServiceError):
    """The request clashes with stored data (a taken email or username)."""


class TooManyAttempts(ServiceError):
    """A limit on attempts is spent; ``retry_after`` seconds until the next may be made."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

"""Signed, expiring tokens for the links that emails carry."""

from __future__ import annotations

from typing import Any

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    # The salt keeps a token for one purpose from being accepted for another.
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"bulletin.{purpose}")


def make_token(purpose: str, payload: dict[str, Any]) -> str:
    return _serializer(purpose).dumps(payload)


def read_token(purpose: str, token: str, max_age: int) -> dict[str, Any] | None:
    """The payload, or None when the token is forged, for another purpose or expired."""
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age)
    except BadData:
        return None
    return payload if isinstance(payload, dict) else None

"""API bearer tokens: signed JWTs naming the user and the user's token version.

Raising ``User.token_version`` (sign-out of the API, password change)
revokes every token issued before, without a table of tokens.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from flask import current_app
from sqlalchemy import select

from ..core.kept import Kept
from ..extensions import db
from ..models import Permission, Role, User, utcnow

AUDIENCE = "bulletin-api"
ALGORITHM = "HS256"


def signing_key(secret_key: str) -> bytes:
    """A 32-byte key of its own, derived from SECRET_KEY.

    Tokens signed with it cannot pass for the app's other signed values,
    and it meets HS256's key length whatever length SECRET_KEY has.
    """
    return hashlib.sha256(b"bulletin.api-token:" + secret_key.encode()).digest()


def _signing_key() -> bytes:
    return signing_key(current_app.config["SECRET_KEY"])


@dataclass(frozen=True)
class Bearer:
    """Who a token speaks for, as one light row rather than a User entity:
    most API reads need only the id and the permissions."""

    id: int
    confirmed: bool
    permissions: int

    def can(self, permission: Permission) -> bool:
        return permission.granted_by(self.permissions)


class InvalidToken(Exception):
    """The token is malformed, forged, expired or revoked; the message says which."""


def issue_token(user: User) -> tuple[str, int]:
    """A new token for ``user`` and its lifetime in seconds."""
    ttl = current_app.config["API_TOKEN_TTL"]
    now = utcnow()
    claims = {
        "sub": str(user.public_id),
        "ver": user.token_version,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + timedelta(seconds=ttl),
    }
    return jwt.encode(claims, _signing_key(), algorithm=ALGORITHM), ttl


@dataclass(frozen=True)
class Claims:
    """What a token's signature vouches for; whether it still stands is the
    database's to say (``check_caller``)."""

    public_id: uuid.UUID
    version: int


EXPIRED = "The token has expired: request a new one."
# Tokens whose signature and audience were checked, with their claims and
# expiry, under the token and the key that checked them. A client sends one
# token for up to an hour, and PyJWT's checks cost about 80 µs a request.
_checked: Kept[tuple[Claims, float]] = Kept(1024)


def claims_of(token: str) -> Claims:
    """The token's claims, checked without the database: signature, audience,
    expiry. Whether they still stand is check_caller's, on every request."""
    key = _signing_key()
    checked = _checked.get((token, key))
    if checked is None:
        checked = _checked.keep((token, key), _checked_claims(token, key))
    claims, expires_at = checked
    if time.time() >= expires_at:  # as PyJWT: expired at its exp
        raise InvalidToken(EXPIRED)
    return claims


def _checked_claims(token: str, key: bytes) -> tuple[Claims, float]:
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["sub", "exp", "ver"]},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken(EXPIRED) from None
    except jwt.InvalidTokenError:
        raise InvalidToken("The token is not valid.") from None
    try:
        return Claims(uuid.UUID(str(claims["sub"])), claims["ver"]), float(claims["exp"])
    except ValueError:
        raise InvalidToken("The token is not valid.") from None


# The caller's row as check_caller reads it: a view may put these columns in
# its own query to save a round trip (services/tasks.py).
CALLER_COLUMNS = (
    User.id.label("caller_id"),
    User.confirmed.label("caller_confirmed"),
    User.token_version.label("caller_version"),
    Role.permissions.label("caller_permissions"),
)


def check_caller(claims: Claims, row: Any) -> Bearer:
    """The token's user from a row of CALLER_COLUMNS (None: no such user),
    read afresh on every request so a revoked token fails at once."""
    if row is None or claims.version != row.caller_version:
        raise InvalidToken("The token has been revoked: request a new one.")
    return Bearer(row.caller_id, row.caller_confirmed, row.caller_permissions)


def caller_row(claims: Claims) -> Any:
    """The CALLER_COLUMNS of the token's user, or None."""
    return db.session.execute(
        select(*CALLER_COLUMNS)
        .join(Role, User.role_id == Role.id)
        .where(User.public_id == claims.public_id)
    ).one_or_none()


def revoke_tokens(user: User) -> None:
    """Invalidate every token issued to ``user`` so far."""
    user.token_version += 1
    db.session.commit()

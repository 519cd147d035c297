"""Accounts: roles and their permissions, users, follows and login sessions."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import IntFlag
from typing import cast

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, Uuid, func
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..extensions import Model
from .types import UTCDateTime, utcnow


class Permission(IntFlag):
    FOLLOW = 1
    COMMENT = 2
    WRITE = 4
    MODERATE = 8
    ADMIN = 16

    def granted_by(self, permissions: int) -> bool:
        """Whether a role's permission bits include this one."""
        return permissions & self == self


# The roles the initial migration inserts; a change here needs a migration.
ROLE_PERMISSIONS: dict[str, Permission] = {
    "User": Permission.FOLLOW | Permission.COMMENT | Permission.WRITE,
    "Moderator": Permission.FOLLOW | Permission.COMMENT | Permission.WRITE | Permission.MODERATE,
    "Administrator": Permission.FOLLOW
    | Permission.COMMENT
    | Permission.WRITE
    | Permission.MODERATE
    | Permission.ADMIN,
}
DEFAULT_ROLE = "User"


class Role(Model):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    default: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    permissions: Mapped[int] = mapped_column(Integer, default=0)

    def has_permission(self, permission: Permission) -> bool:
        return permission.granted_by(self.permissions)

    def __repr__(self) -> str:
        return f"<Role {self.name}>"


class User(UserMixin, Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    # Stored lower-cased (see normalize_email), so the unique constraint is case-insensitive.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    # The rule (bulletin/core/usernames.py) is also a CHECK: migration b81d3f6a2c47.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(64))
    location: Mapped[str | None] = mapped_column(String(64))
    about_me: Mapped[str | None] = mapped_column(Text)
    member_since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Raised to revoke every API token issued before it.
    token_version: Mapped[int] = mapped_column(Integer, default=0)

    role: Mapped[Role] = relationship(lazy="joined", innerjoin=True)

    # Set when the user is loaded for a login session; Flask-Login stores it.
    login_session_id = cast("str | None", None)  # not a column; set by services.accounts

    @validates("email")
    def _normalize_email(self, _key: str, value: str) -> str:
        return normalize_email(value)

    def get_id(self) -> str | None:
        """Identify the login session, not the user, so logout can revoke it."""
        return self.login_session_id

    def can(self, permission: Permission) -> bool:
        return self.role.has_permission(permission)

    @property
    def is_administrator(self) -> bool:
        return self.can(Permission.ADMIN)

    def __repr__(self) -> str:
        return f"<User {self.username}>"


def normalize_email(email: str) -> str:
    return email.strip().lower()


# Usernames keep their case but are unique without it; the database enforces
# it, so two sign-ups racing as "Alice" and "alice" cannot both succeed.
Index("uq_users_username_lower", func.lower(User.username), unique=True)


class LoginSession(Model):
    """One signed-in browser. Deleting the row ends that session and its remember cookie."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Every session ends REMEMBER_COOKIE_DURATION after sign-in; one without
    # "remember me" ends sooner, after SESSION_IDLE_TIMEOUT without a request.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    remember: Mapped[bool] = mapped_column(Boolean, default=False)


class Follow(Model):
    __tablename__ = "follows"
    __table_args__ = (Index("ix_follows_followed_id_follower_id", "followed_id", "follower_id"),)

    follower_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    followed_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    follower: Mapped[User] = relationship(foreign_keys=[follower_id])
    followed: Mapped[User] = relationship(foreign_keys=[followed_id])

"""Personal to-do tasks, served by the JSON API."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model
from .types import UTCDateTime, utcnow

TITLE_MAX = 200
DESCRIPTION_MAX = 2000


class Task(Model):
    __tablename__ = "tasks"
    __table_args__ = (
        # Every task query is one owner's tasks, in id order, sometimes by done.
        Index("ix_tasks_owner_id_id", "owner_id", "id"),
        Index("ix_tasks_owner_id_done_id", "owner_id", "done", "id"),
        # One task per request key; only the API's creations have one.
        Index(
            "ix_tasks_request_key",
            "request_key",
            unique=True,
            postgresql_where=text("request_key IS NOT NULL"),
            sqlite_where=text("request_key IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # The key of the request that stored it (runtime/pool.py: insert_once): a
    # request cut by a database restart runs again and finds this row instead
    # of storing a second.
    request_key: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)

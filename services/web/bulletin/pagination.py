"""Offset pagination that never counts the whole table.

A page fetches one row more than it shows to learn whether a next page
exists, so its cost does not grow with the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select

from .extensions import db

T = TypeVar("T")
# Deep offsets cost a scan of every row before them; past this, ask for a filter.
MAX_PAGE = 100_000


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    per_page: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None


def paginate(statement: Select[Any], *, page: int, per_page: int) -> Page[Any]:
    """Page ``page`` (from 1) of ``statement``, which must already be ordered."""
    rows = list(db.session.scalars(statement.limit(per_page + 1).offset((page - 1) * per_page)))
    return Page(items=rows[:per_page], page=page, per_page=per_page, has_next=len(rows) > per_page)

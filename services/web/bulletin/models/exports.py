"""A person's data as a zip, waiting for its one download."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model
from .types import UTCDateTime, utcnow


class DataExport(Model):
    """Built by a job, mailed as a link to whoever asked (the owner, or an
    administrator for them), and emptied at its first download or expiry."""

    __tablename__ = "data_exports"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    requester_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    downloaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # None once downloaded: the link works once.
    content: Mapped[bytes | None] = mapped_column(LargeBinary)

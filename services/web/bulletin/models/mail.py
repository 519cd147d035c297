"""Mail already handed to the SMTP server, by idempotency key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model
from .types import UTCDateTime, utcnow


class SentMail(Model):
    """One row per mail the SMTP server accepted.

    A job that runs again (a retry, a worker killed after the server said
    yes) finds its key here and does not send a second copy.
    """

    __tablename__ = "sent_mails"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

"""Jobs a person's own data asks for: building an export, erasing an account."""

from __future__ import annotations

import logging

from ..services import accounts

log = logging.getLogger(__name__)


def build_export(*, owner_id: int, requester_id: int) -> None:
    accounts.build_export(owner_id, requester_id)


def erase(*, user_id: int) -> None:
    removed = accounts.erase_account(user_id)
    log.info("account %d erased: %s", user_id, removed)

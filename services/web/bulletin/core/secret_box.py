"""Secrets the app must read back (an authenticator's seed), encrypted at rest.

The key is derived from SECRET_KEY with HKDF, one key per purpose, so a
database dump alone does not give the seeds away. Changing SECRET_KEY makes
them unreadable: every authenticator must then be set up again.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

__all__ = ["InvalidToken", "open_secret", "seal"]


def _fernet(purpose: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"bulletin.{purpose}".encode()
    ).derive(current_app.config["SECRET_KEY"].encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(purpose: str, plain: str) -> str:
    return _fernet(purpose).encrypt(plain.encode()).decode()


def open_secret(purpose: str, sealed: str) -> str:
    """The plain text; InvalidToken when it was sealed under another SECRET_KEY."""
    return _fernet(purpose).decrypt(sealed.encode()).decode()

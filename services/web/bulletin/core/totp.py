"""Authenticator codes (RFC 6238): six digits, a new one every 30 seconds."""

from __future__ import annotations

import time

import pyotp
import segno

# A code from the step before or after the current one is still taken:
# a phone's clock may be off by some seconds, and a person types slowly.
DRIFT_STEPS = 1
STEP_SECONDS = 30


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG: drawn by the server, so the page needs no script."""
    return segno.make(uri, error="m").svg_inline(scale=5, border=2)


def accepted_step(
    secret: str, code: str, *, after_step: int, now: float | None = None
) -> int | None:
    """The time step ``code`` belongs to, if it is right and newer than
    ``after_step`` (a code is taken once); None otherwise."""
    code = "".join(code.split())
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    moment = time.time() if now is None else now
    current = int(moment // STEP_SECONDS)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if step > after_step and pyotp.utils.strings_equal(totp.at(step * STEP_SECONDS), code):
            return step
    return None

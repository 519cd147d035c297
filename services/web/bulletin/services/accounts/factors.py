"""Second factors: an authenticator app, recovery codes, passkeys, and the staff rule.

A second factor is checked after the password (or replaces both, for a
passkey that verifies its user). Wrong codes count per account under
ACCOUNT_SIGN_IN_LIMIT, as wrong passwords do; a code is taken once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select

from ...core import passkeys, secret_box, throttle, totp
from ...extensions import db
from ...models import Passkey, Permission, RecoveryCode, TotpFactor, User, utcnow
from .. import ServiceError, TooManyAttempts

log = logging.getLogger(__name__)

RECOVERY_CODE_COUNT = 10
TOTP_PURPOSE = "totp"
ISSUER = "Bulletin"


# What each and all of them are.


def totp_factor(user: User) -> TotpFactor | None:
    """The authenticator, once confirmed."""
    factor = db.session.get(TotpFactor, user.id)
    return factor if factor is not None and factor.enabled_at is not None else None


def passkeys_of(user: User) -> list[Passkey]:
    return list(
        db.session.scalars(select(Passkey).where(Passkey.user_id == user.id).order_by(Passkey.id))
    )


def has_second_factor(user: User) -> bool:
    return totp_factor(user) is not None or bool(passkeys_of(user))


def recovery_codes_left(user: User) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def is_staff(user: User) -> bool:
    return user.can(Permission.MODERATE)


def must_set_up_second_factor(user: User) -> bool:
    """STAFF_SECOND_FACTOR: a moderator or administrator without one may only set one up."""
    return bool(
        current_app.config["STAFF_SECOND_FACTOR"] and is_staff(user) and not has_second_factor(user)
    )


# The authenticator app.


def totp_enrolment(user: User) -> tuple[str, str]:
    """The secret waiting for its first code (made now when none waits), and its QR code (SVG).

    The same secret until it is confirmed, so a page reloaded after a mistyped
    code still matches what the app scanned.
    """
    if totp_factor(user) is not None:
        raise ServiceError("An authenticator is on already: turn it off first to replace it.")
    pending = db.session.get(TotpFactor, user.id)
    if pending is None:
        pending = TotpFactor(
            user_id=user.id, secret_encrypted=secret_box.seal(TOTP_PURPOSE, totp.new_secret())
        )
        db.session.add(pending)
        db.session.commit()
    secret = secret_box.open_secret(TOTP_PURPOSE, pending.secret_encrypted)
    uri = totp.provisioning_uri(secret, account=user.email, issuer=ISSUER)
    return secret, totp.qr_svg(uri)


def confirm_totp(user: User, code: str) -> list[str]:
    """Turn the authenticator on with one of its codes; the new recovery codes, shown once."""
    factor = db.session.get(TotpFactor, user.id)
    if factor is None or factor.enabled_at is not None:
        raise ServiceError("Start setting up an authenticator first.")
    _spend_attempt(user)
    secret = secret_box.open_secret(TOTP_PURPOSE, factor.secret_encrypted)
    step = totp.accepted_step(secret, code, after_step=0)
    if step is None:
        raise ServiceError("That code is not the one your app shows now.", field="code")
    factor.enabled_at, factor.last_step = utcnow(), step
    codes = _replace_recovery_codes(user)
    db.session.commit()
    return codes


def turn_off_totp(user: User) -> None:
    db.session.execute(delete(TotpFactor).where(TotpFactor.user_id == user.id))
    _drop_codes_without_factor(user)
    db.session.commit()


# Recovery codes.


def _code_hash(code: str) -> str:
    normalized = "".join(code.lower().split()).replace("-", "")
    key = hashlib.sha256(b"bulletin.recovery-code" + current_app.config["SECRET_KEY"].encode())
    return hmac.new(key.digest(), normalized.encode(), hashlib.sha256).hexdigest()


def _replace_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = secrets.token_hex(5)  # 40 bits each: guessing one is hopeless at 10 tries
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_code_hash(raw)))
    return codes


def new_recovery_codes(user: User) -> list[str]:
    """Ten fresh codes, shown once; the old ones stop working."""
    if not has_second_factor(user):
        raise ServiceError("Recovery codes come with a second factor: set one up first.")
    codes = _replace_recovery_codes(user)
    db.session.commit()
    return codes


def _drop_codes_without_factor(user: User) -> None:
    db.session.flush()
    if not has_second_factor(user):
        db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


# Checking the second step.


def _spend_attempt(user: User) -> None:
    limit = current_app.config["ACCOUNT_SIGN_IN_LIMIT"]
    wait = throttle.spend(limit, ("second-factor", str(user.id)))
    if wait is not None:
        raise TooManyAttempts(
            f"Too many wrong codes. Try again in {max(1, wait // 60)} minute(s).",
            retry_after=wait,
        )


def check_code(user: User, code: str) -> str | None:
    """Which factor ``code`` passed for ("authenticator" or "recovery code"), or None.

    Each call counts against ACCOUNT_SIGN_IN_LIMIT; TooManyAttempts once spent.
    """
    _spend_attempt(user)
    factor = totp_factor(user)
    if factor is not None:
        secret = secret_box.open_secret(TOTP_PURPOSE, factor.secret_encrypted)
        step = totp.accepted_step(secret, code, after_step=factor.last_step)
        if step is not None:
            factor.last_step = step
            db.session.commit()
            return "authenticator"
    recovery = db.session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _code_hash(code),
            RecoveryCode.used_at.is_(None),
        )
    )
    if recovery is not None:
        recovery.used_at = utcnow()
        db.session.commit()
        return "recovery code"
    return None


def forget_attempts(user: User) -> None:
    throttle.forget(current_app.config["ACCOUNT_SIGN_IN_LIMIT"], ("second-factor", str(user.id)))


# Passkeys.


def passkey_registration_options(user: User) -> tuple[dict[str, Any], dict[str, Any]]:
    return passkeys.registration_options(
        user_handle=user.public_id.bytes,
        name=user.email,
        display_name=user.username,
        existing=[key.credential_data for key in passkeys_of(user)],
    )


def add_passkey(
    user: User, state: Mapping[str, Any], response: Mapping[str, Any], name: str
) -> list[str]:
    """Keep the passkey the browser made; recovery codes, shown once, if it is
    the account's first factor (else an empty list)."""
    try:
        new = passkeys.verify_registration(state, response)
    except passkeys.PasskeyRefused as error:
        raise ServiceError(f"The passkey was not added: {error}") from None
    if db.session.scalar(select(Passkey.id).where(Passkey.credential_id == new.credential_id)):
        raise ServiceError("This passkey is registered already.")
    passkey = Passkey(
        user_id=user.id,
        credential_id=new.credential_id,
        credential_data=new.credential_data,
        sign_count=new.sign_count,
        name=(name or "").strip()[:64] or "Passkey",
    )
    first = not has_second_factor(user)
    db.session.add(passkey)
    # The account's first factor: codes for the day the key is lost.
    codes = _replace_recovery_codes(user) if first else []
    db.session.commit()
    return codes


def remove_passkey(user: User, passkey_id: int) -> None:
    passkey = db.session.get(Passkey, passkey_id)
    if passkey is None or passkey.user_id != user.id:
        raise ServiceError("There is no such passkey on your account.")
    db.session.delete(passkey)
    _drop_codes_without_factor(user)
    db.session.commit()


def passkey_sign_in_options(user: User | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """For ``user``'s own passkeys (a second step), or any of this site's (no password)."""
    allowed = None if user is None else [key.credential_data for key in passkeys_of(user)]
    return passkeys.authentication_options(allowed)


def authenticate_passkey(
    state: Mapping[str, Any], response: Mapping[str, Any], *, user: User | None = None
) -> User:
    """The owner of the passkey that signed; ``user``'s own when given."""
    try:
        credential_id = passkeys.credential_id_of(response)
        passkey = db.session.scalar(select(Passkey).where(Passkey.credential_id == credential_id))
        if passkey is None or (user is not None and passkey.user_id != user.id):
            raise ServiceError("This passkey is not registered here.")
        passkey.sign_count = passkeys.verify_authentication(
            state, passkey.credential_data, passkey.sign_count, response
        )
    except passkeys.PasskeyRefused as error:
        raise ServiceError(f"The passkey did not sign in: {error}") from None
    passkey.last_used_at = utcnow()
    owner = db.session.get(User, passkey.user_id)
    assert owner is not None  # the foreign key
    db.session.commit()
    return owner


# An administrator's help.


def reset_second_factors(user: User, *, by: User) -> None:
    """Remove every factor of ``user`` (who lost them); logged for the audit trail."""
    if user.id == by.id:
        raise ServiceError("Another administrator must reset your own second factors.")
    db.session.execute(delete(TotpFactor).where(TotpFactor.user_id == user.id))
    db.session.execute(delete(Passkey).where(Passkey.user_id == user.id))
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.commit()
    log.warning(
        "second factors reset: administrator %s (id %d) removed every second factor of %s (id %d)",
        by.username,
        by.id,
        user.username,
        user.id,
    )

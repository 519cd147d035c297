"""Accounts, one module per job: identity (finding an account, and the rules
a new name or address passes), registration, signin (the password and the
device cookie), sessions (one row per signed-in browser), credentials
(password and email changes), factors (second factors and the staff rule),
profiles, and own_data (export and deletion).
Callers use the names below."""

from .credentials import (
    change_email,
    change_password,
    pending_email_change,
    request_email_change,
    reset_password,
    send_password_reset,
)
from .factors import (
    add_passkey,
    authenticate_passkey,
    check_code,
    confirm_totp,
    forget_attempts,
    has_second_factor,
    is_staff,
    must_set_up_second_factor,
    new_recovery_codes,
    passkey_registration_options,
    passkey_sign_in_options,
    passkeys_of,
    recovery_codes_left,
    remove_passkey,
    reset_second_factors,
    totp_enrolment,
    totp_factor,
    turn_off_totp,
)
from .identity import (
    find_user_by_email,
    find_user_by_login,
    find_user_by_public_id,
    find_user_by_username,
)
from .own_data import (
    build_export,
    delete_account,
    erase_account,
    pending_export,
    request_export,
    take_export,
)
from .profiles import admin_update_user, update_profile
from .registration import confirm_account, register_user, send_confirmation, sign_up
from .sessions import (
    end_login_session,
    load_login_session,
    prune_login_sessions,
    start_login_session,
    touch_last_seen,
)
from .signin import DEVICE_COOKIE_MAX_AGE, authenticate, device_token, is_known_device

__all__ = [
    "DEVICE_COOKIE_MAX_AGE",
    "add_passkey",
    "admin_update_user",
    "authenticate",
    "authenticate_passkey",
    "build_export",
    "change_email",
    "change_password",
    "check_code",
    "confirm_account",
    "confirm_totp",
    "delete_account",
    "device_token",
    "end_login_session",
    "erase_account",
    "find_user_by_email",
    "find_user_by_login",
    "find_user_by_public_id",
    "find_user_by_username",
    "forget_attempts",
    "has_second_factor",
    "is_known_device",
    "is_staff",
    "load_login_session",
    "must_set_up_second_factor",
    "new_recovery_codes",
    "passkey_registration_options",
    "passkey_sign_in_options",
    "passkeys_of",
    "pending_email_change",
    "pending_export",
    "prune_login_sessions",
    "recovery_codes_left",
    "register_user",
    "remove_passkey",
    "request_email_change",
    "request_export",
    "reset_password",
    "reset_second_factors",
    "send_confirmation",
    "send_password_reset",
    "sign_up",
    "start_login_session",
    "take_export",
    "totp_enrolment",
    "totp_factor",
    "touch_last_seen",
    "turn_off_totp",
    "update_profile",
]

"""Accounts, one module per job: identity (finding an account, and the rules
a new name or address passes), registration, signin (the password and the
device cookie), sessions (one row per signed-in browser), credentials
(password and email changes), profiles, and own_data (export and deletion).
Callers use the names below."""

from .credentials import (
    change_email,
    change_password,
    pending_email_change,
    request_email_change,
    reset_password,
    send_password_reset,
)
from .identity import find_user_by_email, find_user_by_login, find_user_by_username
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
    "admin_update_user",
    "authenticate",
    "build_export",
    "change_email",
    "change_password",
    "confirm_account",
    "delete_account",
    "device_token",
    "end_login_session",
    "erase_account",
    "find_user_by_email",
    "find_user_by_login",
    "find_user_by_username",
    "is_known_device",
    "load_login_session",
    "pending_email_change",
    "pending_export",
    "prune_login_sessions",
    "register_user",
    "request_email_change",
    "request_export",
    "reset_password",
    "send_confirmation",
    "send_password_reset",
    "sign_up",
    "start_login_session",
    "take_export",
    "touch_last_seen",
    "update_profile",
]

"""Second factors under /auth/: the second step of sign-in, a passkey instead of
the password, and the Security page where a person manages theirs.

The Security page and the change of email ask for the factor again when it
was last shown more than FRESH_FACTOR_SECONDS ago (``requires_fresh_factor``).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from flask import (
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required

from ..errors import wants_json
from ..models import User
from ..services import accounts
from ..web.forms import Form
from ..web.next_url import safe_next_path
from . import bp
from .forms import CodeForm, TotpSetupForm
from .sign_in import auth_limit, sign_in

# The second step waits this long for its code or passkey after the password.
SECOND_STEP_SECONDS = 300
# A factor shown within this long counts for the Security page and email changes.
FRESH_FACTOR_SECONDS = 600
# Pages an account that must set a factor up (STAFF_SECOND_FACTOR) may reach.
SETUP_ENDPOINTS = {
    "auth.security",
    "auth.totp_setup",
    "auth.passkey_registration_options",
    "auth.passkey_register",
    "auth.recovery_codes",
    "auth.logout",
    "static",
    "bootstrap.static",
    "main.moment_js",
}


def begin_second_step(user: User, *, remember: bool, next_path: str | None) -> Any:
    """After the right password for an account with a second factor: not signed in yet."""
    session.clear()
    session["second_step"] = {
        "user": str(user.public_id),
        "remember": remember,
        "next": next_path,
        "until": time.time() + SECOND_STEP_SECONDS,
    }
    return redirect(url_for("auth.second_step"))


def _second_step_user() -> tuple[User, dict[str, Any]] | None:
    pending = session.get("second_step")
    if not pending or pending.get("until", 0) < time.time():
        return None
    user = accounts.find_user_by_public_id(pending["user"])
    return (user, pending) if user is not None else None


def _finish_sign_in(user: User, pending: dict[str, Any]) -> str:
    accounts.forget_attempts(user)
    sign_in(user, remember=bool(pending.get("remember")))
    session["factor_shown_at"] = time.time()
    return pending.get("next") or url_for("main.index")


@bp.route("/second-step", methods=["GET", "POST"])
@auth_limit
def second_step():
    """The code from the authenticator, a recovery code, or a passkey."""
    found = _second_step_user()
    if found is None:
        flash("Sign in again: the second step waited too long.", "info")
        return redirect(url_for("auth.login"))
    user, pending = found
    form = CodeForm()
    if form.validate_on_submit():
        used = accounts.check_code(user, form.code.data)
        if used is not None:
            if used == "recovery code":
                left = accounts.recovery_codes_left(user)
                flash(
                    f"Recovery code used: {left} left. Make new ones on the Security page.",
                    "warning",
                )
            return redirect(_finish_sign_in(user, pending))
        flash("That code is wrong or was used already.", "danger")
    return _factor_page(
        user,
        form,
        options_url=url_for("auth.second_step_passkey_options"),
        finish_url=url_for("auth.second_step_passkey"),
    )


def _factor_page(user: User, form: CodeForm, **page: Any) -> str:
    """The page that asks for a code or a passkey: at sign-in, or to verify again."""
    return render_template(
        "auth/second_step.html",
        form=form,
        has_totp=accounts.totp_factor(user) is not None,
        has_passkey=bool(accounts.passkeys_of(user)),
        **page,
    )


def _passkey_state(name: str, state: dict[str, Any]) -> None:
    session[f"passkey_{name}"] = state


def _take_passkey_state(name: str) -> dict[str, Any]:
    state = session.pop(f"passkey_{name}", None)
    if state is None:
        abort(400, description="Start again: this page's passkey request is not the server's.")
    return state


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("credential"), dict):
        abort(400, description='Send the passkey\'s answer as JSON: {"credential": {...}}.')
    return body


@bp.post("/second-step/passkey/options")
@auth_limit
def second_step_passkey_options():
    found = _second_step_user()
    if found is None:
        abort(401, description="Sign in again: the second step waited too long.")
    options, state = accounts.passkey_sign_in_options(found[0])
    _passkey_state("second_step", state)
    return jsonify(options)


@bp.post("/second-step/passkey")
@auth_limit
def second_step_passkey():
    found = _second_step_user()
    if found is None:
        abort(401, description="Sign in again: the second step waited too long.")
    user, pending = found
    state = _take_passkey_state("second_step")
    accounts.authenticate_passkey(state, _json_body()["credential"], user=user)
    return jsonify({"redirect": _finish_sign_in(user, pending)})


@bp.post("/passkey/options")
@auth_limit
def passkey_sign_in_options():
    """Sign in with a passkey alone: any of this site's, chosen on the device."""
    options, state = accounts.passkey_sign_in_options(None)
    _passkey_state("sign_in", state)
    return jsonify(options)


@bp.post("/passkey")
@auth_limit
def passkey_sign_in():
    state = _take_passkey_state("sign_in")
    body = _json_body()
    user = accounts.authenticate_passkey(state, body["credential"])
    if not user.confirmed:
        abort(403, description="Confirm your account first: follow the link in its email.")
    pending = {"remember": bool(body.get("remember")), "next": safe_next_path(body.get("next"))}
    return jsonify({"redirect": _finish_sign_in(user, pending)})


def requires_fresh_factor(view: Callable[..., Any]) -> Callable[..., Any]:
    """For an account with a second factor: shown within FRESH_FACTOR_SECONDS, or shown again."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        shown = session.get("factor_shown_at", 0)
        if accounts.has_second_factor(current_user) and shown + FRESH_FACTOR_SECONDS < time.time():
            if wants_json():  # a passkey button's request: the page must show the factor first
                abort(401, description="Show your second factor again: reload the page.")
            return redirect(url_for("auth.verify_factor", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return checked


@bp.route("/verify", methods=["GET", "POST"])
@login_required
@auth_limit
def verify_factor():
    """Show a second factor again before a change to the account's credentials."""
    form = CodeForm()
    next_path = safe_next_path(request.args.get("next")) or url_for("auth.security")
    if form.validate_on_submit():
        if accounts.check_code(current_user, form.code.data) is not None:
            session["factor_shown_at"] = time.time()
            return redirect(next_path)
        flash("That code is wrong or was used already.", "danger")
    return _factor_page(
        current_user,
        form,
        verifying=True,
        options_url=url_for("auth.verify_passkey_options"),
        finish_url=url_for("auth.verify_passkey", next=next_path),
    )


@bp.post("/verify/passkey/options")
@login_required
def verify_passkey_options():
    options, state = accounts.passkey_sign_in_options(current_user)
    _passkey_state("verify", state)
    return jsonify(options)


@bp.post("/verify/passkey")
@login_required
def verify_passkey():
    state = _take_passkey_state("verify")
    accounts.authenticate_passkey(state, _json_body()["credential"], user=current_user)
    session["factor_shown_at"] = time.time()
    return jsonify(
        {"redirect": safe_next_path(request.args.get("next")) or url_for("auth.security")}
    )


@bp.route("/security")
@login_required
@requires_fresh_factor
def security():
    """The second factors of this account, and what to do with them."""
    return render_template(
        "auth/security.html",
        totp=accounts.totp_factor(current_user),
        keys=accounts.passkeys_of(current_user),
        codes_left=accounts.recovery_codes_left(current_user),
        form=Form(),
        must_set_up=accounts.must_set_up_second_factor(current_user),
    )


@bp.route("/security/authenticator", methods=["GET", "POST"])
@login_required
@requires_fresh_factor
def totp_setup():
    """Scan the QR code (or type the secret), then confirm with one code."""
    form = TotpSetupForm()
    if form.validate_on_submit():
        codes = accounts.confirm_totp(current_user, form.code.data)
        session["factor_shown_at"] = time.time()
        flash("The authenticator is on: sign-in now asks for its code.", "success")
        return render_template("auth/recovery_codes.html", codes=codes)
    secret, qr_svg = accounts.totp_enrolment(current_user)
    return render_template("auth/totp_setup.html", form=form, secret=secret, qr_svg=qr_svg)


@bp.post("/security/authenticator/off")
@login_required
@requires_fresh_factor
def totp_off():
    if Form().validate_on_submit():
        accounts.turn_off_totp(current_user)
        flash("The authenticator is off.", "info")
    return redirect(url_for("auth.security"))


@bp.post("/security/recovery-codes")
@login_required
@requires_fresh_factor
def recovery_codes():
    """Ten new recovery codes; the old ones stop working."""
    if not Form().validate_on_submit():
        return redirect(url_for("auth.security"))
    codes = accounts.new_recovery_codes(current_user)
    return render_template("auth/recovery_codes.html", codes=codes)


@bp.post("/security/passkeys/options")
@login_required
@requires_fresh_factor
def passkey_registration_options():
    options, state = accounts.passkey_registration_options(current_user)
    _passkey_state("register", state)
    return jsonify(options)


@bp.post("/security/passkeys")
@login_required
@requires_fresh_factor
def passkey_register():
    state = _take_passkey_state("register")
    body = _json_body()
    codes = accounts.add_passkey(current_user, state, body["credential"], str(body.get("name", "")))
    session["factor_shown_at"] = time.time()
    if codes:
        session["new_recovery_codes"] = codes
        return jsonify({"redirect": url_for("auth.show_new_recovery_codes")})
    flash("The passkey is added.", "success")
    return jsonify({"redirect": url_for("auth.security")})


@bp.get("/security/new-recovery-codes")
@login_required
def show_new_recovery_codes():
    """The codes made with a first passkey, shown once."""
    codes = session.pop("new_recovery_codes", None)
    if not codes:
        return redirect(url_for("auth.security"))
    flash("The passkey is added.", "success")
    return render_template("auth/recovery_codes.html", codes=codes)


@bp.post("/security/passkeys/<int:passkey_id>/remove")
@login_required
@requires_fresh_factor
def passkey_remove(passkey_id: int):
    if Form().validate_on_submit():
        accounts.remove_passkey(current_user, passkey_id)
        flash("The passkey is removed.", "info")
    return redirect(url_for("auth.security"))


def keep_staff_to_setup() -> Any:
    """STAFF_SECOND_FACTOR: staff without a factor see only how to set one up."""
    if request.endpoint in SETUP_ENDPOINTS or not accounts.must_set_up_second_factor(current_user):
        return None
    flash("Your role needs a second factor: set up an authenticator app or a passkey.", "warning")
    return redirect(url_for("auth.security"))

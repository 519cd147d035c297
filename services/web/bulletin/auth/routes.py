"""Sign-in, registration and credential changes under /auth/."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, logout_user
from werkzeug.exceptions import TooManyRequests

from ..core import throttle
from ..extensions import limiter
from ..services import accounts
from ..web.forms import Form
from ..web.next_url import safe_next_path
from . import bp
from .forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    DeleteAccountForm,
    LoginForm,
    PasswordResetForm,
    PasswordResetRequestForm,
    RegistrationForm,
)
from .second_factor import begin_second_step, keep_staff_to_setup, requires_fresh_factor
from .sign_in import DEVICE_COOKIE, auth_limit, sign_in

# Pages an unconfirmed user may still reach.
UNCONFIRMED_ENDPOINTS = {
    "auth.unconfirmed",
    "auth.confirm",
    "auth.resend_confirmation",
    "auth.logout",
    "static",
    "bootstrap.static",
    "main.moment_js",
}
# Requests that must not touch the database for the signed-in user.
NO_USER_BLUEPRINTS = {"health", "api", "legacy_api", "api-docs", "api_docs_assets"}


def _user_at_address() -> str:
    return f"user:{getattr(current_user, 'id', 'anonymous')}@{get_remote_address()}"


# Forms that check the current password are sign-in attempts too: the same
# limit, counted per user and address.
password_check_limit = limiter.limit(
    lambda: current_app.config["AUTH_RATE_LIMIT"], key_func=_user_at_address, methods=["POST"]
)


@bp.before_app_request
def check_signed_in_user():
    """Record activity, and keep unconfirmed users on the confirmation page."""
    if request.blueprint in NO_USER_BLUEPRINTS or not current_user.is_authenticated:
        return None
    accounts.touch_last_seen(current_user)
    if not current_user.confirmed and request.endpoint not in UNCONFIRMED_ENDPOINTS:
        return redirect(url_for("auth.unconfirmed"))
    return keep_staff_to_setup()


def _sign_in_again() -> None:
    """After every session of the user was ended (a new password or address):
    keep this browser signed in, with a remember cookie if it had one."""
    cookie_name = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    sign_in(current_user._get_current_object(), remember=cookie_name in request.cookies)


def _spend_mail_allowance() -> None:
    """Count a mail this user asked for, per user and per address; 429 when spent."""
    wait = throttle.spend(
        current_app.config["MAIL_RATE_LIMIT"],
        ("mail", f"user:{current_user.id}"),
        ("mail", f"address:{get_remote_address()}"),
    )
    if wait is not None:
        raise TooManyRequests(
            "You asked for too many emails. Wait a while before asking again.",
            retry_after=wait,
        )


@bp.route("/login", methods=["GET", "POST"])
@auth_limit
def login():
    """Sign in with email and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(
            login=form.email.data,
            password=form.password.data,
            device=request.cookies.get(DEVICE_COOKIE),
        )
        if user is not None:
            next_path = safe_next_path(request.args.get("next"))
            if accounts.has_second_factor(user):
                return begin_second_step(user, remember=form.remember_me.data, next_path=next_path)
            sign_in(user, remember=form.remember_me.data)
            return redirect(next_path or url_for("main.index"))
        flash("Invalid email or password.", "danger")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    """End this session; its cookies stop working even if replayed."""
    accounts.end_login_session(current_user.login_session_id)
    logout_user()
    flash("You have been signed out.", "info")
    return redirect(url_for("main.index"))


@bp.route("/register", methods=["GET", "POST"])
@auth_limit
def register():
    """Create an account and mail a confirmation link."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegistrationForm()
    if form.validate_on_submit():
        # The same answer whether or not the email already has an account.
        accounts.sign_up(
            email=form.email.data, username=form.username.data, password=form.password.data
        )
        flash("A confirmation link has been sent to your email. Sign in to continue.", "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/register.html", form=form)


@bp.get("/confirm/<token>")
@login_required
def confirm(token: str):
    """Confirm the signed-in account from the emailed link."""
    if current_user.confirmed:
        return redirect(url_for("main.index"))
    if accounts.confirm_account(current_user, token):
        flash("Your account is confirmed. Welcome!", "success")
        return redirect(url_for("main.index"))
    flash("The confirmation link is invalid or has expired.", "danger")
    return redirect(url_for("auth.unconfirmed"))


@bp.get("/unconfirmed")
def unconfirmed():
    """Ask an unconfirmed user to confirm, with a button to resend the link."""
    if current_user.is_anonymous or current_user.confirmed:
        return redirect(url_for("main.index"))
    return render_template("auth/unconfirmed.html", form=Form())


@bp.post("/confirm")
@login_required
def resend_confirmation():
    """Send a new confirmation link."""
    if current_user.confirmed:
        return redirect(url_for("main.index"))
    if Form().validate_on_submit():
        _spend_mail_allowance()
        accounts.send_confirmation(current_user)
        flash("A new confirmation link has been sent to your email.", "info")
    return redirect(url_for("auth.unconfirmed"))


@bp.route("/change-password", methods=["GET", "POST"])
@login_required
@password_check_limit
def change_password():
    """Change the password; every other session is signed out."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        accounts.change_password(
            current_user, old_password=form.old_password.data, new_password=form.password.data
        )
        _sign_in_again()
        flash("Your password has been changed.", "success")
        return redirect(url_for("main.index"))
    return render_template("auth/form_page.html", form=form, title="Change password")


@bp.route("/reset", methods=["GET", "POST"])
@auth_limit
def password_reset_request():
    """Mail a password-reset link."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = PasswordResetRequestForm()
    if form.validate_on_submit():
        accounts.send_password_reset(form.email.data)
        # The same answer whether or not the address has an account.
        flash("If an account uses that address, a reset link is on its way.", "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/form_page.html", form=form, title="Reset your password")


@bp.route("/reset/<token>", methods=["GET", "POST"])
def password_reset(token: str):
    """Set a new password from the emailed link."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = PasswordResetForm()
    if form.validate_on_submit():
        if accounts.reset_password(token, form.password.data):
            flash("Your password has been reset. Sign in with the new one.", "success")
            return redirect(url_for("auth.login"))
        flash("The reset link is invalid or has expired. Ask for a new one.", "danger")
        return redirect(url_for("auth.password_reset_request"))
    return render_template("auth/form_page.html", form=form, title="Choose a new password")


@bp.route("/change-email", methods=["GET", "POST"])
@login_required
@requires_fresh_factor
@password_check_limit
def change_email_request():
    """Mail a confirmation link to the new address."""
    form = ChangeEmailForm()
    if form.validate_on_submit():
        _spend_mail_allowance()
        accounts.request_email_change(
            current_user, new_email=form.email.data, password=form.password.data
        )
        flash("A confirmation link has been sent to the new address.", "info")
        return redirect(url_for("main.index"))
    return render_template("auth/form_page.html", form=form, title="Change your email")


@bp.route("/change-email/<token>", methods=["GET", "POST"])
@login_required
def change_email(token: str):
    """Show the new address; switch to it when its owner confirms (a POST,
    so a link opened by a mail scanner or a prefetch changes nothing)."""
    new_email = accounts.pending_email_change(current_user, token)
    if new_email is None:
        flash("The link is invalid, used or expired. Ask for a new one.", "danger")
        return redirect(url_for("main.index"))
    form = Form()
    if form.validate_on_submit():
        accounts.change_email(current_user, token)
        _sign_in_again()
        flash("Your email address has been updated.", "success")
        return redirect(url_for("main.index"))
    return render_template("auth/change_email.html", form=form, new_email=new_email)


@bp.route("/export", methods=["GET", "POST"])
@login_required
def export_data():
    """Ask for a zip of everything you wrote; a job builds it and mails its link."""
    form = Form()
    if form.validate_on_submit():
        _spend_mail_allowance()
        accounts.request_export(current_user, requested_by=current_user)
        flash("Your data is being gathered: a download link is on its way to your email.", "info")
        return redirect(url_for("main.index"))
    return render_template("auth/export.html", form=form, download=False)


@bp.route("/export/<token>", methods=["GET", "POST"])
@login_required
def download_export(token: str):
    """The export, once, to whoever asked for it (a POST: a mail scanner's GET
    of the link does not use it up)."""
    if accounts.pending_export(current_user, token) is None:
        abort(404, description="This export link is used, expired or not yours. Ask for a new one.")
    form = Form()
    if form.validate_on_submit():
        taken = accounts.take_export(current_user, token)
        if taken is None:
            abort(404, description="This export link was used already. Ask for a new one.")
        name, content = taken
        return Response(
            content,
            mimetype="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return render_template("auth/export.html", form=form, download=True)


@bp.route("/delete-account", methods=["GET", "POST"])
@login_required
@password_check_limit
def delete_account():
    """Delete your own account, after your password."""
    form = DeleteAccountForm()
    if form.validate_on_submit():
        accounts.delete_account(current_user, password=form.password.data)
        logout_user()
        flash("Your account is deleted, and your data is being removed.", "info")
        return redirect(url_for("main.index"))
    return render_template("auth/delete_account.html", form=form)

"""Account forms; Flask-WTF adds the CSRF token to each."""

from __future__ import annotations

from wtforms import BooleanField, EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from ..core.email_addresses import MAX_LENGTH as EMAIL_MAX_LENGTH
from ..core.email_addresses import checked_email
from ..core.passwords import MAX_LENGTH, MIN_LENGTH
from ..core.usernames import MAX_LENGTH as USERNAME_MAX_LENGTH
from ..core.usernames import checked_username
from ..web.forms import Form


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _email_address(_form: Form, field: EmailField) -> None:
    try:
        checked_email(field.data or "")
    except ValueError as error:
        raise ValidationError(str(error)) from None


def _username(_form: Form, field: StringField) -> None:
    try:
        checked_username(field.data or "")
    except ValueError as error:
        raise ValidationError(str(error)) from None


def username_field() -> StringField:
    """A new username: the rule every place that stores one applies."""
    return StringField(
        "Username",
        filters=[_strip],
        validators=[DataRequired(), Length(max=USERNAME_MAX_LENGTH), _username],
    )


def email_field(label: str = "Email") -> EmailField:
    """A new address: the rule every place that stores one applies."""
    return EmailField(
        label,
        filters=[_strip],
        validators=[DataRequired(), Length(max=EMAIL_MAX_LENGTH), _email_address],
    )


def new_password_field(label: str = "Password") -> PasswordField:
    return PasswordField(label, validators=[DataRequired(), Length(min=MIN_LENGTH, max=MAX_LENGTH)])


def repeat_field(of: str) -> PasswordField:
    return PasswordField(
        "Confirm password",
        validators=[DataRequired(), EqualTo(of, message="Passwords must match.")],
    )


def stored_email_field() -> EmailField:
    """An address to look up: any stored one is accepted, whatever rule was in
    force when it was stored (the lookup finds it or not)."""
    return EmailField(
        "Email", filters=[_strip], validators=[DataRequired(), Length(max=EMAIL_MAX_LENGTH)]
    )


class LoginForm(Form):
    email = stored_email_field()
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_LENGTH)])
    remember_me = BooleanField("Keep me signed in")
    submit = SubmitField("Sign in")


class RegistrationForm(Form):
    email = email_field()
    username = username_field()
    password = new_password_field()
    password2 = repeat_field("password")
    submit = SubmitField("Register")


class ChangePasswordForm(Form):
    old_password = PasswordField(
        "Current password", validators=[DataRequired(), Length(max=MAX_LENGTH)]
    )
    password = new_password_field("New password")
    password2 = repeat_field("password")
    submit = SubmitField("Change password")


class PasswordResetRequestForm(Form):
    email = stored_email_field()
    submit = SubmitField("Send reset link")


class PasswordResetForm(Form):
    password = new_password_field("New password")
    password2 = repeat_field("password")
    submit = SubmitField("Reset password")


class ChangeEmailForm(Form):
    email = email_field("New email")
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_LENGTH)])
    submit = SubmitField("Change email")


class DeleteAccountForm(Form):
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_LENGTH)])
    understood = BooleanField(
        "I understand that this cannot be undone", validators=[DataRequired()]
    )
    submit = SubmitField("Delete my account")


class CodeForm(Form):
    code = StringField(
        "Code from your authenticator app, or a recovery code",
        filters=[_strip],
        validators=[DataRequired(), Length(max=32)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True},
    )
    submit = SubmitField("Continue")


class TotpSetupForm(Form):
    code = StringField(
        "The 6-digit code your app shows now",
        filters=[_strip],
        validators=[DataRequired(), Length(max=12)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    submit = SubmitField("Turn on")

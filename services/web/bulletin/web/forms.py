"""The base of every HTML form."""

from __future__ import annotations

from flask_wtf import FlaskForm

NUL_MESSAGE = "Remove the NUL character (\\0): text may not contain it."


class Form(FlaskForm):
    """A Flask-WTF form (CSRF included) that refuses NUL characters in any text field.

    PostgreSQL cannot store NUL in text; refusing it here gives the person a
    form error instead of a server error.
    """

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field.data, str) and "\x00" in field.data:
                field.errors = [*field.errors, NUL_MESSAGE]
                valid = False
        return valid

"""Blog forms."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from ..auth.forms import email_field, username_field
from ..core.passwords import MAX_LENGTH as PASSWORD_MAX_LENGTH
from ..models.blog import COMMENT_MAX, POST_MAX
from ..web.forms import Form

POST_PROMPT = "What's on your mind? (Markdown works)"


class PostForm(Form):
    """Checks a new post; the home page writes the form's markup itself
    (main/index.html), and builds this only when one is sent."""

    body = TextAreaField(POST_PROMPT, validators=[DataRequired(), Length(max=POST_MAX)])
    submit = SubmitField("Publish")


class CommentForm(Form):
    body = TextAreaField("Add a comment", validators=[DataRequired(), Length(max=COMMENT_MAX)])
    submit = SubmitField("Comment")


class EditProfileForm(Form):
    name = StringField("Real name", validators=[Optional(), Length(max=64)])
    location = StringField("Location", validators=[Optional(), Length(max=64)])
    about_me = TextAreaField("About me", validators=[Optional(), Length(max=2000)])
    submit = SubmitField("Save")


class EditProfileAdminForm(EditProfileForm):
    email = email_field()
    username = username_field()
    confirmed = BooleanField("Confirmed")
    role = SelectField("Role", coerce=int)


class AdminDeleteAccountForm(Form):
    """An administrator deletes someone's account: their own password, again."""

    password = PasswordField(
        "Your password", validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)]
    )
    submit = SubmitField("Delete this account")

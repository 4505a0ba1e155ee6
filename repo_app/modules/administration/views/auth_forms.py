"""Forms of the login and password screens (Flask-WTF: CSRF on each, the login form too)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    """User name and password; ``next`` is where to go afterwards (checked before use)."""

    username = StringField(
        _l("User name"),
        validators=[DataRequired(), Length(max=150)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class NewPasswordFields(FlaskForm):
    """A new password typed twice: the password change and the reset link's form share it."""

    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(max=1024)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(),
            EqualTo("new_password", message=_l("The two new passwords differ.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class PasswordForm(NewPasswordFields):
    """The user's own password change."""

    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class ForgotForm(FlaskForm):
    """The "forgot password" form: the account's e-mail address."""

    email = EmailField(
        _l("Your e-mail address"),
        validators=[DataRequired(), Length(max=300)],
        render_kw={"autocomplete": "email", "autocapitalize": "none", "spellcheck": "false"},
    )


class ResetForm(NewPasswordFields):
    """A new password, through a reset link."""

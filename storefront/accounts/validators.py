"""Password validators of Storefront (settings.AUTH_PASSWORD_VALIDATORS)."""

from django.core.exceptions import ValidationError


class NotOnlyWhitespaceValidator:
    """Refuse a password made only of whitespace (spaces, tabs, line breaks).

    Django's validators accept eight spaces. In AUTH_PASSWORD_VALIDATORS, so registration,
    the admin's forms and `manage.py changepassword` refuse it alike.
    """

    message = "This password is made only of spaces."
    code = "password_only_whitespace"

    def validate(self, password: str, user=None) -> None:
        if not password.strip():
            raise ValidationError(self.message, code=self.code)

    def get_help_text(self) -> str:
        return "Your password can't be made only of spaces."

"""Assertions shared by the accounts API tests."""

from typing import Any

from django.core.management import call_command


def assert_error(response, status: int, code: str, *, field: str | None = None) -> dict[str, Any]:
    """Assert the one error shape of docs/api.md; with `field`, that the field is blamed."""
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["status"] == status
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    if field is not None:
        assert field in error["fields"], error
    return error


def change_password_with_changepassword(monkeypatch, email: str, password: str) -> None:
    """`manage.py changepassword <email>`, typing `password` at both prompts."""
    monkeypatch.setattr(
        "django.contrib.auth.management.commands.changepassword.getpass.getpass",
        lambda prompt="": password,
    )
    call_command("changepassword", email, stdout=None)

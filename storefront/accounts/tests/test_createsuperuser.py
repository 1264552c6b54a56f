import pytest
from django.core.management import CommandError, call_command

from storefront.accounts.models import User


@pytest.mark.django_db
def test_createsuperuser_noinput_reads_email_and_password_from_the_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "Admin@Example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-admin-password-7")

    call_command("createsuperuser", interactive=False, verbosity=0)

    admin = User.objects.get()
    assert admin.email == "admin@example.com"
    assert admin.is_superuser and admin.is_staff and admin.is_active
    assert admin.check_password("a-long-admin-password-7")


@pytest.mark.django_db
def test_createsuperuser_noinput_refuses_an_email_taken_in_another_case(monkeypatch):
    User.objects.create_user("admin@example.com", "whatever-password-1")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "ADMIN@example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-admin-password-7")

    with pytest.raises(CommandError, match="already taken"):
        call_command("createsuperuser", interactive=False, verbosity=0)

    assert not User.objects.filter(is_superuser=True).exists()

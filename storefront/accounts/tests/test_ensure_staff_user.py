"""`manage.py ensure_staff_user`: one staff user for the admin, created once."""

import stat
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from storefront.accounts.models import User
from storefront.accounts.tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_superuser_env(monkeypatch):
    """Defaults unless a test sets them: the developer's shell must not leak in."""
    monkeypatch.delenv("DJANGO_SUPERUSER_EMAIL", raising=False)
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)


@pytest.fixture
def credentials_file(tmp_path) -> Path:
    return tmp_path / ".admin-credentials"


def ensure_staff_user(credentials_file: Path, **options) -> str:
    out = StringIO()
    call_command("ensure_staff_user", credentials_file=credentials_file, stdout=out, **options)
    return out.getvalue()


def read_file(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_creates_one_superuser_when_there_is_no_staff_user(credentials_file):
    UserFactory()  # a customer does not count

    ensure_staff_user(credentials_file)

    staff = User.objects.get(is_staff=True)
    assert staff.email == "admin@example.com"
    assert staff.is_superuser
    assert staff.is_active


def test_second_run_creates_no_user(credentials_file):
    ensure_staff_user(credentials_file)

    ensure_staff_user(credentials_file)

    assert User.objects.count() == 1


def test_writes_working_credentials_to_a_file_only_its_owner_can_read(credentials_file):
    ensure_staff_user(credentials_file)

    credentials = read_file(credentials_file)
    assert stat.S_IMODE(credentials_file.stat().st_mode) == 0o600
    assert credentials["email"] == "admin@example.com"
    assert len(credentials["password"]) >= 16
    assert User.objects.get(email="admin@example.com").check_password(credentials["password"])


def test_prints_where_and_how_to_log_in(credentials_file):
    output = ensure_staff_user(credentials_file, admin_url="http://127.0.0.1:8765/admin/")

    password = read_file(credentials_file)["password"]
    assert "http://127.0.0.1:8765/admin/" in output
    assert "admin@example.com" in output
    assert password in output


def test_random_passwords_differ_between_databases(tmp_path):
    ensure_staff_user(tmp_path / "first")
    User.objects.all().delete()

    ensure_staff_user(tmp_path / "second")

    assert read_file(tmp_path / "first")["password"] != read_file(tmp_path / "second")["password"]


def test_takes_email_and_password_from_the_environment(credentials_file, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "Boss@Shop.test")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long passphrase")

    ensure_staff_user(credentials_file)

    staff = User.objects.get(is_staff=True)
    assert staff.email == "boss@shop.test"
    assert staff.check_password("a long passphrase")
    assert read_file(credentials_file) == {
        "email": "boss@shop.test",
        "password": "a long passphrase",
    }


def test_existing_staff_user_is_shown_the_login_from_the_credentials_file(credentials_file):
    ensure_staff_user(credentials_file)
    password = read_file(credentials_file)["password"]

    output = ensure_staff_user(credentials_file)

    assert "Staff user exists" in output
    assert "admin@example.com" in output
    assert password in output


def test_existing_staff_user_without_credentials_file_is_told_about_changepassword(
    credentials_file,
):
    staff = StaffFactory()

    output = ensure_staff_user(credentials_file)

    assert f"manage.py changepassword {staff.email}" in output
    assert not credentials_file.exists()
    assert User.objects.count() == 1


def test_credentials_file_that_no_longer_works_is_reported_stale(credentials_file):
    ensure_staff_user(credentials_file)
    staff = User.objects.get()
    staff.set_password(DEFAULT_PASSWORD)
    staff.save()

    output = ensure_staff_user(credentials_file)

    assert "out of date" in output
    assert "manage.py changepassword admin@example.com" in output
    assert read_file(credentials_file)["password"] not in output


def test_loose_permissions_of_an_old_credentials_file_are_tightened(credentials_file):
    credentials_file.write_text("old")
    credentials_file.chmod(0o644)

    ensure_staff_user(credentials_file)

    assert stat.S_IMODE(credentials_file.stat().st_mode) == 0o600
    assert read_file(credentials_file)["email"] == "admin@example.com"


def test_customer_holding_the_admin_email_is_not_made_staff(credentials_file):
    customer = UserFactory(email="admin@example.com")

    with pytest.raises(CommandError, match="without staff rights"):
        ensure_staff_user(credentials_file)

    customer.refresh_from_db()
    assert not customer.is_staff
    assert User.objects.count() == 1
    assert not credentials_file.exists()


def test_unwritable_credentials_file_creates_no_user(tmp_path):
    with pytest.raises(CommandError, match="Cannot write"):
        ensure_staff_user(tmp_path / "missing-folder" / ".admin-credentials")

    assert not User.objects.exists()

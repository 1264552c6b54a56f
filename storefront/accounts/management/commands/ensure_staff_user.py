"""`manage.py ensure_staff_user`: make sure someone can log in to the admin (a `make run` step).

If no staff user exists, create a superuser: email DJANGO_SUPERUSER_EMAIL (default
admin@example.com), password DJANGO_SUPERUSER_PASSWORD or else a random one. Write both to
.admin-credentials in the project folder (mode 600, git-ignored) and print how to log in.

If a staff user exists, create nothing and print how to log in: with the credentials in
.admin-credentials if they still work, else how to set a password with
`manage.py changepassword`.
"""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

from storefront.accounts.models import User, UserManager

DEFAULT_EMAIL = "admin@example.com"
DEFAULT_ADMIN_URL = "http://127.0.0.1:8000/admin/"


class Command(BaseCommand):
    help = "Create a superuser if there is no staff user, and print how to log in to the admin."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--admin-url",
            default=DEFAULT_ADMIN_URL,
            help=f"Where the admin is served, for the printed hint (default: {DEFAULT_ADMIN_URL}).",
        )
        parser.add_argument(
            "--credentials-file",
            type=Path,
            default=None,
            help="Where to write the login (default: .admin-credentials in the project folder).",
        )

    def handle(self, *args, admin_url: str, credentials_file: Path | None, **options) -> None:
        path = credentials_file or Path(settings.BASE_DIR) / ".admin-credentials"
        with transaction.atomic():
            if User.objects.filter(is_staff=True).exists():
                self._explain_existing_login(path, admin_url)
            else:
                self._create_superuser(path, admin_url)

    def _create_superuser(self, path: Path, admin_url: str) -> None:
        # The variables Django's `createsuperuser --noinput` reads, read the same way (from
        # the environment, in the command): they concern this command only, not the site.
        email = UserManager.normalize_email(
            os.environ.get("DJANGO_SUPERUSER_EMAIL") or DEFAULT_EMAIL
        )
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD") or secrets.token_urlsafe(16)
        try:
            validate_email(email)
        except ValidationError as exc:
            raise CommandError(
                f"DJANGO_SUPERUSER_EMAIL is not an email address: {email!r}"
            ) from exc
        if User.objects.filter(email=email).exists():
            raise CommandError(
                f"{email} is an account without staff rights, so it cannot log in to the admin. "
                "Set DJANGO_SUPERUSER_EMAIL to another address, or run "
                "`manage.py createsuperuser`."
            )
        User.objects.create_superuser(email=email, password=password)
        try:
            write_credentials(path, email=email, password=password)
        except OSError as exc:
            # Rolls the user back: with the password lost, the next run should try again.
            raise CommandError(f"Cannot write {path}: {exc}") from exc
        self.stdout.write(
            self.style.SUCCESS(f"Created the staff user {email}.")
            + f" Log in at {admin_url} with email {email} and password {password}"
            f" (saved in {path})."
        )

    def _explain_existing_login(self, path: Path, admin_url: str) -> None:
        credentials = read_credentials(path)
        email = credentials.get("email", "")
        user = User.objects.filter(email=UserManager.normalize_email(email), is_staff=True).first()
        if user is not None and user.check_password(credentials.get("password")):
            self.stdout.write(
                f"Staff user exists. Log in at {admin_url} with email {user.email} and password"
                f" {credentials['password']} (from {path})."
            )
            return
        staff = User.objects.filter(is_staff=True).order_by("id").first()
        stale = f" ({path} is out of date)" if credentials else ""
        self.stdout.write(
            f"Staff user exists: {staff.email}{stale}. Log in at {admin_url}; to set a new"
            f" password, run: .venv/bin/python manage.py changepassword {staff.email}"
        )


def write_credentials(path: Path, *, email: str, password: str) -> None:
    """Write the admin login to `path`, readable and writable by its owner only (mode 600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(
            "# Storefront admin login, written by `manage.py ensure_staff_user`. Keep it private.\n"
            f"email={email}\npassword={password}\n"
        )
    # os.open's mode only applies when it creates the file; an older file may be looser.
    os.chmod(path, 0o600)


def read_credentials(path: Path) -> dict[str, str]:
    """The `key=value` lines of `path` as a dict; empty if the file is missing or unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return {}
    credentials = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            credentials[key.strip()] = value
    return credentials

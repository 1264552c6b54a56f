import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from storefront.payments.checks import check_sandbox_off_in_production

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("sandbox", "debug", "warned"),
    [(True, False, True), (False, False, False), (True, True, False), (False, True, False)],
)
def test_the_deploy_check_warns_only_of_the_sandbox_with_debug_off(
    settings, sandbox, debug, warned
):
    settings.PAYMENT_SANDBOX, settings.DEBUG = sandbox, debug
    assert [message.id for message in check_sandbox_off_in_production()] == (
        ["payments.W001"] if warned else []
    )


def check_deploy(**env: str) -> subprocess.CompletedProcess:
    """`manage.py check --deploy` with production settings and the env README lists."""
    clean = {k: v for k, v in os.environ.items() if k != "PAYMENT_SANDBOX"}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "shop.example.com",
            # README "Production": the number of proxies is set explicitly.
            "NUM_PROXIES": "1",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_keep_the_sandbox_off_and_check_deploy_clean():
    result = check_deploy()
    assert result.returncode == 0, result.stderr


def test_check_deploy_warns_when_production_turns_the_sandbox_on():
    result = check_deploy(PAYMENT_SANDBOX="1")
    assert result.returncode != 0
    assert "payments.W001" in result.stderr


@pytest.mark.parametrize(
    ("module", "sandbox"),
    [
        ("config.settings.dev", "True"),
        ("config.settings.test", "True"),
        ("config.settings.production", "False"),
    ],
)
def test_the_sandbox_is_on_in_make_run_and_the_tests_and_off_in_production(module, sandbox):
    clean = {k: v for k, v in os.environ.items() if k != "PAYMENT_SANDBOX"}
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.PAYMENT_SANDBOX)"],
        cwd=ROOT,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": module,
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == sandbox, result.stderr

"""The servers Storefront starts for itself (storefront/core/servers.py): the embedded
PostgreSQL keeps its data between runs and stops with its last process; a private Redis dies
with the process that started it; a database URL that is not PostgreSQL is refused."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storefront.core import servers

ROOT = Path(__file__).resolve().parents[3]


def manage(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess:
    """`manage.py args` under development settings, DATABASE_URL and REDIS_URL unset."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
        and not k.startswith("DJANGO_")
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={
            **base,
            "DJANGO_SETTINGS_MODULE": "config.settings.dev",
            "EMBEDDED_POSTGRES_DIR": str(data_dir),
            "CELERY_TASK_ALWAYS_EAGER": "1",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_embedded_database_keeps_its_data_between_runs_and_stops_after_each(tmp_path):
    data_dir = tmp_path / "pg"
    migrated = manage("migrate", "--noinput", data_dir=data_dir)
    assert migrated.returncode == 0, migrated.stderr
    assert (data_dir / "PG_VERSION").read_text().strip() == "18"
    # The last process using it stopped it: no server runs between two commands.
    assert not (data_dir / "postmaster.pid").exists()

    create = (
        "from storefront.catalog.models import Tag; Tag.objects.create(name='Kept', slug='kept')"
    )
    created = manage("shell", "-c", create, data_dir=data_dir)
    assert created.returncode == 0, created.stderr
    read = "from storefront.catalog.models import Tag; print([t.slug for t in Tag.objects.all()])"
    again = manage("shell", "-c", read, data_dir=data_dir)

    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().splitlines()[-1] == "['kept']"
    assert not (data_dir / "postmaster.pid").exists()

    reset = subprocess.run(
        [sys.executable, "-m", "storefront.core.servers", "reset", str(data_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert reset.returncode == 0, reset.stderr
    assert not data_dir.exists()


@pytest.mark.parametrize(
    "url", ["file:///srv/shop.db", "mysql://root@127.0.0.1/shop", "redis://127.0.0.1:6379/0"]
)
def test_a_database_url_that_is_not_postgresql_is_refused_in_one_line(tmp_path, url):
    result = manage("check", data_dir=tmp_path / "unused", DATABASE_URL=url)

    assert result.returncode == 1
    scheme = url.split("://")[0]
    assert result.stderr.strip() == (
        "DATABASE_URL must be a PostgreSQL URL (postgres://user:password@host:port/name), "
        f"not {scheme}://...: Storefront runs on PostgreSQL only."
    )
    assert not (tmp_path / "unused").exists()


def test_production_settings_refuse_to_start_without_a_database_url(tmp_path):
    result = manage(
        "check",
        data_dir=tmp_path / "unused",
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY="x" * 60,
    )

    assert result.returncode == 1
    assert result.stderr.strip() == "Set DATABASE_URL to the PostgreSQL server (postgres://...)."
    assert not (tmp_path / "unused").exists()


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 0.5):
            return True
    except OSError:
        return False


def test_a_private_redis_dies_with_the_process_that_started_it(tmp_path):
    # The starter is killed, so no atexit runs: only the kernel's parent-death signal can
    # stop the server.
    script = (
        "import os, sys, pathlib\n"
        "from storefront.core.servers import private_redis_url\n"
        f"print(private_redis_url(pathlib.Path({str(tmp_path)!r})), flush=True)\n"
        "sys.stdin.read()\n"
    )
    starter = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    url = starter.stdout.readline().strip()
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    assert listening(port)

    starter.kill()
    starter.wait(timeout=10)

    deadline = time.monotonic() + 10
    while listening(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not listening(port)


def test_the_suite_runs_on_its_own_redis_unless_told_otherwise(settings):
    # config/settings/test.py: REDIS_URL unset starts a private redis-server, on a port of
    # its own; with REDIS_URL set (CI's second round) the suite uses that one.
    assert os.environ["REDIS_URL"] == settings.REDIS_URL
    assert settings.CELERY_BROKER_URL.startswith(settings.REDIS_URL.rsplit("/", 1)[0])


def test_a_socket_folder_round_trips_through_the_database_url():
    import dj_database_url

    database = {"USER": "postgres", "PASSWORD": "", "HOST": "/tmp/a b/pg", "PORT": "", "NAME": "x"}
    parsed = dj_database_url.parse(servers.database_url_of(database))

    assert (parsed["HOST"], parsed["NAME"], parsed["USER"]) == ("/tmp/a b/pg", "x", "postgres")

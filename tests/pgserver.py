"""A private PostgreSQL cluster for fault tests, which stop it, hang it and start it again.

Debian's PostgreSQL 15 binaries (/usr/lib/postgresql/15/bin) run a new cluster in a
temporary directory, on a free port of 127.0.0.1. PostgreSQL refuses to run as root, so as
root the commands run as the `postgres` user (runuser). The machine's own server
(127.0.0.1:5432) is never touched.
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
import pytest

from tests.ports import free_port

BIN = Path("/usr/lib/postgresql/15/bin")
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
        self._run("initdb", "-D", self.data, "-U", USER, "-A", "trust", "--no-sync", "-E", "UTF8")

    def _run(self, program: str, *args) -> None:
        command = [str(BIN / program), *map(str, args)]
        if os.geteuid() == 0:
            command = ["runuser", "-u", USER, "--", *command]
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
    """A started private cluster, removed afterwards; skips the test without the binaries."""
    if not (BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL 15 binaries not found in {BIN}")
    root = Path(tempfile.mkdtemp(prefix="storefront-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, USER)
    server = None
    try:
        server = PostgresServer(root)
        server.start()
        yield server
    finally:
        if server is not None:
            server.close()
        shutil.rmtree(root, ignore_errors=True)

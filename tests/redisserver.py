"""A private redis-server for fault tests: on a free port of its own, so a test can hang it
(SIGSTOP), resume it (SIGCONT), kill it and start it again without touching the machine's
Redis on 6379."""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import redis

from tests.ports import free_port


class RedisServer:
    """One redis-server process on 127.0.0.1:`port`, without persistence."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.hung = False

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self, timeout: float = 10) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        command = [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
        command += ["--appendonly", "no", "--dir", str(self.folder)]
        log = (self.folder / "redis.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis(port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        pytest.fail(f"redis-server did not start on port {self.port} in {timeout} s")

    def hang(self) -> None:
        """Freeze the server: it still accepts TCP connections (the kernel does) but never
        answers, like a Redis stuck in a long command or behind a dead network path."""
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

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(port=self.port, db=db, socket_timeout=2, socket_connect_timeout=2)

"""Free TCP ports on 127.0.0.1, for the servers the tests start (Redis, PostgreSQL, gunicorn)."""

import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

"""A real SMTP server on loopback (aiosmtpd) for the worker-crash tests: it records every
message it accepts, and can stall a delivery just before accepting it (the DATA reply) or
just after (the QUIT reply), so a test can kill the worker at either instant."""

import asyncio
import threading
import time
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller

from storefront.core.servers import free_port

STALL_SECONDS = 60


class SMTPServer:
    """The aiosmtpd handler, and the test's handle on it (thread-safe)."""

    def __init__(self):
        self.port = free_port()
        self.accepted: list[Message] = []
        self.stall_at: str | None = None  # "DATA" or "QUIT"
        self.stalled = threading.Event()
        self.released = threading.Event()
        self._stalled_server = None  # the aiosmtpd session that waits at `stall_at`
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self.released.set()
        self._controller.stop()

    def stall(self, stage: str) -> None:
        """Make the next delivery wait at `stage` until release() (or its client is gone)."""
        self.stall_at = stage
        self.stalled.clear()
        self.released.clear()

    def wait_stalled(self, timeout: float = 60) -> None:
        if not self.stalled.wait(timeout):
            pytest.fail(f"No delivery reached {self.stall_at} within {timeout} s")

    def wait_client_gone(self, timeout: float = 10) -> None:
        """Wait until the stalled delivery's client has disconnected (a killed worker's pool
        process dies a moment after the worker's main process, which is what kill() waits
        for)."""
        deadline = time.monotonic() + timeout
        while self._client_connected() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not self._client_connected(), "the stalled client is still connected"

    def _client_connected(self) -> bool:
        server = self._stalled_server
        return (
            server is not None
            and server.transport is not None
            and not (server.transport.is_closing())
        )

    def release(self) -> None:
        self.stall_at = None
        self.released.set()

    def wait_accepted(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.accepted) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.accepted) >= count, f"{len(self.accepted)} email(s) accepted"

    def keys(self) -> list[str]:
        return [message["X-Storefront-Notification"] for message in self.accepted]

    async def _maybe_stall(self, stage: str, server) -> bool:
        """Wait at `stage` if told to; return whether the client is still connected."""
        if self.stall_at != stage:
            return True
        self._stalled_server = server
        self.stalled.set()
        deadline = time.monotonic() + STALL_SECONDS
        while not self.released.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        # A killed worker's connection may be released before aiosmtpd has cancelled its
        # session: a client that is gone never had its email accepted.
        return server.transport is not None and not server.transport.is_closing()

    # aiosmtpd handler hooks.

    async def handle_DATA(self, server, session, envelope) -> str:
        if not await self._maybe_stall("DATA", server):
            return "421 Client gone"
        self.accepted.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server, session, envelope) -> str:
        await self._maybe_stall("QUIT", server)
        return "221 Bye"

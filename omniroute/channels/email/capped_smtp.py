"""An aiosmtpd controller that serves at most so many connections at once (421 past it)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

TOO_MANY = b"421 4.7.0 Too many connections, try again later\r\n"


class _Count:
    """The connections being served; touched only on the listener's own loop."""

    def __init__(self, most: int) -> None:
        self.most = most
        self.open = 0


class _CappedSMTP(SMTP):
    """aiosmtpd's server, refusing a connection past the count (senders retry a 421 later)."""

    def __init__(self, *args: Any, count: _Count, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._count = count
        self._refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Serve the connection, or say 421 and close it when the count is reached."""
        if self._count.open >= self._count.most:
            self._refused = True
            if isinstance(transport, asyncio.WriteTransport):  # always, for a TCP server
                transport.write(TOO_MANY)
            transport.close()
            return
        self._count.open += 1
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        """Free the connection's place."""
        if self._refused:
            return
        self._count.open -= 1
        super().connection_lost(error)

    def data_received(self, data: bytes) -> None:
        """Nothing of a refused connection is read."""
        if not self._refused:
            super().data_received(data)

    def eof_received(self) -> bool | None:
        """A refused connection is closed already."""
        return False if self._refused else super().eof_received()


class CappedController(Controller):
    """aiosmtpd's controller whose server takes at most `max_connections` at once."""

    def __init__(self, *args: Any, max_connections: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._count = _Count(max_connections)

    def factory(self) -> SMTP:
        """A server for one connection, counted."""
        return _CappedSMTP(self.handler, count=self._count, **self.SMTP_kwargs)

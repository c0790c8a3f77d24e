"""Run an aiohttp application the way the course runs every demo server.

The runtime (:mod:`ws_course.runtime.background`) and the command line start a demo by
awaiting what its ``serve(host, port)`` returns, read its :attr:`port`, and stop it
with :meth:`aclose`: every course server is a
:class:`~ws_course.runtime.server.ServerHandle`. :class:`AppServer` makes an
aiohttp application one, so lesson 07's feed (:mod:`ws_course.news_feed`) runs
like the others.

It uses an ``AppRunner``, which leaves the process's signals alone (``web.run_app``
would take them over), so it works in a background thread and in a notebook's
kernel; :class:`~ws_course.web.socketio_app.SocketIOServer` runs on it too. And it
gives aiohttp the timeouts and the cap it lacks by default
(:class:`~ws_course.safety.connections.ConnectionWatch`): a request head must come
within ``head_timeout`` seconds, and only so many connections may wait for one.
"""

from __future__ import annotations

import asyncio
import logging
import socket

from aiohttp import web

from ..runtime.server import ServerHandle
from ..safety.connections import HEAD_TIMEOUT, MAX_WAITING, ConnectionWatch

# runner.server's protocols go through ConnectionWatch, which passes on only the callbacks aiohttp's protocol
# implements today (see ws_course.contract).


class AppServer(ServerHandle):
    """An aiohttp application listening on ``host:port``: ``await`` it to start it.

    Args:
        app: The application (not served yet: the watch's middleware goes first in it).
        close_timeout: Seconds that stopping waits for requests still running
            (a held long-poll, a stream of events) before it cuts them.
        head_timeout: Seconds a connection may wait for a complete request head
            (:mod:`ws_course.safety.connections`).
        max_waiting: At most this many connections waiting for a request head;
            beyond, those that have waited longest are closed.
        send_buffer: Each connection's kernel send buffer in bytes (``SO_SNDBUF``),
            or None to leave it to the system.
        logger: Where the watch logs what it refuses.

    Attributes:
        watch: Its :class:`~ws_course.safety.connections.ConnectionWatch`, which
            knows every open connection.
    """

    def __init__(
        self,
        app: web.Application,
        host: str,
        port: int,
        *,
        close_timeout: float = 10,
        head_timeout: float = HEAD_TIMEOUT,
        max_waiting: int = MAX_WAITING,
        send_buffer: int | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.app = app
        self.host, self._port = host, port
        self.close_timeout = close_timeout
        self.watch = ConnectionWatch(
            head_timeout=head_timeout, max_waiting=max_waiting, send_buffer=send_buffer, logger=logger
        )
        app.middlewares.insert(0, self.watch.middleware)  # first: it sees each request start and end
        self._runner: web.AppRunner | None = None
        self._server: asyncio.Server | None = None

    def __await__(self):
        return self._start().__await__()

    async def _start(self) -> AppServer:
        self._runner = web.AppRunner(
            self.app, handle_signals=False, access_log=None, shutdown_timeout=self.close_timeout,
            keepalive_timeout=self.watch.keepalive_timeout,  # (aiohttp's default: an hour)
        )
        await self._runner.setup()  # runs the application's startup hooks
        # runner.server makes one aiohttp protocol per connection, what a TCPSite would
        # give the listening socket; the watch stands in between.
        self.watch.protocol_factory = self._runner.server
        try:
            self._server = await asyncio.get_running_loop().create_server(self.watch, self.host, self._port)
        except BaseException:
            await self._runner.cleanup()
            raise
        self.watch.start()
        return self

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        """The listening sockets (their port is the one the system picked for port 0)."""
        return tuple(self._server.sockets) if self._server is not None else ()

    @property
    def port(self) -> int:
        return self.sockets[0].getsockname()[1]

    async def aclose(self) -> None:
        """Stop accepting connections, run the shutdown hooks, end every connection, run the cleanup hooks."""
        self.watch.stop()
        if self._server is not None:
            self._server.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._server is not None:
            # After the connections ended: since Python 3.12 this waits for them.
            await self._server.wait_closed()

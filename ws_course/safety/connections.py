"""How long an aiohttp server waits for a request, and for how many connections at once.

The Socket.IO demos and lesson 07's feed run on aiohttp, started with an
``AppRunner``. Left to its defaults, aiohttp keeps a connection whose request
head never completes for its keep-alive time, 3630 seconds (``web.run_app``
says 75): a client that sends ``GET / HTTP/1.1`` and then nothing, or one header
line every minute (the attack called *slowloris*), holds a connection and a file
descriptor for an hour. Measured on the event chat: held for the 200 s the test
lasted. Others drop it far sooner: ``websockets`` after 10 s (its
``open_timeout``), nginx and Node.js after 60 s. And nothing counted these
connections: with an open-files limit of 1024, 1030 of them locked every new
user out, the member cap being no help (they are no members), and nothing was
logged.

:class:`ConnectionWatch` stands between the listening socket and aiohttp's
protocol, and sees every connection open, receive bytes, start and end requests
(through :meth:`ConnectionWatch.middleware`), and close:

- **head_timeout** (:data:`HEAD_TIMEOUT`, 10 s, as ``websockets``): a new
  connection must have sent a complete request head within that time, and a
  kept-alive one that has begun its next head must finish it as soon, or it is
  closed. A connection idle after a response (an ordinary browser's, kept for
  its next request) is closed by aiohttp's own ``keepalive_timeout``, set a
  moment later (:attr:`ConnectionWatch.keepalive_timeout`).
- **max_waiting** (:data:`MAX_WAITING`): at most that many connections may wait
  for a request head at once. When more wait, those that have waited longest are
  closed, provided they have waited :data:`GRACE` seconds (a class arriving at
  once sends its heads within milliseconds, and keeps its place). So slow
  connections never use up the file descriptors that newcomers need.
- **send_buffer**: the size of each connection's kernel send buffer
  (``SO_SNDBUF``; :data:`~ws_course.safety.limits.SEND_BUFFER` for the guarded
  servers, :func:`~ws_course.safety.limits.limit_send_buffer` says why).

Each kind of refusal is one line in the server's log, the same words every time,
so that :class:`~ws_course.safety.logs.QuietRepeats` collapses a storm of them.
A connection that sent nothing at all and is closed when its time is up is not
refused anything: that is an idle connection, closed as idle connections are,
without a word.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .limits import SPARE_FILES, limit_send_buffer
from .logs import Detail

# Beyond aiohttp's documented API: WatchedConnection passes on to aiohttp's protocol only the callbacks it
# implements today (see ws_course.contract).

#: Seconds a connection may wait for a complete request head.
HEAD_TIMEOUT = 10.0

#: At most this many connections wait for a request head at once: half the file
#: descriptors :mod:`~ws_course.safety.limits` keeps for everything but members.
MAX_WAITING = SPARE_FILES // 2

#: Beyond ``max_waiting``, a connection is closed only once it has waited this many seconds.
GRACE = 1.0


class ConnectionWatch:
    """Every connection of one aiohttp server: what it waits for, since when, and its send buffer.

    Give it to ``loop.create_server()`` as the protocol factory, once
    :attr:`protocol_factory` is aiohttp's (``runner.server``); put
    :meth:`middleware` first in the application's middlewares; :meth:`start` it
    with the server and :meth:`stop` it after. :class:`~ws_course.web.aiohttp_app.AppServer`
    does all of that.

    Attributes:
        connections: The open connections, by transport.
        waiting: The connections waiting for a request head, longest first.
    """

    def __init__(
        self,
        *,
        head_timeout: float = HEAD_TIMEOUT,
        max_waiting: int = MAX_WAITING,
        send_buffer: int | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        if head_timeout <= 0 or max_waiting < 1:
            raise ValueError("head_timeout must be positive and max_waiting at least 1")
        self.head_timeout = head_timeout
        self.max_waiting = max_waiting
        self.send_buffer = send_buffer
        self.logger = logger or logging.getLogger("ws_course.connections")
        self.protocol_factory: Callable[[], asyncio.Protocol] | None = None
        self.connections: dict[asyncio.BaseTransport, WatchedConnection] = {}
        self.waiting: dict[WatchedConnection, None] = {}  # (a dict keeps the order they began waiting)
        #: How often the watch looks at the connections waiting.
        self.period = min(1.0, head_timeout / 4)
        self._sweeper: asyncio.TimerHandle | None = None

    @property
    def keepalive_timeout(self) -> float:
        """aiohttp's ``keepalive_timeout``: an idle connection is closed a moment after ``head_timeout``.

        (aiohttp 3.14 also starts it when a connection opens; a moment later,
        so that the watch is the one that closes, and says why.)
        """
        return self.head_timeout + self.period

    def __call__(self) -> WatchedConnection:
        """A protocol for a new connection: aiohttp's, watched."""
        return WatchedConnection(self, self.protocol_factory())

    def start(self) -> None:
        """Look at the connections waiting every :attr:`period` seconds, from now on (in the server's loop)."""
        self._sweeper = asyncio.get_running_loop().call_later(self.period, self._sweep)

    def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        for connection in list(self.waiting):  # longest first
            if now - connection.waiting_since < self.head_timeout:
                break  # the others have waited less
            connection.close_waiting(timed_out=True)
        self.make_room()
        self._sweeper = loop.call_later(self.period, self._sweep)

    def make_room(self) -> None:
        """While more than ``max_waiting`` connections wait, close the one that has waited longest (if :data:`GRACE` s)."""
        if len(self.waiting) <= self.max_waiting:
            return
        now = asyncio.get_running_loop().time()
        for connection in list(self.waiting):
            if len(self.waiting) <= self.max_waiting or now - connection.waiting_since < GRACE:
                break
            connection.close_waiting(timed_out=False)

    @web.middleware
    async def middleware(self, request: web.Request, handler) -> web.StreamResponse:
        """Tell the watch when a request starts (its head has come) and when its handler is done."""
        connection = self.connections.get(request.transport)
        if connection is None:
            return await handler(request)
        connection.request_started()
        try:
            return await handler(request)
        finally:
            connection.request_ended()


class WatchedConnection(asyncio.Protocol):
    """aiohttp's protocol for one connection, seen by a :class:`ConnectionWatch` on its way in."""

    def __init__(self, watch: ConnectionWatch, protocol: asyncio.Protocol) -> None:
        self.watch = watch
        self.protocol = protocol  # aiohttp's RequestHandler
        self.transport: asyncio.Transport | None = None
        self.requests = 0  # requests whose head came
        self.active = 0  # requests whose handler is running
        self.pending = 0  # bytes received since it last began waiting (part of a head)
        self.waiting_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        if self.watch.send_buffer:
            limit_send_buffer(transport, self.watch.send_buffer)
        self.watch.connections[transport] = self
        self._wait()
        self.watch.make_room()
        self.protocol.connection_made(transport)

    def _wait(self) -> None:
        self.waiting_since = asyncio.get_running_loop().time()
        self.pending = 0
        self.watch.waiting[self] = None

    def data_received(self, data: bytes) -> None:
        if not self.active:
            if self.requests and self not in self.watch.waiting:
                self._wait()  # the start of its next request's head
            self.pending += len(data)
        self.protocol.data_received(data)

    def eof_received(self) -> bool | None:
        return self.protocol.eof_received()

    def pause_writing(self) -> None:
        self.protocol.pause_writing()

    def resume_writing(self) -> None:
        self.protocol.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self.watch.connections.pop(self.transport, None)
        self.watch.waiting.pop(self, None)
        self.protocol.connection_lost(exc)

    def request_started(self) -> None:
        self.requests += 1
        self.active += 1
        self.watch.waiting.pop(self, None)

    def request_ended(self) -> None:
        self.active -= 1

    def close_waiting(self, timed_out: bool) -> None:
        """Close it for waiting too long, or for waiting longest when too many wait; log why."""
        self.watch.waiting.pop(self, None)
        address = Detail(_address(self.transport))
        watch = self.watch
        if not timed_out:
            watch.logger.warning(
                "closed a connection from %s: more than %d connections were waiting for a request head",
                address, watch.max_waiting,
            )
        elif self.pending:  # (one that sent nothing at all is only idle)
            watch.logger.warning(
                "closed a connection from %s: its request head did not come within %g s", address, watch.head_timeout
            )
        self.transport.close()


def _address(transport: Any) -> str:
    peer = transport.get_extra_info("peername") if transport is not None else None
    return str(peer[0]) if isinstance(peer, (tuple, list)) and peer else "an unknown address"

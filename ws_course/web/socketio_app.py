"""Serve a python-socketio server, its page and the Socket.IO JavaScript client on one port.

python-socketio is the protocol; it needs a web server to run in. Here that is
aiohttp, started with an ``AppRunner`` (which, unlike ``web.run_app`` or uvicorn,
does not take over the process's signals, so it works in a background thread
and in a notebook's kernel), by :class:`~ws_course.web.aiohttp_app.AppServer`,
with its timeouts. One port serves:

- ``/``: the demo's page, from ``static/``;
- ``/socket.io.js``: the official JavaScript client, ``socket.io-client``
  (package data: see :mod:`ws_course.web.static`), so that a classroom without
  internet still works: no CDN;
- ``/course.js``: what every course page shares;
- ``/socket.io/``: the Socket.IO endpoint itself.

It also applies the classroom protections (a :class:`~ws_course.safety.guard.Guard`):
see :mod:`ws_course.safety.socketio_guard` and :mod:`ws_course.safety.socketio_packets`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import socketio
from aiohttp import web

from ..runtime.server import ServerHandle
from ..safety.connections import HEAD_TIMEOUT, MAX_WAITING
from ..safety.guard import Guard
from ..safety.socketio_guard import HANDSHAKE_TIMEOUT, MAX_HALF_OPEN, SocketIOGuard
from ..safety.socketio_packets import SafeJSON, packet_class
from ..language.pages import page_file
from .aiohttp_app import AppServer
from .socketio_manager import EmitInTurn
from .static import SHARED, SOCKETIO_CLIENT, STATIC

# Beyond python-socketio's documented API: sio.eio, sio.manager, Engine.IO's cors_allowed_origins (see ws_course.contract).


class SocketIOServer(ServerHandle):
    """A Socket.IO demo listening on a port: ``await`` it to start it.

    Like every course server, it is a :class:`~ws_course.runtime.server.ServerHandle`:
    the runtime reads its :attr:`port` and stops it with :meth:`aclose`.

    Args:
        create_server: The demo's function that builds its ``socketio.AsyncServer``
            (with its event handlers) from keyword options.
        page: The page's file name in ``static/``.
        logger: Where the server logs (Socket.IO's and Engine.IO's records both).
        close_timeout: Seconds to wait for connections while closing.
        guard: Its protections: allowed origins, member and buffer caps.
        head_timeout: Seconds a connection may wait for a complete HTTP request
            head; ``max_waiting``: how many may wait at once
            (:mod:`ws_course.safety.connections`).
        handshake_timeout: Seconds an Engine.IO session has to connect to
            Socket.IO (and a WebSocket upgrade to complete); ``max_half_open``: how
            many sessions from one address may wait so at once
            (:mod:`ws_course.safety.socketio_guard`).
        options: More options for ``socketio.AsyncServer`` (``ping_interval``, ...).
    """

    def __init__(
        self,
        create_server: Callable[..., socketio.AsyncServer],
        page: str,
        host: str,
        port: int,
        *,
        logger: logging.Logger | None = None,
        close_timeout: float = 10,
        guard: Guard | None = None,
        head_timeout: float = HEAD_TIMEOUT,
        max_waiting: int = MAX_WAITING,
        handshake_timeout: float = HANDSHAKE_TIMEOUT,
        max_half_open: int = MAX_HALF_OPEN,
        **options: Any,
    ) -> None:
        logger = logger or logging.getLogger("ws_course.socketio")
        # Engine.IO logs only warnings here: otherwise it adds a handler that prints
        # from the server's thread, and every packet would be a line of the log.
        engineio_logger = logger.getChild("engineio")
        engineio_logger.setLevel(logging.WARNING)
        self.guard = guard or Guard()
        packets = packet_class()  # refuses reserved names, too many attachments, deep JSON, wrong argument counts
        # EmitInTurn: a room's message goes to each member in a loop, not a task each.
        options = {"serializer": packets, "json": SafeJSON, "client_manager": EmitInTurn(), **options}
        self.sio = create_server(logger=logger, engineio_logger=engineio_logger, **options)
        packets.max_attachment_bytes = self.sio.eio.max_http_buffer_size
        packets.server = self.sio  # whose handlers an event's arguments must fit
        self.protections = SocketIOGuard(
            self.sio, self.guard, logger, handshake_timeout=handshake_timeout, max_half_open=max_half_open
        )
        if "cors_allowed_origins" not in options:
            # Engine.IO's CORS headers follow the same rule as the middleware's 403.
            self.sio.eio.cors_allowed_origins = self.protections.cors_allows
        self.host, self._port = host, port
        self.close_timeout = close_timeout
        self.app = web.Application(middlewares=[self.protections.middleware])
        self.sio.attach(self.app)
        self.app.router.add_get("/", _page_handler(STATIC / page))
        for route, path in {"/socket.io.js": SOCKETIO_CLIENT, **SHARED}.items():
            self.app.router.add_get(route, _file_handler(path))
        self.http = AppServer(
            self.app, host, port, close_timeout=close_timeout, head_timeout=head_timeout, max_waiting=max_waiting,
            send_buffer=self.guard.send_buffer, logger=logger,
        )
        self._started = False

    def __await__(self):
        return self._start().__await__()

    async def _start(self) -> SocketIOServer:
        await self.sio.manager.start()  # a room shared through Redis joins it (lesson 09)
        try:
            await self.http
        except BaseException:
            await self.sio.manager.aclose()
            raise
        self._started = True
        return self

    @property
    def port(self) -> int:
        """The port it listens on (useful when it asked for port 0)."""
        return self.http.port

    async def aclose(self) -> None:
        """Disconnect every client (they see "io server disconnect"), then stop listening."""
        for sid, _ in list(self.sio.manager.get_participants("/", None)):
            await self.sio.disconnect(sid)
        await self.sio.shutdown()
        self.protections.stop()
        if self._started:
            await self.http.aclose()
        await self.sio.manager.aclose()  # a room shared through Redis leaves it


def _page_handler(path: Path):
    """The page, in the language its address asks for (``/?lang=zh``: see :mod:`ws_course.language.pages`)."""

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=page_file(path, str(request.rel_url)), content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "no-store"})

    return handler


def _file_handler(path: Path):
    async def handler(request: web.Request) -> web.FileResponse:
        return web.FileResponse(path, headers={"Cache-Control": "no-store"})

    return handler

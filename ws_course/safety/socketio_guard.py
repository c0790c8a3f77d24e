"""The classroom protections of :mod:`ws_course.safety.guard`, for a Socket.IO server on aiohttp.

python-socketio runs on Engine.IO, which runs inside aiohttp. Each protection goes
where the data it guards is:

- **Hosts, origins, members, request sizes**: :meth:`SocketIOGuard.middleware`, an
  aiohttp middleware, sees every HTTP request before Engine.IO does, for both
  transports (a WebSocket starts as an HTTP request, long-polling is nothing
  but HTTP requests). A ``Host`` that is no name of this server or a foreign
  ``Origin`` gets 403 (:mod:`ws_course.safety.origins`), a new session beyond
  ``max_clients`` 503, a long-polling POST larger than the server's
  ``max_http_buffer_size`` 413 at once (Engine.IO itself would drop the
  session and never answer the request).
- **Half-open sessions**: ``GET /socket.io/?EIO=4&transport=polling`` makes
  Engine.IO open a session at once, before any Socket.IO connect. Counted as
  members, 20 such requests a second kept a room full: real members got 503.
  So a member is a session that has connected to Socket.IO; a *half-open*
  session (not yet connected) counts apart. It has ``handshake_timeout``
  seconds (:data:`HANDSHAKE_TIMEOUT`) to connect, or it is dropped; at most
  ``max_half_open`` (:data:`MAX_HALF_OPEN`) of them from one address, and
  :data:`MAX_HALF_OPEN_IN_ALL` in all, wait at once: a newer one pushes out the
  one that has waited longest, if that one has waited :data:`HALF_OPEN_GRACE`
  seconds. A real client connects within milliseconds of opening its session,
  so half-open sessions cannot keep it out. A WebSocket
  upgrade of a session must complete as soon. (Behind a proxy, every client
  has the proxy's address: then the cap per address is the cap in all.)
- **Unsent data**: Engine.IO keeps what it has to send to a client in that
  client's queue (an :class:`asyncio.Queue`, unbounded) until a long-polling GET
  or the WebSocket writer takes it; for a client that does not read, it only
  grows. :class:`Outbox` is that queue with a byte count: above ``max_buffer``
  the member is disconnected, its backlog dropped, and its WebSocket (if it
  has one) cut.
- **Packets**: a malformed one (:mod:`ws_course.safety.socketio_packets`: reserved
  names, attachments, deep JSON, an event with more or fewer arguments than its
  handler takes) is logged in one line and its sender disconnected, instead of a
  traceback; the same offence from many sessions collapses into a few lines.
"""

from __future__ import annotations

import asyncio
import http
import logging
from typing import Any

import socketio
from aiohttp import web
from engineio import packet as eio_packet

from .guard import SINGLE_HEADERS, Guard, own_port
from .logs import Detail
from .origins import page_key_in
from .socketio_packets import MalformedPacket
from .upgrade import wants_websocket

# Beyond Engine.IO's documented API: handlers ('message', 'connect' and 'disconnect' replaced; what the connect
# handler's return means), sockets, create_queue replaced, a session's queue, close() and upgraded;
# python-socketio's environ and manager.sid_from_eio_sid (see ws_course.contract).

#: Seconds an Engine.IO session has to connect to Socket.IO, and a WebSocket upgrade to complete.
HANDSHAKE_TIMEOUT = 5.0

#: At most this many half-open sessions from one address at once.
MAX_HALF_OPEN = 8

#: At most this many half-open sessions at once, from all addresses together.
MAX_HALF_OPEN_IN_ALL = 128

#: Beyond those caps, a half-open session is dropped only once it has waited this many
#: seconds: a class arriving at once, behind one address, keeps its places.
HALF_OPEN_GRACE = 1.0


class Outbox(asyncio.Queue):
    """An Engine.IO client's queue of packets to send, which knows how much it holds.

    ``pending`` counts the characters (or bytes, for binary packets) of the
    packets waiting. When a put takes it past ``max_pending``, ``on_full(self)``
    is called, once; from then on the queue drops what is put in it (except the
    ``None`` that tells its reader to stop).
    """

    def __init__(self, max_pending: int, on_full) -> None:
        super().__init__()
        self.max_pending = max_pending
        self.on_full = on_full
        self.pending = 0
        self.overflowed = False
        self._reader: asyncio.Future | None = None  # what get() handed to the one reader waiting

    def get(self) -> asyncio.Future:
        """The next packet, as a future: done at once if one is waiting.

        Engine.IO's writer awaits ``asyncio.wait_for(queue.get(), timeout)`` for every
        packet it sends. Given a coroutine, ``wait_for`` (before Python 3.12) wraps it
        in a new task: a task for every message to every member. Given a future that
        is already done, it returns at once. (One reader at a time, as Engine.IO has.)
        """
        future = asyncio.get_running_loop().create_future()
        if self.empty():
            self._reader = future  # put_nowait() hands it the next packet
        else:
            future.set_result(self.get_nowait())
        return future

    def put_nowait(self, item: Any) -> None:
        if self.overflowed and item is not None:
            return  # a member being cut gets nothing more
        super().put_nowait(item)
        self.pending += packet_size(item)
        reader, self._reader = self._reader, None
        if reader is not None and not reader.done():  # (a reader that timed out has cancelled it)
            reader.set_result(self.get_nowait())
        if self.pending > self.max_pending and not self.overflowed:
            self.overflowed = True
            self.on_full(self)

    def get_nowait(self) -> Any:
        item = super().get_nowait()
        self.pending -= packet_size(item)
        return item

    def drop_all(self) -> None:
        """Forget every packet waiting (as if sent: ``join()`` does not wait for them)."""
        while True:
            try:
                self.get_nowait()
            except asyncio.QueueEmpty:
                return
            self.task_done()

    def finish(self, *last: Any) -> None:
        """Drop every packet waiting, and put ``last`` instead, even once overflowed."""
        self.drop_all()
        self.overflowed, overflowed = False, self.overflowed
        for item in last:
            self.put_nowait(item)
        self.overflowed = overflowed


def packet_size(item: Any) -> int:
    """About how many bytes an Engine.IO packet takes on the wire."""
    data = getattr(item, "data", None)
    if isinstance(data, (str, bytes, bytearray)):
        return len(data) + 1
    return 16  # None, or a small control packet


class SocketIOGuard:
    """Apply a :class:`~ws_course.safety.guard.Guard` to one python-socketio server.

    Create it after the ``socketio.AsyncServer``: it hooks into Engine.IO (its
    ``message`` handler and its ``create_queue``), and gives the aiohttp
    application its :meth:`middleware`.
    """

    def __init__(
        self,
        sio: socketio.AsyncServer,
        guard: Guard,
        logger: logging.Logger,
        *,
        handshake_timeout: float = HANDSHAKE_TIMEOUT,
        max_half_open: int = MAX_HALF_OPEN,
    ) -> None:
        self.sio = sio
        self.eio = sio.eio
        self.guard = guard
        self.origins = guard.origins
        self.hosts = guard.hosts
        self.logger = logger
        self.handshake_timeout = handshake_timeout
        self.max_half_open = max_half_open
        self._websocket_requests: dict[str, web.Request] = {}  # sessions upgraded from polling
        self._tasks: set[asyncio.Task] = set()
        # Half-open sessions: sid -> (address, when it opened, the timer that drops it), longest first; and by address.
        self._half_open: dict[str, tuple[str, float, asyncio.TimerHandle]] = {}
        self._half_open_from: dict[str, dict[str, None]] = {}
        self._handle_message = self.eio.handlers["message"]
        self.eio.on("message", self._checked_message)
        self._handle_connect = self.eio.handlers["connect"]
        self.eio.on("connect", self._checked_connect)
        self._handle_disconnect = self.eio.handlers["disconnect"]
        self.eio.on("disconnect", self._checked_disconnect)
        self.eio.create_queue = lambda *args, **kwargs: Outbox(guard.max_buffer, self._outbox_full)

    # -- Engine.IO's CORS answer: the same rule as the middleware -----------------

    def cors_allows(self, origin: str | None, environ: dict[str, Any]) -> bool:
        """For ``AsyncServer(cors_allowed_origins=...)``: which origins get CORS headers."""
        return self.origins.allows(
            origin, environ.get("HTTP_HOST"), environ.get("HTTP_X_FORWARDED_HOST"), environ.get("HTTP_X_FORWARDED_PROTO"),
            key=page_key_in(environ.get("QUERY_STRING")),
        )

    # -- HTTP requests ------------------------------------------------------------

    @web.middleware
    async def middleware(self, request: web.Request, handler) -> web.StreamResponse:
        for name in SINGLE_HEADERS:
            if len(request.headers.getall(name, [])) > 1:
                return self.refuse(request, http.HTTPStatus.BAD_REQUEST, f"more than one {name} header")
        refusal = self.hosts.refusal(
            request.headers, own_port(request.transport), wants_websocket(request)
        ) or self.origins.refusal(request.headers, request.query_string)
        if refusal is not None:
            return self.refuse(request, http.HTTPStatus.FORBIDDEN, refusal)
        if not request.path.startswith("/socket.io"):
            return await handler(request)
        sid = request.query.get("sid")
        if sid is None and request.method == "GET" and self.members() >= self.guard.max_clients:
            return self.refuse(
                request, http.HTTPStatus.SERVICE_UNAVAILABLE, f"the room is full ({self.guard.max_clients} members)"
            )
        if request.method == "POST":
            too_big = self.check_post(request, sid)
            if too_big is not None:
                return too_big
        if sid is not None and wants_websocket(request):
            self._websocket_requests[sid] = request  # so that a member too far behind can be cut
            timer = asyncio.get_running_loop().call_later(self.handshake_timeout, self._check_upgrade, sid, request)
            try:
                return await handler(request)
            finally:
                timer.cancel()
                self._websocket_requests.pop(sid, None)
        return await handler(request)

    def _check_upgrade(self, sid: str, request: web.Request) -> None:
        """A session's WebSocket upgrade that is not done ``handshake_timeout`` s after it began is cut."""
        session = self.eio.sockets.get(sid)
        if session is not None and not session.upgraded and request.transport is not None:
            self.logger.warning(
                "cut a WebSocket upgrade from %s: not done within %g s", Detail(request.remote), self.handshake_timeout
            )
            request.transport.abort()

    def check_post(self, request: web.Request, sid: str | None) -> web.Response | None:
        """A long-polling POST must say its length, and keep within the message size."""
        if request.content_length is None:
            return self.refuse(request, http.HTTPStatus.LENGTH_REQUIRED, "a long-polling POST without Content-Length")
        limit = self.eio.max_http_buffer_size
        if request.content_length <= limit:
            return None
        if sid is not None and sid in self.eio.sockets:
            self.spawn(self.disconnect(sid))  # as over a WebSocket: a message too big ends the session
        response = self.refuse(
            request, http.HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            f"a long-polling body of {request.content_length} bytes, over {limit}; session {sid} disconnected",
        )
        response.force_close()  # the body was not read: this connection can serve nothing else
        return response

    def refuse(self, request: web.Request, status: http.HTTPStatus, why: str) -> web.Response:
        """An HTTP error that says why, and one line in the log: ``refused GET /: why (403 Forbidden)``."""
        self.logger.warning("refused %s %s: %s (%d %s)", request.method, request.path, why, status.value, status.phrase)
        return web.Response(status=status.value, text=f"{status.phrase}: {why}.\n")

    def members(self) -> int:
        """Sessions that have connected to Socket.IO (half-open ones are not members yet)."""
        return sum(1 for sid, session in self.eio.sockets.items() if not session.closed and sid not in self._half_open)

    # -- half-open sessions -------------------------------------------------------

    async def _checked_connect(self, sid: str, environ: dict[str, Any]) -> Any:
        """A new Engine.IO session: half-open until it connects to Socket.IO."""
        result = await self._handle_connect(sid, environ)
        if result is None or result is True:  # (anything else: refused)
            request = environ.get("aiohttp.request")
            self._add_half_open(sid, str(request.remote) if request is not None else "")
        return result

    def _add_half_open(self, sid: str, address: str) -> None:
        loop = asyncio.get_running_loop()
        timer = loop.call_later(self.handshake_timeout, self._expire, sid)
        self._half_open[sid] = (address, loop.time(), timer)
        from_there = self._half_open_from.setdefault(address, {})
        from_there[sid] = None
        # Those that have waited longest make room, once they have waited HALF_OPEN_GRACE s.
        for crowd, most, why in (
            (from_there, self.max_half_open, f"more than {self.max_half_open} from one address"),
            (self._half_open, MAX_HALF_OPEN_IN_ALL, f"more than {MAX_HALF_OPEN_IN_ALL} in all"),
        ):
            while len(crowd) > most:
                oldest = next(iter(crowd))
                if loop.time() - self._half_open[oldest][1] < HALF_OPEN_GRACE:
                    break
                self._drop_half_open(oldest, why)

    def _expire(self, sid: str) -> None:
        if sid in self._half_open:
            if sid in self.eio.sockets:
                self._drop_half_open(sid, f"no Socket.IO connect within {self.handshake_timeout:g} s")
            else:
                self._forget(sid)

    def _drop_half_open(self, sid: str, why: str) -> None:
        address = self._forget(sid)
        self.logger.warning("dropped a half-open session from %s: %s", Detail(address), why)
        self.spawn(self.disconnect(sid))

    def _forget(self, sid: str) -> str | None:
        """No longer count ``sid`` as half-open (it connected, or left); return its address."""
        entry = self._half_open.pop(sid, None)
        if entry is None:
            return None
        address, _, timer = entry
        timer.cancel()
        from_there = self._half_open_from.get(address, {})
        from_there.pop(sid, None)
        if not from_there:
            self._half_open_from.pop(address, None)
        return address

    def _connected(self, sid: str) -> bool:
        manager = self.sio.manager
        return any(manager.sid_from_eio_sid(sid, namespace) is not None for namespace in list(manager.get_namespaces()))

    async def _checked_disconnect(self, sid: str, *args: Any) -> Any:
        self._forget(sid)
        return await self._handle_disconnect(sid, *args)

    def stop(self) -> None:
        """Forget the half-open sessions (the server is stopping)."""
        for sid in list(self._half_open):
            self._forget(sid)

    # -- Engine.IO messages -------------------------------------------------------

    async def _checked_message(self, sid: str, data: str | bytes) -> None:
        if sid not in self.eio.sockets:
            return  # cut already: the rest of its long-polling POST goes nowhere
        half_open = sid in self._half_open
        if half_open and data[:1] == "0" and self.members() >= self.guard.max_clients:  # a Socket.IO connect
            address = self._forget(sid)
            self.logger.warning(
                "refused a Socket.IO connect from %s: the room is full (%d members)", Detail(address), self.guard.max_clients
            )
            await self.disconnect(sid)
            return
        try:
            await self._handle_message(sid, data)
        except (MalformedPacket, ValueError) as error:  # ValueError: python-socketio's own refusals
            # (Detail: one offence repeated by many sessions collapses into a few lines.)
            self.logger.warning("a malformed packet from %s: %s; disconnecting it", Detail(sid), error)
            await self.disconnect(sid)
            return
        if half_open and self._connected(sid):
            self._forget(sid)  # a member now

    # -- unsent data ----------------------------------------------------------------

    def _outbox_full(self, outbox: Outbox) -> None:
        sid = next((sid for sid, session in self.eio.sockets.items() if session.queue is outbox), None)
        self.logger.warning(
            "cut session %s, which does not read: %d bytes unsent, over max_buffer (%d)",
            sid, outbox.pending, self.guard.max_buffer,
        )
        outbox.drop_all()
        if sid is not None:
            self.spawn(self.disconnect(sid))

    async def disconnect(self, sid: str) -> None:
        """End a session now: the room hears it leave, a waiting poll returns, a WebSocket is cut.

        (Engine.IO's own ``disconnect()`` waits until the client has read what is
        queued for it, which a client that does not read never does.)
        """
        self._forget(sid)
        session = self.eio.sockets.get(sid)
        if session is None:
            return
        transport = self.websocket_transport(sid)
        if not session.closed:
            await session.close(wait=False, abort=True, reason=self.eio.reason.SERVER_DISCONNECT)
        # A long-polling GET waiting on the queue returns the CLOSE packet; the
        # WebSocket writer stops at None.
        goodbye = (eio_packet.Packet(eio_packet.CLOSE), None)
        if isinstance(session.queue, Outbox):
            session.queue.finish(*goodbye)
        else:
            for item in goodbye:
                session.queue.put_nowait(item)
        if transport is not None:
            transport.abort()  # what is buffered for it is freed now
        self.eio.sockets.pop(sid, None)

    def websocket_transport(self, sid: str) -> asyncio.Transport | None:
        """The TCP connection of a session's WebSocket, if it has one."""
        request = self._websocket_requests.get(sid)
        if request is None:  # a session that opened with a WebSocket right away
            request = self.sio.environ.get(sid, {}).get("aiohttp.request")
            if request is None or not wants_websocket(request):
                return None
        return request.transport

    def spawn(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


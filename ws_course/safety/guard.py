"""The protections every course server gets, whichever demo or handler it runs.

One hostile or slow student must not hurt the room. :class:`Guard` holds one
server's settings, and :mod:`ws_course.demos` applies them when it starts any
server (the command line and :func:`ws_course.start` both go through it):

- ``allow_origins``: the origin check, :mod:`ws_course.safety.origins` (HTTP 403);
- ``allow_hosts`` and ``behind_proxy``: the host check, against DNS rebinding, in the same module (HTTP 403);
- ``max_clients``: at most this many members, :mod:`ws_course.safety.limits` (HTTP 503);
- ``max_buffer``: a member this many bytes behind is cut, :mod:`ws_course.safety.limits`;
- ``send_buffer``: the kernel's send buffer for each member's socket, :mod:`ws_course.safety.limits`.

For a ``websockets`` server they live in :class:`GuardedConnection`, given to
``serve(create_connection=...)``: its :meth:`~GuardedConnection.handshake` checks
each request before the server's own ``process_request`` (the page) sees it.
For a Socket.IO server, :mod:`ws_course.safety.socketio_guard` does the same in aiohttp.
"""

from __future__ import annotations

import dataclasses
import functools
import http
import inspect
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.http11 import SERVER, Request, Response

from .limits import MAX_BUFFER, SEND_BUFFER, CappedConnection, default_max_clients
from .origins import HostCheck, OriginCheck, check_host_name, new_page_key
from .upgrade import wants_websocket

# Beyond websockets' documented API: ServerConnection.handshake overridden, connection.server,
# connection.transport, http11.SERVER (see ws_course.contract).

#: Headers a request may carry only once. Two ``Upgrade`` or ``Host`` headers mean
#: a confused or hostile client: HTTP 400, not a guess.
SINGLE_HEADERS = ("Host", "Origin", "Upgrade", "Sec-WebSocket-Key", "Sec-WebSocket-Version")


@dataclasses.dataclass(frozen=True)
class Guard:
    """One server's protections (see the module's documentation).

    ``max_clients=None`` means :func:`~ws_course.safety.limits.default_max_clients`,
    sized to the open-files limit when the server starts. ``page_key`` is made
    afresh for each guard: the key that the sandboxed page a server serves (lesson
    03's, :mod:`ws_course.web.article`) shows with ``Origin: null``.
    """

    allow_origins: tuple[str, ...] = ()
    max_clients: int | None = None
    max_buffer: int = MAX_BUFFER
    allow_hosts: tuple[str, ...] = ()
    behind_proxy: bool = False
    page_key: str = dataclasses.field(default_factory=new_page_key, repr=False, compare=False)
    send_buffer: int | None = SEND_BUFFER

    def __post_init__(self) -> None:
        object.__setattr__(self, "allow_origins", tuple(self.allow_origins))
        object.__setattr__(self, "allow_hosts", tuple(check_host_name(name) for name in self.allow_hosts))
        if self.max_clients is None:
            object.__setattr__(self, "max_clients", default_max_clients())
        if self.max_clients < 1 or self.max_buffer < 1:
            raise ValueError("max_clients and max_buffer must be at least 1")
        if self.send_buffer is not None and self.send_buffer < 1:
            raise ValueError("send_buffer must be at least 1 (or None: the system's own)")
        OriginCheck(self.allow_origins)  # a malformed origin fails here, at start

    @property
    def origins(self) -> OriginCheck:
        return OriginCheck(self.allow_origins, page_key=self.page_key)

    @property
    def hosts(self) -> HostCheck:
        return HostCheck(self.allow_hosts, behind_proxy=self.behind_proxy)

    def websockets_options(self) -> dict[str, Any]:
        """Options for :func:`websockets.asyncio.server.serve` that apply this guard."""
        return {
            "create_connection": functools.partial(GuardedConnection, guard=self, origins=self.origins, hosts=self.hosts)
        }


class GuardedConnection(CappedConnection):
    """A websockets server connection with the course's protections.

    Before the opening handshake, it refuses (each with one line in the server's log):

    - a header that must come once and came twice: 400;
    - a request sent to a name that is not this server's (DNS rebinding): 403;
    - a page from a foreign origin: 403;
    - a newcomer when the server has ``max_clients`` members: 503, "room full".

    Then it caps the member's unsent data, in the process and in the kernel
    (:class:`~ws_course.safety.limits.CappedConnection`).
    """

    def __init__(
        self, *args: Any, guard: Guard, origins: OriginCheck, hosts: HostCheck | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, max_buffer=guard.max_buffer, send_buffer=guard.send_buffer, **kwargs)
        self.guard = guard
        self.origins = origins
        self.hosts = hosts if hosts is not None else guard.hosts

    @property
    def page_key(self) -> str:
        """The key a sandboxed page of this server shows with ``Origin: null`` (see :class:`Guard`)."""
        return self.guard.page_key

    def check(self, request: Request) -> Response | None:
        """The response that refuses ``request``, or None when it may go on."""
        for name in SINGLE_HEADERS:
            if len(request.headers.get_all(name)) > 1:
                return self.refuse(request, http.HTTPStatus.BAD_REQUEST, f"more than one {name} header")
        websocket = wants_websocket(request)
        refusal = self.hosts.refusal(request.headers, own_port(self.transport), websocket) or self.origins.refusal(
            request.headers, urlsplit(request.path).query
        )
        if refusal is not None:
            return self.refuse(request, http.HTTPStatus.FORBIDDEN, refusal)
        if websocket and len(self.server.connections) >= self.guard.max_clients:
            return self.refuse(
                request, http.HTTPStatus.SERVICE_UNAVAILABLE, f"the room is full ({self.guard.max_clients} members)"
            )
        return None

    def refuse(self, request: Request, status: http.HTTPStatus, why: str) -> Response:
        """An HTTP error that says why, and one line in the log: ``refused GET /: why (403 Forbidden)``."""
        self.logger.warning("refused %s %s: %s (%d %s)", request.method, request.path, why, status.value, status.phrase)
        return self.respond(status, f"{status.phrase}: {why}.\n")

    async def handshake(
        self,
        process_request: Callable[[ServerConnection, Request], Any] | None = None,
        process_response: Callable[[ServerConnection, Request, Response], Any] | None = None,
        server_header: str | None = SERVER,
    ) -> None:
        async def checked_request(connection: ServerConnection, request: Request) -> Response | None:
            response = self.check(request)
            if response is None and process_request is not None:
                response = process_request(connection, request)
                if inspect.isawaitable(response):
                    response = await response
            return response

        await super().handshake(checked_request, process_response, server_header)


def own_port(transport: Any) -> int | None:
    """The port a connection came in on: this server's own (None if it cannot be told)."""
    address = transport.get_extra_info("sockname") if transport is not None else None
    if isinstance(address, tuple) and len(address) >= 2 and isinstance(address[1], int):
        return address[1]
    return None

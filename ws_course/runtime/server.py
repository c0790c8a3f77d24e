"""What every course server is to the runtime: a demo's record, and one handle to a listening server.

A demo is described once, by a :class:`Demo` record (the table of them is
:mod:`ws_course.demos`): its name, where its ``serve()`` is, which library serves
it, whether the classroom guard applies, whether Redis can share its room, its page.
Nothing is decided from a module's name.

:func:`listen` starts any demo (or your own connection handler) and returns a
:class:`ServerHandle`, whatever served it: websockets, python-socketio on aiohttp,
aiohttp alone, or the handmade server's asyncio streams. Every handle has a
:attr:`~ServerHandle.port` and an :meth:`~ServerHandle.aclose`; the background
runtime (:mod:`ws_course.runtime.background`), the command line
(:mod:`ws_course.cli`) and the hub's class room all use only those two.
"""

from __future__ import annotations

import abc
import asyncio
import dataclasses
import enum
import errno
import importlib
import logging
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import Server as WebSocketsServer
from websockets.asyncio.server import serve as websockets_serve

from ..language import _
from ..safety.guard import Guard

# Beyond websockets' documented API: Server.all_connections, a connection's transport (see ws_course.contract).

__all__ = ["CLOSE_TIMEOUT", "Demo", "Library", "PortInUseError", "ServerHandle", "close", "listen"]

#: Seconds a closing server waits for each client's answer to its close frame
#: (websockets' default is 10). A client that cannot answer, a widget on a kernel
#: whose loop is blocked by the very cell that stops the server, would otherwise
#: hold that cell for 10 s.
CLOSE_TIMEOUT = 1


class PortInUseError(OSError):
    """The port asked for is taken, by another server or another program."""


class Library(enum.Enum):
    """What serves a demo, which decides how the classroom guard is applied to it."""

    WEBSOCKETS = "websockets"  #: websockets' serve(): the guard's connection class
    SOCKETIO = "python-socketio"  #: python-socketio on aiohttp: the guard goes to SocketIOServer
    AIOHTTP = "aiohttp"  #: aiohttp alone (lesson 07's feed)
    STREAMS = "asyncio streams"  #: no library at all (lesson 08's handmade server)


@dataclasses.dataclass(frozen=True)
class Demo:
    """One demo server, described once.

    Attributes:
        name: Its name, as ``ws_course.start("echo")`` and ``ws-course serve echo`` know it.
        serve: Where its ``serve(host, port, **options)`` is, ``"ws_course.echo:serve"``
            (imported only when it starts, so that the plain demos never import
            python-socketio), or the function itself.
        library: What serves it (:class:`Library`).
        guarded: True when the classroom guard (origin check, member and buffer
            caps, :mod:`ws_course.safety`) applies. The instruments of lessons 07
            and 08 are not rooms a class shares, and are not guarded.
        shareable: True when Redis can share its room across processes (lesson 09).
        page: Its browser page in ``static/``, served at ``/``.
        lesson: The lesson that teaches it.
    """

    name: str
    serve: str | Callable[..., Any]
    library: Library = Library.WEBSOCKETS
    guarded: bool = True
    shareable: bool = False
    page: str | None = None
    lesson: str = ""

    def serve_function(self) -> Callable[..., Any]:
        """The demo's ``serve(host, port, **options)``, imported if need be."""
        if callable(self.serve):
            return self.serve
        module, _colon, function = self.serve.partition(":")
        return getattr(importlib.import_module(module), function)

    @classmethod
    def of_handler(cls, handler: Callable[..., Any], name: str | None = None) -> Demo:
        """Your own connection handler, ``async def handler(websocket)``, served by websockets."""

        def serve_handler(host: str, port: int, **options: Any):
            return websockets_serve(handler, host, port, **options)

        return cls(name or getattr(handler, "__name__", "handler"), serve_handler)


class ServerHandle(abc.ABC):
    """A listening server, whatever serves it: its port, and how to close it."""

    @property
    @abc.abstractmethod
    def port(self) -> int:
        """The port it listens on (the one the system picked, when it asked for 0)."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Close every connection (a goodbye where the protocol has one), then stop listening."""


class AsyncioServerHandle(ServerHandle):
    """The handle of a server shaped like :class:`asyncio.Server`: ``sockets``, ``close()``, ``wait_closed()``.

    The handmade server of lesson 08 is such a server; so is websockets' (below).
    """

    def __init__(self, server: Any) -> None:
        self.server = server

    @property
    def port(self) -> int:
        return self.server.sockets[0].getsockname()[1]

    async def aclose(self) -> None:
        self.server.close()
        await self.server.wait_closed()


class WebSocketsServerHandle(AsyncioServerHandle):
    """The handle of a :mod:`websockets` server, which never waits forever to close."""

    async def aclose(self) -> None:
        """Close the server and all its connections (1001, "going away").

        A client that answered the closing handshake but then froze, without
        closing its end of the TCP connection, would keep websockets waiting for
        it, and the server from ever stopping. After ``CLOSE_TIMEOUT`` + 1 s such
        connections are cut.
        """
        self.server.close()
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT + 1):
                await self.server.wait_closed()
        except TimeoutError:
            # all_connections, not connections: those that started the closing
            # handshake too (websockets 17; see ws_course.contract).
            for connection in list(self.server.all_connections):
                connection.transport.abort()
            await self.server.wait_closed()


def handle(server: Any) -> ServerHandle:
    """The :class:`ServerHandle` of what a demo's ``serve()`` gave, once awaited."""
    if isinstance(server, ServerHandle):  # Socket.IO, aiohttp, a room shared through Redis
        return server
    if isinstance(server, WebSocketsServer):
        return WebSocketsServerHandle(server)
    return AsyncioServerHandle(server)  # the handmade server


async def close(server: Any) -> None:
    """Close a server that :func:`listen` (or a demo's ``serve()``) started."""
    await handle(server).aclose()


async def listen(demo: Demo, host: str, port: int, *, guard: Guard | None = None, **options: Any) -> ServerHandle:
    """Start ``demo`` listening on ``host:port`` and return its :class:`ServerHandle`.

    ``guard`` holds its protections (origin check, member and buffer caps); the
    default :class:`~ws_course.safety.guard.Guard` admits the page's own origin and
    sizes the member cap to the open-files limit. ``redis=URL`` shares its room
    (only for a :attr:`Demo.shareable` demo). Its log records go to the
    ``ws_course.<name>`` logger. A port that is taken raises
    :class:`PortInUseError`, which says what to do about it.
    """
    logger = logging.getLogger(f"ws_course.{demo.name}")
    guard = guard or Guard()
    if options.get("redis") is None:
        options.pop("redis", None)
    elif not demo.shareable:
        raise ValueError(f"{demo.name} cannot share its room through Redis: only the chat rooms can (see ws_course.demos)")
    if demo.library is Library.SOCKETIO:
        options["guard"] = guard
    elif demo.guarded:
        options.update(guard.websockets_options())
    try:
        server = await demo.serve_function()(host, port, logger=logger, **{"close_timeout": CLOSE_TIMEOUT, **options})
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        error = PortInUseError(_(
            "the address {host}:{port} is already in use: another server (or a notebook "
            "still running one) holds it. Stop that one, or pick another port "
            "(port 0 asks the system for a free one)"
        ).format(host=host, port=port))
        error.errno = exc.errno
        raise error from None
    return handle(server)

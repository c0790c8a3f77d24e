"""The course's demo servers, by name.

Each demo is a module of this package with a ``serve(host, port, **options)``
function, which returns an object to ``await`` inside a running event loop: what
:func:`websockets.asyncio.server.serve` returns, or an object of the course's with
a ``bound_port`` and an ``aclose()`` (a :class:`~ws_course.socketio_app.SocketIOServer`
for the Socket.IO demos, a :class:`~ws_course.redis_room.SharedRoomServer` for a chat
room shared through Redis). The background runtime
(:mod:`ws_course.runtime`) and the command line (:mod:`ws_course.cli`) both start
demos through :func:`resolve` and :func:`listen`, which is where every server,
a demo or your own handler, gets the classroom protections of :mod:`ws_course.guard`.
"""

from __future__ import annotations

import asyncio
import errno
import importlib
import logging
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import serve

from .guard import Guard

#: Seconds a closing server waits for each client's answer to its close frame
#: (websockets' default is 10). A client that cannot answer, a widget on a kernel
#: whose loop is blocked by the very cell that stops the server, would otherwise
#: hold that cell for 10 s.
CLOSE_TIMEOUT = 1

#: Every demo, in the order the course teaches them.
NAMES = ("echo", "scream", "chat", "json_chat", "news", "event_chat", "news_feed", "handmade")

#: The demos that run on python-socketio (the others run on websockets).
SOCKETIO_NAMES = ("news", "event_chat")

#: Demos without the classroom guard (see :func:`is_unguarded`).
UNGUARDED_NAMES = ("news_feed", "handmade")

#: The chat rooms that can be shared across processes through Redis (``redis=`` / ``--redis``).
SHAREABLE_NAMES = ("chat", "json_chat", "event_chat")


class PortInUseError(OSError):
    """The port asked for is taken, by another server or another program."""


def resolve(demo: str | Callable[..., Any]) -> tuple[str, Callable[..., Any]]:
    """Return ``(name, serve)`` for a demo's name, or for your own connection handler.

    ``serve(host, port, **options)`` creates the server; ``options`` go to the
    underlying library (for example ``logger=``).
    """
    if isinstance(demo, str):
        name = demo.replace("-", "_")
        if name not in NAMES:
            raise ValueError(f"no demo named {demo!r}; the demos are: {', '.join(NAMES)}")
        module = importlib.import_module(f"ws_course.{name}")
        return name, module.serve
    if callable(demo):

        def serve_handler(host: str, port: int, **options: Any):
            return serve(demo, host, port, **options)

        return getattr(demo, "__name__", "handler"), serve_handler
    raise TypeError(f"expected a demo's name or a connection handler, got {demo!r}")


async def listen(
    name: str, serve: Callable[..., Any], host: str, port: int, *, guard: Guard | None = None, **options: Any
) -> Any:
    """Start a server made by ``serve`` (from :func:`resolve`) and return it, listening.

    ``guard`` holds its protections (origin check, member and buffer caps); the
    default :class:`~ws_course.guard.Guard` admits the page's own origin and sizes
    the member cap to the open-files limit. Its log records go to the
    ``ws_course.<name>`` logger. A port that is taken raises
    :class:`PortInUseError`, which says what to do about it.
    """
    logger = logging.getLogger(f"ws_course.{name}")
    guard = guard or Guard()
    if options.get("redis") is None:
        options.pop("redis", None)
    elif not is_shareable(serve):
        raise ValueError(f"only {', '.join(SHAREABLE_NAMES)} can share a room through Redis, not {name}")
    if uses_socketio(serve):
        options["guard"] = guard
    elif not is_unguarded(serve):
        options.update(guard.websockets_options())
    try:
        return await serve(host, port, logger=logger, **{"close_timeout": CLOSE_TIMEOUT, **options})
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        error = PortInUseError(
            f"the address {host}:{port} is already in use: another server (or a notebook "
            f"still running one) holds it. Stop that one, or pick another port "
            f"(port 0 asks the system for a free one)"
        )
        error.errno = exc.errno
        raise error from None


def is_unguarded(serve: Callable[..., Any]) -> bool:
    """True for the instruments of lessons 07 and 08, which are not built on websockets or Socket.IO.

    The news feed (aiohttp, four transports) and the handmade server (no library at
    all) exist to be measured and read; they are not rooms a class shares, and the
    guard's protections are websockets' and Socket.IO's. Their modules say so.
    """
    return getattr(serve, "__module__", None) in {f"ws_course.{name}" for name in UNGUARDED_NAMES}


def is_shareable(serve: Callable[..., Any]) -> bool:
    """True when ``serve`` (from :func:`resolve`) starts a chat room that Redis can share (lesson 09)."""
    return getattr(serve, "__module__", None) in {f"ws_course.{name}" for name in SHAREABLE_NAMES}


def uses_socketio(serve: Callable[..., Any]) -> bool:
    """True when ``serve`` (from :func:`resolve`) starts a Socket.IO demo."""
    return getattr(serve, "__module__", None) in {f"ws_course.{name}" for name in SOCKETIO_NAMES}


def bound_port(server: Any) -> int:
    """The port a listening server got (useful when it asked for port 0)."""
    if hasattr(server, "bound_port"):  # a Socket.IO server, a room shared through Redis
        return server.bound_port
    return server.sockets[0].getsockname()[1]


async def close(server: Any) -> None:
    """Close a listening server and all its connections, without waiting forever.

    A client that answered the closing handshake but then froze, without closing
    its end of the TCP connection, would keep websockets waiting for it, and this
    server from ever stopping. After ``CLOSE_TIMEOUT`` we cut such connections.
    """
    if hasattr(server, "aclose"):  # a Socket.IO server, a room shared through Redis
        await server.aclose()
        return
    server.close()
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT + 1):
            await server.wait_closed()
    except TimeoutError:
        for connection in list(server.all_connections):
            connection.transport.abort()
        await server.wait_closed()

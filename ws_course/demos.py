"""The course's demo servers, one record each, and :func:`start`, which runs one in the background.

Every demo is described here once (a :class:`~ws_course.runtime.server.Demo`):
its name, where its ``serve()`` is, which library serves it, whether the
classroom guard applies, whether Redis can share its room (lesson 09), its page.
``ws_course.start("chat")`` and ``ws-course serve chat`` both look it up here::

    >>> from ws_course.demos import DEMOS
    >>> DEMOS["event_chat"]
    Demo(name='event_chat', serve='ws_course.event_chat:serve', library=<Library.SOCKETIO: 'python-socketio'>, ...)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .runtime.background import BackgroundServer
from .runtime.background import start as start_in_background
from .runtime.server import Demo, Library

__all__ = ["DEMOS", "NAMES", "find", "start"]

#: Every demo, in the order the course teaches them.
DEMOS: dict[str, Demo] = {
    demo.name: demo
    for demo in (
        Demo("echo", "ws_course.echo:serve", page="echo.html", lesson="01"),
        Demo("scream", "ws_course.scream:serve", page="scream.html", lesson="02"),
        Demo("chat", "ws_course.chat:serve", page="chat.html", shareable=True, lesson="03"),
        Demo("json_chat", "ws_course.json_chat:serve", page="json-chat.html", shareable=True, lesson="04"),
        Demo("news", "ws_course.news:serve", Library.SOCKETIO, page="news.html", lesson="05"),
        Demo("event_chat", "ws_course.event_chat:serve", Library.SOCKETIO, page="event-chat.html", shareable=True,
             lesson="05"),
        # The instruments of lessons 07 and 08 are there to be measured and read, not
        # rooms a class shares: the guard's protections (websockets' and Socket.IO's) are not theirs.
        Demo("news_feed", "ws_course.news_feed:serve", Library.AIOHTTP, guarded=False, page="feeds.html", lesson="07"),
        Demo("handmade", "ws_course.handmade:serve", Library.STREAMS, guarded=False, page="echo.html", lesson="08"),
    )
}

#: Their names.
NAMES = tuple(DEMOS)


def find(name: str) -> Demo:
    """The demo called ``name`` (``json-chat`` and ``json_chat`` are the same)."""
    try:
        return DEMOS[name.replace("-", "_")]
    except KeyError:
        raise ValueError(f"no demo named {name!r}; the demos are: {', '.join(NAMES)}") from None


def start(demo: str | Callable[..., Any], **options: Any) -> BackgroundServer:
    """Start a course server in the background and return its handle.

    Args:
        demo: A demo's name (``"echo"``, ``"scream"``, ... see :data:`NAMES`),
            or your own connection handler, ``async def handler(websocket): ...``,
            which is then served with :func:`websockets.asyncio.server.serve`.
        host: Address to listen on. The default, 127.0.0.1, is reachable from this
            machine only; ``"0.0.0.0"`` lets other machines on the network in.
        port: Port to listen on. The default, 0, asks the system for a free port.
        name: The name the server runs under; it defaults to the demo's name.
        allow_origins: Web pages from these origins may connect too (for example
            ``["http://192.168.1.10:8888"]``), besides the server's own page and
            clients that are not browsers. ``"null"`` admits pages opened from disk
            (the article's), and with them every site's sandboxed frames.
            See :mod:`ws_course.safety.origins`.
        allow_hosts: Names the server answers to, besides this machine's own names
            and IP addresses (for example ``["teacher.school.example"]``): a browser
            that reaches it by another name is refused (DNS rebinding).
        behind_proxy: Whether browsers come through a proxy (a JupyterHub's, a remote
            Jupyter server's), under the proxy's names. The default, None, asks the
            Jupyter server this kernel runs under, if any
            (:func:`ws_course.web.jupyter.proxy_in_front`).
        max_clients: At most this many members; the next get HTTP 503. The
            default is what the process's open-files limit leaves room for.
        max_buffer: A member whose unsent data passes this many bytes is
            disconnected (default :data:`~ws_course.safety.limits.MAX_BUFFER`, 1 MiB).
            See :mod:`ws_course.safety.limits`.
        send_buffer: Each member's kernel send buffer, in bytes (default
            :data:`~ws_course.safety.limits.SEND_BUFFER`, 64 KiB; None leaves it
            to the system, which lets it grow to megabytes).
        redis: For the chat rooms (``"chat"``, ``"json_chat"``, ``"event_chat"``): a
            Redis address, ``"redis://HOST:PORT/DB"``. Every server started with
            the same address, in this process or another, serves the same room
            (lesson 09; :mod:`ws_course.scaleout.redis_room`).
        timeout: Seconds to wait for it to listen.
        options: More options for the server's library, for example
            ``ping_interval=1`` (websockets and python-socketio both have it). The
            Socket.IO demos also take ``head_timeout`` and ``max_waiting``
            (:mod:`ws_course.safety.connections`), ``handshake_timeout`` and
            ``max_half_open`` (:mod:`ws_course.safety.socketio_guard`).

    If a server of the same name is running (a notebook cell run twice), it is
    stopped first. A port that is taken raises :class:`~ws_course.PortInUseError`.
    """
    if options.get("behind_proxy") is None:
        from .web.jupyter import proxy_in_front

        options["behind_proxy"] = proxy_in_front()
    return start_in_background(find(demo) if isinstance(demo, str) else demo, **options)

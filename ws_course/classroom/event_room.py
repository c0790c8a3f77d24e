"""``ws-course serve event-chat`` in a classroom: demo 5's Socket.IO chat with a rate limit and a log of who said what.

The event chat (:mod:`ws_course.event_chat`) stays as lesson 05 shows it. Here its
three event handlers are wrapped from outside, after it has registered them: each
member joins a :class:`~ws_course.classroom.roster.Roster` under its nickname
(``user3``) with its address, and each ``message`` event goes through
:meth:`~ws_course.classroom.roster.Roster.admit` first. So the log says
``user3 (192.168.1.20, page) says: hi`` (Socket.IO's own log only knows a ``sid``),
a member's extra messages beyond the rate limit are dropped, and the member is told
once, with the event the page already shows: ``refused``.

The teacher's view and the big screen are not served for this room yet: they need
an aiohttp route beside Socket.IO's (:mod:`ws_course.classroom.desk` serves
websockets connections).
"""

from __future__ import annotations

import functools
from typing import Any

import socketio

from .. import event_chat
from ..runtime.server import Demo, Library
from ..web.socketio_app import SocketIOServer
from .roster import RATE_LIMIT, Roster

# Beyond python-socketio's documented API: AsyncServer.handlers (see ws_course.contract).

__all__ = ["create_server", "moderate", "moderated_demo", "serve"]


def moderate(sio: socketio.AsyncServer, roster: Roster) -> None:
    """Wrap the event chat's ``connect``, ``message`` and ``disconnect`` handlers with ``roster``'s rules."""
    handlers = sio.handlers["/"]
    connect, message, disconnect = handlers["connect"], handlers["message"], handlers["disconnect"]

    async def moderated_connect(sid: str, environ: dict[str, Any]) -> Any:
        result = await connect(sid, environ)
        nickname = (await sio.get_session(sid))["nickname"]
        request = environ.get("aiohttp.request")
        address = str(request.remote) if request is not None else environ.get("REMOTE_ADDR", "?")
        roster.join(nickname, sid, kind="page" if environ.get("HTTP_ORIGIN") else "program", address=address)
        return result

    async def moderated_message(sid: str, text: Any) -> None:
        if isinstance(text, str):  # anything else: the room itself refuses it
            verdict = roster.admit(sid, text)
            if verdict.notice is not None:
                await sio.emit("refused", verdict.notice, to=sid)
            if not verdict.passed:
                return
        await message(sid, text)

    async def moderated_disconnect(sid: str, reason: Any) -> None:
        roster.leave(sid)
        await disconnect(sid, reason)

    sio.on("connect", moderated_connect)
    sio.on("message", moderated_message)
    sio.on("disconnect", moderated_disconnect)


def create_server(*, roster: Roster, **options: Any) -> socketio.AsyncServer:
    """The event chat's server (:func:`ws_course.event_chat.create_server`), moderated by ``roster``."""
    sio = event_chat.create_server(**options)
    moderate(sio, roster)
    return sio


def serve(host: str = "127.0.0.1", port: int = 3000, *, rate_limit: int | None = RATE_LIMIT, **options: Any):
    """Create the moderated event chat server, its page at ``http://host:port/`` (``await`` it)."""
    roster = Roster(rate_limit=rate_limit)
    return SocketIOServer(functools.partial(create_server, roster=roster), "event-chat.html", host, port, **options)


def moderated_demo(*, rate_limit: int | None = RATE_LIMIT) -> Demo:
    """The :class:`~ws_course.runtime.server.Demo` record of the moderated event chat."""
    return Demo("event_chat", functools.partial(serve, rate_limit=rate_limit), Library.SOCKETIO,
                shareable=True, page="event-chat.html", lesson="05")


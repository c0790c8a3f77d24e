"""``ws-course serve event-chat`` in a classroom: demo 5's Socket.IO chat, moderated, with a teacher's view and a screen.

One port serves it all, as for ``ws-course serve chat`` (:mod:`ws_course.classroom.server`)::

    http://HOST:PORT/                   the room's page (event-chat.html); Socket.IO at /socket.io/
    http://HOST:PORT/teacher?key=KEY    the teacher's view, and its WebSocket (the key is the secret)
    http://HOST:PORT/screen             the big screen, and its WebSocket (no key: it shows no addresses)

The event chat (:mod:`ws_course.event_chat`) stays as lesson 05 shows it.
:class:`ModeratedEventChat` wraps its three event handlers from outside, after it
has registered them: each member joins a :class:`~ws_course.classroom.roster.Roster`
under its nickname (``user3``) with its address, and each ``message`` event goes
through :meth:`~ws_course.classroom.roster.Roster.admit` first. So the log says
``user3 (192.168.1.20, page) says: hi`` (Socket.IO's own log only knows a ``sid``),
a member's extra messages beyond the rate limit, or all of a muted member's, are
dropped, and the member is told with the event the page already shows: ``refused``.
What the room says to everyone (``enter``, ``mes``, ``leave``) is kept for the big
screen. The teacher's view and the big screen are the same feeds as on
``ws-course serve chat`` (:class:`~ws_course.classroom.desk.Desk`), served by
aiohttp next to Socket.IO (:mod:`ws_course.classroom.aiohttp_desk`).

**Kick** (:meth:`ModeratedEventChat.kick`) tells each of the member's Socket.IO
sessions why (``refused``: "removed by the teacher"), disconnects it, and bans the
member's address. A banned address's next Socket.IO connect is refused: the connect
handler raises python-socketio's :exc:`socketio.exceptions.ConnectionRefusedError`
with the reason, which the client receives as a ``connect_error`` (the page shows
``error: the teacher removed you from this room...``).

That needs ``always_connect`` off. The event chat turns it on, so that a newcomer
is connected before its ``connect`` handler runs and hears its own ``enter``. With
it on, a refusal is a connect that the server follows with a disconnect, whose
reason socket.io-client does not take (a DISCONNECT packet must carry nothing: it
reports a "parse error" and retries at once, for ever). With it off, the library's
default, a refusal is one CONNECT_ERROR packet with the reason, and the page stops
trying. The newcomer still hears its own ``enter``: it is in the room while the
handler runs, and socket.io-client keeps events that come before its connect is
accepted, then hands them on.
"""

from __future__ import annotations

import functools
from typing import Any

import socketio

from .. import event_chat
from ..runtime.server import Demo, Library
from ..web.socketio_app import SocketIOServer
from .aiohttp_desk import DeskRoutes
from .desk import Desk
from .moderated import KICKED, kept_out
from .roster import RATE_LIMIT, Roster

# Beyond python-socketio's documented API: AsyncServer.handlers, AsyncServer.always_connect (see ws_course.contract).

__all__ = ["HEARD", "ModeratedEventChat", "moderated_demo", "serve"]

#: The events the room sends everyone, and the kind of line each is on the big screen.
HEARD = {"enter": "enter", "mes": "message", "leave": "leave"}


class ModeratedEventChat:
    """The event chat's server under a roster's rules: what a :class:`~ws_course.classroom.desk.Desk` steers.

    Args:
        sio: The event chat's server (:func:`ws_course.event_chat.create_server`), its handlers registered.
        roster: The room's roster.
    """

    def __init__(self, sio: socketio.AsyncServer, roster: Roster) -> None:
        self.sio = sio
        self.roster = roster
        sio.always_connect = False  # so that a refusal reaches the client (see the module's documentation)
        handlers = sio.handlers["/"]
        self.room_connect, self.room_message = handlers["connect"], handlers["message"]
        self.room_disconnect = handlers["disconnect"]
        sio.on("connect", self.connect)
        sio.on("message", self.message)
        sio.on("disconnect", self.disconnect)
        self.room_emit = sio.emit
        sio.emit = self.emit  # what the room says to everyone goes into the roster's history too

    # -- the room's handlers, moderated ------------------------------------------------

    async def connect(self, sid: str, environ: dict[str, Any]) -> Any:
        address = self.address(environ)
        ban = self.roster.banned(address)
        if ban is not None:
            self.sio.logger.info("refused a Socket.IO connect from %s: %s is banned (%d s left)",
                                 address, ban.key, ban.seconds_left())
            raise socketio.exceptions.ConnectionRefusedError(kept_out(ban))
        result = await self.room_connect(sid, environ)
        nickname = (await self.sio.get_session(sid))["nickname"]
        self.roster.join(nickname, sid, kind=self.kind(environ), address=address, identifiers=(address,))
        return result

    async def message(self, sid: str, text: Any) -> None:
        if isinstance(text, str):  # anything else: the room itself refuses it
            verdict = self.roster.admit(sid, text)
            if verdict.notice is not None:
                await self.room_emit("refused", verdict.notice, to=sid)
            if not verdict.passed:
                return
        await self.room_message(sid, text)

    async def disconnect(self, sid: str, reason: Any) -> None:
        self.roster.leave(sid)
        await self.room_disconnect(sid, reason)

    async def emit(self, event: str, data: Any = None, *, to: Any = None, room: Any = None, **options: Any) -> None:
        """``sio.emit``, and what goes to everyone (``user3 says: hi``) into the roster's history."""
        if event in HEARD and to is None and room is None and isinstance(data, str):
            # Each of the room's lines starts with the member's nickname, which no member chooses.
            self.roster.heard(HEARD[event], data.split(" ", 1)[0], data)
        await self.room_emit(event, data, to=to, room=room, **options)

    @staticmethod
    def kind(environ: dict[str, Any]) -> str:
        """``"page"`` (a browser) or ``"program"``: what the teacher sees, not a proof (a program may send any header).

        The request that opened the session tells. A browser sends ``Origin`` with a
        WebSocket handshake, but not with the same-origin long-polling GET that
        socket.io-client starts with; it sends Fetch metadata (``Sec-Fetch-Mode``) with both.
        """
        return "page" if environ.get("HTTP_ORIGIN") or environ.get("HTTP_SEC_FETCH_MODE") else "program"

    @staticmethod
    def address(environ: dict[str, Any]) -> str:
        """The client's IP address (what a kick bans)."""
        request = environ.get("aiohttp.request")
        return str(request.remote) if request is not None else environ.get("REMOTE_ADDR", "?")

    # -- the teacher's commands ------------------------------------------------------------

    async def kick(self, key: str, *, seconds: float | None = None) -> int:
        """Ban member ``key`` and their address, tell each of their sessions why and disconnect it; return how many."""
        sids = self.roster.kick(key, seconds=seconds)
        for sid in sids:
            await self.room_emit("refused", KICKED, to=sid)  # before the disconnect, on the same queue
            await self.sio.disconnect(sid)
        return len(sids)

    def mute(self, key: str) -> bool:
        """Mute member ``key`` (each message they send then gets a ``refused``); False if there is no such member."""
        return self.roster.mute(key) is not None

    def unmute(self, key: str) -> bool:
        """Unmute member ``key``; False if there is no such member."""
        return self.roster.unmute(key) is not None


def serve(
    host: str = "127.0.0.1", port: int = 3000, *, teacher_key: str, rate_limit: int | None = RATE_LIMIT,
    **options: Any,
) -> SocketIOServer:
    """Create the moderated event chat's server (``await`` it): the room, its page, the teacher's view, the screen."""
    server = SocketIOServer(event_chat.create_server, "event-chat.html", host, port, **options)
    room = ModeratedEventChat(server.sio, Roster(rate_limit=rate_limit))
    DeskRoutes(Desk(room), teacher_key, options.get("logger")).add_to(server.app)
    return server


def moderated_demo(*, teacher_key: str, rate_limit: int | None = RATE_LIMIT) -> Demo:
    """The :class:`~ws_course.runtime.server.Demo` record of the moderated event chat."""
    if not teacher_key:
        raise ValueError("the teacher's key must not be empty")
    return Demo("event_chat", functools.partial(serve, teacher_key=teacher_key, rate_limit=rate_limit),
                Library.SOCKETIO, shareable=True, page="event-chat.html", lesson="05")

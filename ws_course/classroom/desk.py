"""The teacher's desk: the live feeds of the teacher's view and of the big screen, and their pages.

A :class:`Desk` watches a moderated room through its
:class:`~ws_course.classroom.roster.Roster`, and feeds two kinds of WebSocket,
whatever server, library and login are in front of it:

- :meth:`Desk.teacher_feed`: the teacher's view (``static/teacher.html``). It
  receives a **snapshot** after every change (at most one each :data:`FEED_DELAY`
  seconds, so a flood of messages is a few snapshots, not thousands)::

      {"type": "snapshot",
       "members": [{"key": "user3", "since": 1767000000.0, "sent": 12, "passed": 10, "dropped": 2,
                    "muted": false, "connections": [{"kind": "page", "address": "192.168.1.20",
                                                     "since": 1767000000.0}]}, ...],
       "banned": [{"key": "user2", "identifiers": ["192.168.1.21"], "until": ..., "seconds_left": 590}],
       "rate_limit": 5,
       "progress": {...}}          # only with a progress board: its Board.snapshot()

  and it sends commands, each answered with ``{"type": "answer", "do": ..., "ok": true}``
  or ``{"type": "answer", "do": ..., "ok": false, "error": "why"}``::

      {"do": "kick", "key": "user3"}      # close their connections (1008), ban them
      {"do": "mute", "key": "user3"}      # {"do": "unmute", ...} too
      {"do": "let_in", "key": "user2"}    # lift a ban (a key or an address)

- :meth:`Desk.screen_feed`: the big screen (``static/screen.html``): what members
  see, and the members' names, never their addresses::

      {"type": "screen", "lines": [{"kind": "message", "who": "user3", "text": "hi", "at": ...}, ...],
       "members": ["user1", "user3"]}       # first: the room's last lines
      {"type": "line", "line": {...}}        # then each new line
      {"type": "members", "members": [...]}  # and the names, when they change

A feed knows nothing of sockets: it is given ``send(text)``, which sends its viewer
one message and never waits, and the texts its viewer sends, as an async iterator.
So the same feeds run on a websockets server (here: :meth:`Desk.handler`, the rooms
of ``ws-course serve chat`` and of the hub) and on aiohttp, next to Socket.IO
(:mod:`ws_course.classroom.aiohttp_desk`, ``ws-course serve event-chat``). The room
is anything :class:`Steered`: a roster, and ``kick``, ``mute`` and ``unmute``.

On a websockets server, who may open which is the caller's business: :meth:`Desk.process_request` takes a
``teacher_refusal(connection, request)`` function (on ``ws-course serve``:
:func:`key_check`, the secret it printed; on the hub: "is this an admin?"). It
serves both pages, refuses banned members (:meth:`~ws_course.classroom.moderated.Moderated.refusal`),
and hands everything else to the room's own page hook (the room is then a
:class:`~ws_course.classroom.moderated.Moderated` one). :meth:`Desk.handler` sends
each accepted WebSocket to the teacher's feed, the screen's, or the room::

    room = ModeratedJSONChatRoom()
    desk = Desk(room, progress=board)              # board: optional, a progress.Board
    serve(desk.handler(room.handler), host, port,
          process_request=desk.process_request(page("json-chat.html"), key_check(secret)))

A server with a prefix in front (the hub's ``/services/class-chat/``) gives it as
``Desk(..., prefix=...)``: its hooks then see paths with the prefix cut off, as
``HubLogin`` passes them, while :meth:`handler` reads the prefixed path of the
connection itself. When the progress board changes, call :meth:`Desk.changed`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import http
import inspect
import json
import secrets
from collections.abc import AsyncIterable, Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ..broadcast import broadcast
from ..safety.upgrade import wants_websocket
from ..web.pages import file_response
from ..web.static import STATIC
from .roster import Line, Roster

__all__ = ["FEED_DELAY", "SCREEN_PATH", "TEACHER_PATH", "Desk", "Send", "Steered", "key_check", "key_refusal"]

#: Where the teacher's view is (its page, and its WebSocket), below the server's prefix.
TEACHER_PATH = "/teacher"

#: Where the big screen is (its page, and its WebSocket), below the server's prefix.
SCREEN_PATH = "/screen"

#: The teacher's view gets at most one snapshot each this many seconds.
FEED_DELAY = 0.1

#: What the pages are.
PAGES = {TEACHER_PATH: STATIC / "teacher.html", SCREEN_PATH: STATIC / "screen.html"}

#: A function that says why a request may not open the teacher's view, or None when it may.
TeacherRefusal = Callable[[ServerConnection, Request], "str | None"]

#: What a feed sends its viewer one text message with. It never waits: a viewer that
#: does not read falls behind (and is cut by its server's rules), the room does not.
Send = Callable[[str], None]


class Steered(Protocol):
    """What a :class:`Desk` steers: a room with a roster, whose members it can kick and mute.

    :class:`~ws_course.classroom.moderated.Moderated` rooms are (``ws-course serve chat``, the
    hub's class room), and so is :class:`~ws_course.classroom.event_room.ModeratedEventChat`.
    """

    roster: Roster

    async def kick(self, key: str) -> int:
        """Ban member ``key`` and close their connections; return how many."""

    def mute(self, key: str) -> bool:
        """Mute member ``key``; False if there is no such member."""

    def unmute(self, key: str) -> bool:
        """Unmute member ``key``; False if there is no such member."""


def key_refusal(key: str, given: str) -> str | None:
    """Why ``given`` does not open the teacher's view whose key is ``key``, or None when it does.

    The comparison takes the same time whatever the guess (:func:`secrets.compare_digest`).
    """
    if secrets.compare_digest(given.encode(), key.encode()):
        return None
    return ("the teacher's view needs its key: open the address that ws-course serve printed "
            "(it ends with /teacher?key=...)" if given else "the teacher's view needs its key (?key=...)")


def key_check(key: str) -> TeacherRefusal:
    """A ``teacher_refusal`` for :meth:`Desk.process_request`: the request must carry ``?key=KEY``."""

    def teacher_refusal(connection: ServerConnection, request: Request) -> str | None:
        return key_refusal(key, parse_qs(urlsplit(request.path).query).get("key", [""])[0])

    return teacher_refusal


class Desk:
    """The teacher's view and the big screen of one moderated room (see the module's documentation).

    Args:
        room: The moderated room (:class:`Steered`).
        progress: A progress board (:class:`ws_course.classroom.progress.Board`), or None:
            its ``snapshot()`` goes into the teacher's snapshots as ``"progress"``.
        prefix: Where the server lives, ``/`` (``ws-course serve``) or ``/services/class-chat/``.
    """

    def __init__(self, room: Steered, *, progress: Any = None, prefix: str = "/") -> None:
        self.room = room
        self.roster = room.roster
        self.progress = progress
        self.prefix = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
        self.teachers: set[Send] = set()  # the viewers of each feed, by their send()
        self.screens: set[Send] = set()
        self.pending: asyncio.TimerHandle | None = None  # the next snapshot, when one is due
        self.names: list[str] = []  # the names the screens last got
        self.roster.on_change(self.roster_changed)

    # -- what the views show ----------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The teacher's view: the roster's snapshot, and the progress board's if there is one."""
        snapshot = {"type": "snapshot", **self.roster.snapshot()}
        if self.progress is not None:
            snapshot["progress"] = self.progress.snapshot()
        return snapshot

    def screen(self) -> dict[str, Any]:
        """The big screen's first message: the room's last lines and who is here."""
        return {"type": "screen", "lines": [line.as_dict() for line in self.roster.history],
                "members": self.roster.names()}

    # -- the feeds, whatever carries them -----------------------------------------------

    async def teacher_feed(self, send: Send, received: AsyncIterable[str | bytes]) -> None:
        """The teacher's view: snapshots out, commands in, until ``received`` ends. The caller has checked who it is."""
        self.teachers.add(send)
        try:
            send(dump(self.snapshot()))
            async for message in received:
                answer = await self.command(message)
                send(dump({"type": "answer", **answer}))
        finally:
            self.teachers.discard(send)

    async def screen_feed(self, send: Send, received: AsyncIterable[str | bytes]) -> None:
        """The big screen: the room's lines and names out, until ``received`` ends; what it sends is ignored."""
        self.screens.add(send)
        try:
            send(dump(self.screen()))
            async for _ in received:
                pass  # a screen only watches
        finally:
            self.screens.discard(send)

    # -- the feeds on a websockets server -------------------------------------------------

    async def serve_teacher(self, websocket: ServerConnection) -> None:
        """The teacher's feed on a websockets connection."""
        try:
            await self.teacher_feed(sender(websocket), websocket)
        except ConnectionClosed:
            pass

    async def serve_screen(self, websocket: ServerConnection) -> None:
        """The big screen's feed on a websockets connection."""
        try:
            await self.screen_feed(sender(websocket), websocket)
        except ConnectionClosed:
            pass

    async def command(self, message: str | bytes) -> dict[str, Any]:
        """Do one of the teacher's commands; return the answer (``ok``, and ``error`` when not)."""
        try:
            command = json.loads(message)
            do, key = command["do"], command["key"]
            if not isinstance(do, str) or not isinstance(key, str):
                raise TypeError
        except (ValueError, TypeError, KeyError):
            return {"do": None, "ok": False,
                    "error": 'a command is JSON text like {"do": "kick", "key": "user3"}'}
        if do == "kick":
            await self.room.kick(key)
            return {"do": do, "key": key, "ok": True}
        if do in ("mute", "unmute"):
            found = self.room.mute(key) if do == "mute" else self.room.unmute(key)
            return {"do": do, "key": key, "ok": found} if found else {
                "do": do, "key": key, "ok": False, "error": f"{key} is not in the room"}
        if do == "let_in":
            if self.roster.let_in(key) is None:
                return {"do": do, "key": key, "ok": False, "error": f"{key} is not banned"}
            return {"do": do, "key": key, "ok": True}
        return {"do": do, "key": key, "ok": False, "error": f"no command {do!r}: kick, mute, unmute, let_in"}

    def changed(self) -> None:
        """Something the teacher's view shows changed (the progress board): send a new snapshot soon."""
        if self.pending is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no server running: nobody to tell
            return
        self.pending = loop.call_later(FEED_DELAY, self.send_snapshots)

    def roster_changed(self, what: str, line: Line | None) -> None:
        if line is not None and self.screens:
            tell(self.screens, dump({"type": "line", "line": line.as_dict()}))
        self.changed()

    def send_snapshots(self) -> None:
        self.pending = None
        if self.teachers:
            tell(self.teachers, dump(self.snapshot()))
        names = self.roster.names()
        if names != self.names:
            self.names = names
            if self.screens:
                tell(self.screens, dump({"type": "members", "members": names}))

    # -- the server's hooks -----------------------------------------------------------

    def route(self, path: str) -> str | None:
        """``TEACHER_PATH``, ``SCREEN_PATH`` or None (the room), for a path below the prefix."""
        path = urlsplit(path).path
        return path if path in PAGES else None

    def process_request(
        self, serve_page: Callable[[ServerConnection, Request], Any], teacher_refusal: TeacherRefusal
    ) -> Callable[[ServerConnection, Request], Awaitable[Response | None]]:
        """A ``process_request`` hook: the teacher's page and socket (if allowed), the screen's, then the room's.

        ``serve_page`` is the room's own hook (:func:`ws_course.web.pages.page`);
        a banned member's requests to the room get 403 before it sees them.
        """

        async def process_request(connection: ServerConnection, request: Request) -> Response | None:
            route = self.route(request.path)
            if route == TEACHER_PATH:
                why = teacher_refusal(connection, request)
                if inspect.isawaitable(why):
                    why = await why
                if why is not None:
                    connection.logger.warning("refused %s %s: %s", request.method, urlsplit(request.path).path, why)
                    return connection.respond(http.HTTPStatus.FORBIDDEN, f"Forbidden: {why}.\n")
            if route is not None:
                return None if wants_websocket(request) else serve_file(connection, request, PAGES[route])
            refused = self.room.refusal(connection, request)
            if refused is not None:
                return refused
            response = serve_page(connection, request)
            return await response if inspect.isawaitable(response) else response

        return process_request

    def handler(
        self, room_handler: Callable[[ServerConnection], Awaitable[None]]
    ) -> Callable[[ServerConnection], Awaitable[None]]:
        """The server's connection handler: each WebSocket to the teacher's feed, the screen's, or the room."""

        async def handler(websocket: ServerConnection) -> None:
            path = urlsplit(websocket.request.path).path
            below = "/" + path[len(self.prefix):] if path.startswith(self.prefix) else path
            route = self.route(below)
            if route == TEACHER_PATH:
                await self.serve_teacher(websocket)
            elif route == SCREEN_PATH:
                await self.serve_screen(websocket)
            else:
                await room_handler(websocket)

        return handler


def tell(viewers: set[Send], message: str) -> None:
    """Send ``message`` to every viewer of a feed."""
    for send in list(viewers):  # (a send may end its viewer's feed)
        send(message)


def sender(websocket: ServerConnection) -> Send:
    """``send(text)`` for a websockets connection: the rooms' own :func:`~ws_course.broadcast.broadcast`, to one."""
    return functools.partial(broadcast, [websocket])


def serve_file(connection: ServerConnection, request: Request, path: Any) -> Response:
    """A page, as :func:`ws_course.web.pages.page` serves one: GET, HEAD (no body), 405 otherwise."""
    if request.method not in ("GET", "HEAD"):
        response = connection.respond(http.HTTPStatus.METHOD_NOT_ALLOWED, "Method not allowed\n")
        response.headers["Allow"] = "GET, HEAD"
        return response
    response = file_response(path, request.path)
    return dataclasses.replace(response, body=b"") if request.method == "HEAD" else response


def dump(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))

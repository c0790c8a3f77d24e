"""The teacher's desk: the live feeds of the teacher's view and of the big screen, and their pages.

A :class:`Desk` watches a moderated room (:class:`~ws_course.classroom.moderated.Moderated`)
through its :class:`~ws_course.classroom.roster.Roster`, and serves two kinds of
WebSocket, whatever server and login are in front of it:

- :meth:`Desk.serve_teacher`: the teacher's view (``static/teacher.html``). It
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

- :meth:`Desk.serve_screen`: the big screen (``static/screen.html``): what members
  see, and the members' names, never their addresses::

      {"type": "screen", "lines": [{"kind": "message", "who": "user3", "text": "hi", "at": ...}, ...],
       "members": ["user1", "user3"]}       # first: the room's last lines
      {"type": "line", "line": {...}}        # then each new line
      {"type": "members", "members": [...]}  # and the names, when they change

Who may open which is the caller's business: :meth:`Desk.process_request` takes a
``teacher_refusal(connection, request)`` function (on ``ws-course serve``:
:func:`key_check`, the secret it printed; on the hub: "is this an admin?"). It
serves both pages, refuses banned members (:meth:`~ws_course.classroom.moderated.Moderated.refusal`),
and hands everything else to the room's own page hook. :meth:`Desk.handler` sends
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
import http
import inspect
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ..broadcast import broadcast
from ..safety.upgrade import wants_websocket
from ..web.pages import file_response
from ..web.static import STATIC
from .moderated import Moderated
from .roster import Line

__all__ = ["FEED_DELAY", "SCREEN_PATH", "TEACHER_PATH", "Desk", "key_check"]

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


def key_check(key: str) -> TeacherRefusal:
    """A ``teacher_refusal`` for :meth:`Desk.process_request`: the request must carry ``?key=KEY``.

    The comparison takes the same time whatever the guess (:func:`secrets.compare_digest`).
    """
    expected = key.encode()

    def teacher_refusal(connection: ServerConnection, request: Request) -> str | None:
        given = parse_qs(urlsplit(request.path).query).get("key", [""])[0]
        if secrets.compare_digest(given.encode(), expected):
            return None
        return ("the teacher's view needs its key: open the address that ws-course serve printed "
                "(it ends with /teacher?key=...)" if given else "the teacher's view needs its key (?key=...)")

    return teacher_refusal


class Desk:
    """The teacher's view and the big screen of one moderated room (see the module's documentation).

    Args:
        room: The moderated room.
        progress: A progress board (:class:`ws_course.classroom.progress.Board`), or None:
            its ``snapshot()`` goes into the teacher's snapshots as ``"progress"``.
        prefix: Where the server lives, ``/`` (``ws-course serve``) or ``/services/class-chat/``.
    """

    def __init__(self, room: Moderated, *, progress: Any = None, prefix: str = "/") -> None:
        self.room = room
        self.roster = room.roster
        self.progress = progress
        self.prefix = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
        self.teachers: set[ServerConnection] = set()
        self.screens: set[ServerConnection] = set()
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

    # -- the feeds --------------------------------------------------------------------

    async def serve_teacher(self, websocket: ServerConnection) -> None:
        """The teacher's WebSocket: snapshots out, commands in. The caller has checked who it is."""
        self.teachers.add(websocket)
        try:
            await websocket.send(dump(self.snapshot()))
            async for message in websocket:
                answer = await self.command(message)
                await websocket.send(dump({"type": "answer", **answer}))
        except ConnectionClosed:
            pass
        finally:
            self.teachers.discard(websocket)

    async def serve_screen(self, websocket: ServerConnection) -> None:
        """The big screen's WebSocket: the room's lines and names out; what it sends is ignored."""
        self.screens.add(websocket)
        try:
            await websocket.send(dump(self.screen()))
            async for _ in websocket:
                pass  # a screen only watches
        except ConnectionClosed:
            pass
        finally:
            self.screens.discard(websocket)

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
            broadcast(self.screens, dump({"type": "line", "line": line.as_dict()}))
        self.changed()

    def send_snapshots(self) -> None:
        self.pending = None
        if self.teachers:
            broadcast(self.teachers, dump(self.snapshot()))
        names = self.roster.names()
        if names != self.names:
            self.names = names
            if self.screens:
                broadcast(self.screens, dump({"type": "members", "members": names}))

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


def serve_file(connection: ServerConnection, request: Request, path: Any) -> Response:
    """A page, as :func:`ws_course.web.pages.page` serves one: GET, HEAD (no body), 405 otherwise."""
    if request.method not in ("GET", "HEAD"):
        response = connection.respond(http.HTTPStatus.METHOD_NOT_ALLOWED, "Method not allowed\n")
        response.headers["Allow"] = "GET, HEAD"
        return response
    response = file_response(path)
    return dataclasses.replace(response, body=b"") if request.method == "HEAD" else response


def dump(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))

"""The teacher's view and the big screen on an aiohttp server, next to Socket.IO: ``ws-course serve event-chat``'s desk.

A :class:`~ws_course.classroom.desk.Desk`'s feeds need only ``send(text)`` and the
texts their viewer sends (see :mod:`ws_course.classroom.desk`). :class:`DeskRoutes`
gives them aiohttp WebSockets, at the addresses the pages expect, on the same port
as Socket.IO's ``/socket.io/``::

    http://HOST:PORT/teacher?key=KEY    the teacher's page (GET), and its WebSocket: 403 without the key
    http://HOST:PORT/screen             the big screen's page, and its WebSocket (no key: no addresses on it)

    desk = Desk(room)
    DeskRoutes(desk, teacher_key).add_to(app)      # before the application is served

aiohttp's ``send_str`` is a coroutine (it waits while the client is slow to read),
and a feed's ``send`` must never wait: each WebSocket gets an :class:`Outbox`, a
queue that a task of its own empties in order. A viewer that stops reading is cut
once :data:`MAX_PENDING` messages wait for it, instead of the server keeping them
all; its page reconnects, and gets the whole picture again.

When the server stops, every viewer's WebSocket is closed with 1001 ("going away"),
and the pages reconnect by themselves when it is back. A viewer that does not take
its close within :data:`CLOSE_TIMEOUT` seconds is cut: aiohttp's ``close()`` would
wait for it for ever, and the server with it.
"""

from __future__ import annotations

import asyncio
import http
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import WSCloseCode, WSMsgType, web

from ..language.pages import page_file
from ..safety.upgrade import wants_websocket
from .desk import PAGES, SCREEN_PATH, TEACHER_PATH, Desk, Send, key_refusal

__all__ = ["CLOSE_TIMEOUT", "MAX_PENDING", "MAX_TEXT_BYTES", "DeskRoutes", "Outbox"]

#: A viewer with this many messages waiting for it is cut: it does not read.
MAX_PENDING = 1000

#: Seconds a viewer has to take its close when the server stops, before it is cut.
CLOSE_TIMEOUT = 1.0

#: The largest message a viewer may send (the teacher's commands are a few dozen bytes).
MAX_TEXT_BYTES = 64 * 1024

#: A feed: ``feed(send, received)``, :meth:`Desk.teacher_feed` or :meth:`Desk.screen_feed`.
Feed = Callable[[Send, AsyncIterator[str | bytes]], Awaitable[None]]


class Outbox:
    """What a feed sends one aiohttp WebSocket, sent in order by a task of its own; :meth:`send` never waits."""

    def __init__(self, websocket: web.WebSocketResponse, request: web.Request, logger: logging.Logger) -> None:
        self.websocket = websocket
        self.request = request
        self.logger = logger
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.writer = asyncio.create_task(self.write())
        self.gone = False  # cut: nothing more for it

    def send(self, text: str) -> None:
        """Queue ``text`` for the viewer; a viewer :data:`MAX_PENDING` messages behind is cut instead."""
        if self.gone:
            return
        if self.queue.qsize() >= MAX_PENDING:
            self.logger.warning("cut a viewer of %s that does not read: %d messages waiting for it",
                                self.request.path, MAX_PENDING)
            self.gone = True
            cut(self.request)  # (a close frame would wait behind all the rest)
            return
        self.queue.put_nowait(text)

    async def write(self) -> None:
        try:
            while True:
                await self.websocket.send_str(await self.queue.get())
        except ConnectionError:
            pass  # the viewer left: the feed ends when its reading does

    def stop(self) -> None:
        self.writer.cancel()


def cut(request: web.Request) -> None:
    """End a request's TCP connection now, whatever is still unsent."""
    if request.transport is not None:
        request.transport.abort()


async def texts(websocket: web.WebSocketResponse) -> AsyncIterator[str | bytes]:
    """What a viewer sends, until it closes."""
    async for message in websocket:
        if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
            yield message.data
        elif message.type is WSMsgType.ERROR:  # (a frame too large, say: aiohttp closes with 1009)
            return


class DeskRoutes:
    """The desk's pages and WebSockets as aiohttp routes (see the module's documentation).

    Args:
        desk: The room's desk.
        teacher_key: The secret the teacher's view needs (``?key=...``).
        logger: Where a refused request is logged.
    """

    def __init__(self, desk: Desk, teacher_key: str, logger: logging.Logger | None = None) -> None:
        if not teacher_key:
            raise ValueError("the teacher's key must not be empty")
        self.desk = desk
        self.teacher_key = teacher_key
        self.logger = logger or logging.getLogger("ws_course.classroom")
        self.viewers: dict[web.WebSocketResponse, web.Request] = {}  # each viewer's WebSocket, and its request

    def add_to(self, app: web.Application) -> None:
        """Add ``/teacher`` and ``/screen`` (GET and HEAD) to ``app``, and the goodbye when it shuts down."""
        app.router.add_get(TEACHER_PATH, self.teacher)
        app.router.add_get(SCREEN_PATH, self.screen)
        app.on_shutdown.append(self.goodbye)

    async def teacher(self, request: web.Request) -> web.StreamResponse:
        """``/teacher``: with the key, the page or the teacher's feed; without it, 403 and why."""
        why = key_refusal(self.teacher_key, request.query.get("key", ""))
        if why is not None:
            self.logger.warning("refused %s %s: %s", request.method, request.path, why)
            status = http.HTTPStatus.FORBIDDEN
            return web.Response(status=status, text=f"{status.phrase}: {why}.\n")
        return await self.page_or_feed(request, TEACHER_PATH, self.desk.teacher_feed)

    async def screen(self, request: web.Request) -> web.StreamResponse:
        """``/screen``: the page, or the big screen's feed."""
        return await self.page_or_feed(request, SCREEN_PATH, self.desk.screen_feed)

    async def page_or_feed(self, request: web.Request, path: str, feed: Feed) -> web.StreamResponse:
        if not wants_websocket(request):  # the page, in the language its address asks for (?lang=zh)
            return web.Response(body=page_file(PAGES[path], str(request.rel_url)), content_type="text/html",
                                charset="utf-8", headers={"Cache-Control": "no-store"})
        websocket = web.WebSocketResponse(compress=False, max_msg_size=MAX_TEXT_BYTES, timeout=1)
        await websocket.prepare(request)  # the opening handshake
        self.viewers[websocket] = request
        outbox = Outbox(websocket, request, self.logger)
        try:
            await feed(outbox.send, texts(websocket))
        finally:
            outbox.stop()
            self.viewers.pop(websocket, None)
        return websocket

    async def goodbye(self, app: web.Application) -> None:
        """The server stops: every viewer's WebSocket closes with 1001, "going away" (or is cut)."""
        await asyncio.gather(*(self.close(websocket, request) for websocket, request in list(self.viewers.items())))

    async def close(self, websocket: web.WebSocketResponse, request: web.Request) -> None:
        try:
            await asyncio.wait_for(websocket.close(code=WSCloseCode.GOING_AWAY, message=b"going away"), CLOSE_TIMEOUT)
        except asyncio.TimeoutError:
            cut(request)  # a viewer that does not read cannot take its close either

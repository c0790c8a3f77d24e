"""Demo 5, part 1: Socket.IO news.

The article's first Socket.IO server, with python-socketio. On connection the
server emits the event ``news`` with ``{"hello": "world"}``; the page answers
with the event ``my other event`` and ``{"my": "data"}``, which the server logs.
Events have names and carry any JSON-able data: no ``type`` field to invent.
"""

import socketio

from .web.socketio_app import SocketIOServer


def create_server(**options) -> socketio.AsyncServer:
    """The Socket.IO server and its event handlers (``options`` go to ``AsyncServer``)."""
    # always_connect: the client's connection is established before connect() runs,
    # so what connect() emits arrives after the client's own "connect" event.
    sio = socketio.AsyncServer(async_mode="aiohttp", always_connect=True, **options)

    @sio.event
    async def connect(sid, environ):
        await sio.emit("news", {"hello": "world"}, to=sid)  # the article's socket.emit(...)

    @sio.on("my other event")  # an event name may have spaces
    async def my_other_event(sid, data):
        sio.logger.info("my other event: %r", data)  # the article's console.log(data)

    return sio


def serve(host: str = "127.0.0.1", port: int = 3000, **options):
    """Create the news server, with its page at ``http://host:port/`` (``await`` it)."""
    return SocketIOServer(create_server, "news.html", host, port, **options)

"""Demo 5, part 2: the chat room with Socket.IO events.

The article's Socket.IO chat, with python-socketio. The room's three kinds of
message are three events, each with a name, instead of a ``type`` field:

- ``enter``, to everyone, when a member connects: ``user1 comes in``;
- ``mes``, to everyone, for each ``message`` event a member emits: ``user1 says: hi``;
- ``leave``, to everyone, when a member disconnects: ``user1 left``.
"""

import contextlib

import socketio

from .web.socketio_app import SocketIOServer

#: Larger messages close the sender's connection, as in the chat of demo 3.
MAX_MESSAGE_BYTES = 64 * 1024


def create_server(*, redis: str | None = None, **options) -> socketio.AsyncServer:
    """The Socket.IO server and its event handlers (``options`` go to ``AsyncServer``).

    With ``redis="redis://HOST:PORT/DB"``, its room is the same as that of every
    event chat server on that Redis (lesson 09, :mod:`ws_course.scaleout.redis_socketio`).
    """
    shared = None
    arrival = contextlib.nullcontext  # in one process, nothing can come between a newcomer and its "enter"
    if redis is not None:
        from .scaleout.redis_socketio import RoomManager

        options["client_manager"] = manager = RoomManager(redis, "event_chat", options.get("logger"))
        shared = manager.room  # nicknames and who is where, in Redis
        arrival = manager.arrival  # holds others' messages while a newcomer's nickname comes from Redis
        manager.on_left(lambda nickname: sio.emit("leave", f"{nickname} left"))  # a process is gone
        manager.on_back(lambda nickname: sio.emit("enter", f"{nickname} is back"))  # ... or was only frozen
    # always_connect: a member's connection is established before connect() runs,
    # so it receives its own "enter", like everyone else.
    sio = socketio.AsyncServer(
        async_mode="aiohttp", always_connect=True, max_http_buffer_size=MAX_MESSAGE_BYTES, **options
    )
    count = 0  # the article's clientCount: it only goes up, so no nickname is reused

    @sio.event
    async def connect(sid, environ):
        nonlocal count
        async with arrival():
            if shared is None:
                count += 1
                nickname = f"user{count}"
            else:
                nickname = await shared.new_nickname()  # from the counter in Redis
                shared.arrived(nickname)
            await sio.save_session(sid, {"nickname": nickname})  # the article's socket.nickname
            await sio.emit("enter", f"{nickname} comes in")  # no "to": everyone

    @sio.event
    async def message(sid, text):
        nickname = (await sio.get_session(sid))["nickname"]
        if not isinstance(text, str):
            # Events carry any JSON; this room's messages are text. Tell the sender.
            await sio.emit("refused", f"a message must be text, not {type(text).__name__}", to=sid)
            return
        await sio.emit("mes", f"{nickname} says: {text}")

    @sio.event
    async def disconnect(sid, reason):
        nickname = (await sio.get_session(sid))["nickname"]
        sio.logger.info("%s left (%s)", nickname, reason)
        if shared is not None:
            shared.departed(nickname)
        await sio.emit("leave", f"{nickname} left")

    return sio


def serve(host: str = "127.0.0.1", port: int = 3000, **options):
    """Create the event chat server, with its page at ``http://host:port/`` (``await`` it)."""
    return SocketIOServer(create_server, "event-chat.html", host, port, **options)

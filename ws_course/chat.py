"""Demo 3: the chat room.

The article's ``wsServer.js`` (demo 3) in Python. Each new connection gets a
nickname, ``user1``, ``user2``, ... (a number is never reused); the room hears
``user1 comes in`` when it joins, every text anyone sends, and ``user1 left``
when it goes.

The three sentences the room says are methods of :class:`ChatRoom`, so that the
JSON chat room (demo 4) can say the same things in another format by changing
only those.
"""

import inspect

from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as websockets_serve
from websockets.exceptions import ConnectionClosedError
from websockets.frames import CloseCode

from .broadcast import (
    broadcast,  # websockets' broadcast(), each frame built once for the room
)
from .web.pages import page

#: Larger messages are refused with close code 1009 ("message too big"). The limit
#: is lower than websockets' default (1 MiB) because a chat copies every message to
#: everyone: one 1 MiB message in a room of 30 is 30 MiB to send.
MAX_MESSAGE_BYTES = 64 * 1024


class ChatRoom:
    """One chat room: who is in it, and a counter for nicknames."""

    def __init__(self) -> None:
        self.members: dict[ServerConnection, str] = {}  # each connection, and its nickname
        self.count = 0  # the article's clientCount: it only goes up, so no nickname is reused

    async def handler(self, websocket: ServerConnection) -> None:
        """Handle one connection, from its arrival in the room to its departure."""
        self.arrive(websocket, await self.new_nickname())
        try:
            async for message in websocket:
                if isinstance(message, bytes):
                    await websocket.close(CloseCode.UNSUPPORTED_DATA, "the chat accepts text only")
                    break
                received = self.receive(websocket, message)
                if inspect.isawaitable(received):  # a receive() written as "async def"
                    await received
        except ConnectionClosedError:
            pass  # it vanished, or sent too much: either way it leaves the room below
        finally:
            # However the connection ended (a goodbye, a vanished client, a message
            # too big), take it out of the room and tell the others.
            self.depart(websocket)

    async def new_nickname(self) -> str:
        """``user1``, ``user2``, ...: the next number of the counter."""
        self.count += 1
        return f"user{self.count}"

    def arrive(self, websocket: ServerConnection, nickname: str) -> None:
        """Add a member, *then* tell everyone: the newcomer hears its own arrival first."""
        self.members[websocket] = nickname
        websocket.logger.info("%s comes in", nickname)
        self.tell_everyone(self.entered(nickname))

    def depart(self, websocket: ServerConnection) -> None:
        """Take a member out of the room, then tell those still there."""
        nickname = self.members.pop(websocket)
        websocket.logger.info("%s left: code %s", nickname, websocket.close_code)
        self.tell_everyone(self.left(nickname))

    def receive(self, websocket: ServerConnection, text: str) -> None:
        """A member sent ``text``: the whole room hears it, the sender included.

        A subclass may write it ``async def receive(...)``, to ``await`` in it
        (``await websocket.close(...)``, say): the handler then awaits it.
        """
        self.tell_everyone(self.said(self.members[websocket], text))

    def tell_everyone(self, message: str) -> None:
        """Send ``message`` to every member: ``broadcast()`` never waits (see :mod:`ws_course.broadcast`)."""
        broadcast(self.members, message)

    # What the room says, as it goes on the wire.

    def entered(self, nickname: str) -> str:
        return f"{nickname} comes in"

    def said(self, nickname: str, text: str) -> str:
        return text  # as it is, like the article's server

    def left(self, nickname: str) -> str:
        return f"{nickname} left"


def serve(host: str = "127.0.0.1", port: int = 8001, *, redis: str | None = None, **options):
    """Create a chat server (with a room of its own), its page at ``http://host:port/``.

    With ``redis="redis://HOST:PORT/DB"``, its room is the same as that of every
    chat server on that Redis (lesson 09, :mod:`ws_course.scaleout.redis_room`).
    """
    options = dict(process_request=page("chat.html"), max_size=MAX_MESSAGE_BYTES, **options)
    if redis is not None:
        from .scaleout.redis_room import serve_shared

        return serve_shared(ChatRoom, "chat", redis, websockets_serve, host, port, **options)
    room = ChatRoom()
    return websockets_serve(room.handler, host, port, **options)

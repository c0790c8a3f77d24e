"""The Socket.IO chat's room across processes: python-socketio's Redis manager, with a room in Redis.

python-socketio already knows how to run one Socket.IO server in many processes:
give ``AsyncServer`` a ``client_manager=socketio.AsyncRedisManager(url)``, and every
``emit`` goes to this process's clients at once and, through Redis pub/sub, to the
other processes, which hand it to theirs. :class:`RoomManager` is that manager,
with these changes for a class room:

- **Who is in the room** lives in Redis too (nicknames from one counter, each
  process's members, a heartbeat that tells when a process is gone): the
  :class:`~ws_course.scaleout.redis_room.SharedRoom` of the plain chat rooms, which the
  event chat uses through :attr:`RoomManager.room`.
- **Each sender's order holds**: emits are published one after the other, over one
  connection (:meth:`RoomManager._publish`).
- **Losing Redis is one line in the log, not two errors per message.** The stock
  manager logs ``Cannot publish to redis... retrying`` and ``... giving up`` for
  every emit while Redis is away, and waits up to a minute between attempts to
  subscribe again. Here an emit while split reaches this process's members only
  (the stock manager does that part already), quietly; the manager tries to
  subscribe again every :data:`~ws_course.scaleout.redis_room.RETRY` seconds, and says
  once that the room is split and once that it is whole again.
- **A newcomer hears its own arrival first**, as in one process. Its nickname now
  comes from Redis, which takes a moment, and the newcomer is already connected
  meanwhile (``always_connect``): others' messages would reach it first, and it
  would take someone else's ``comes in`` for its own. So the chat's ``connect``
  handler runs inside :meth:`RoomManager.arrival`, which holds every other
  message of this process until the arrival is said.
- It starts with the server (so that a process with no members yet still joins
  the room and watches for processes that are gone), and leaves Redis when the
  server stops.
- **It listens to the room's channel too** (``ws-course:ROOM``), on the same
  connection: there the processes tell each other which nicknames they gave, and
  which process was taken for gone, in order with the emits (:meth:`SharedRoom.hear
  <ws_course.scaleout.redis_room.SharedRoom.hear>`). A process that was frozen, and
  taken for gone, hears there that it was, after the ``leave`` emits, and says its
  members are back (:meth:`RoomManager.on_back`).
- **What is not a message of the room is skipped, and said once.** The stock
  listening task drops what is not JSON without a word; JSON that is not an
  object, such as ``["method"]``, raises outside its handler: a traceback, and the
  listener starts again (which, before this check, opened a new Redis connection
  each time and left the old one subscribed, and lost what was published
  meanwhile); an ``emit`` without ``data`` logs a traceback each time. Here each
  message is checked before the library sees it (:meth:`RoomManager.checked`).

Like the plain rooms' pub/sub, it is **at most once**: what is published while a
process is reconnecting never reaches that process's members.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import socketio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from ..runtime.processes import password_from_environment
from ..web.socketio_manager import EmitInTurn
from .redis_room import LOST, RETRY, SharedRoom

# Beyond python-socketio's documented API: AsyncRedisManager's _handle_emit, _publish, _listen and
# _redis_listen_with_retries overridden, and its connection (see ws_course.contract).

#: What each kind of message python-socketio's managers publish must carry.
FIELDS = {
    "emit": ("event", "data"),
    "disconnect": ("sid",),
    "enter_room": ("sid", "room"),
    "leave_room": ("sid", "room"),
    "close_room": ("room",),
    "callback": ("host_id", "sid", "id", "args"),
}


class RoomManager(socketio.AsyncRedisManager, EmitInTurn):
    """``socketio.AsyncRedisManager`` for one class room (see the module's documentation).

    Args:
        url: Redis's address, ``redis://HOST:PORT/DB`` (with ``:PASSWORD@`` when Redis asks for one).
        room: The room's name: every process with the same Redis and name shares it.
        logger: Where it says that it joined, split, rejoined, or saw a process go.

    Call :meth:`on_left` with what to do for each member of a process that is gone,
    and :meth:`on_back` with what to do for each member here that the room was told had left.
    """

    def __init__(self, url: str, room: str, logger: logging.Logger | None = None) -> None:
        logger = logger or logging.getLogger(f"ws_course.{room}")
        super().__init__(
            url, channel=f"ws-course:{room}:socketio", logger=logger,
            redis_options={"retry": Retry(NoBackoff(), 0), "socket_connect_timeout": 2,
                           **password_from_environment(url)},
        )
        self._left: Callable[[str], Any] = lambda nickname: None
        self._back: Callable[[str], Any] = lambda nickname: None
        self._arrivals = asyncio.Lock()
        self._arriving: asyncio.Task | None = None
        self.room = SharedRoom(url, room, logger=logger, on_left=lambda nickname: self._left(nickname),
                               on_back=lambda nickname: self._back(nickname))

    def on_left(self, announce: Callable[[str], Any]) -> None:
        """``announce(nickname)`` (a coroutine function or a plain one) for each member of a process that is gone."""
        self._left = announce

    def on_back(self, announce: Callable[[str], Any]) -> None:
        """``announce(nickname)`` for each member here that the room was told had left, when this process is back."""
        self._back = announce

    @contextlib.asynccontextmanager
    async def arrival(self):
        """While a newcomer gets its nickname and is announced, hold every other message to this process's members."""
        async with self._arrivals:
            self._arriving = asyncio.current_task()
            try:
                yield
            finally:
                self._arriving = None

    async def _handle_emit(self, message: Any) -> None:
        """Give an emit to this process's members: at once for the arrival being said, else after it."""
        if self._arriving is not None and self._arriving is asyncio.current_task():
            return await super()._handle_emit(message)
        async with self._arrivals:
            return await super()._handle_emit(message)

    async def start(self) -> None:
        """Join the room in Redis now, before the first member comes (called when the server starts)."""
        await self.room.start()
        self.server.manager_initialized = True
        self.initialize()  # subscribes, in a background task (_thread), and then joins the room
        await self.room.wait_until_joined()

    async def aclose(self) -> None:
        """Leave Redis: stop listening, remove this process from the room (called when the server stops)."""
        thread = getattr(self, "thread", None)
        if thread is not None:
            thread.cancel()
            await asyncio.gather(thread, return_exceptions=True)
        await self.room.close()
        await self._close_clients()

    async def _close_clients(self) -> None:
        for client in (self.pubsub, self.redis):
            if client is not None:
                try:
                    await client.aclose()
                except LOST:
                    pass

    async def _publish(self, data: Any) -> None:
        """Publish to the other processes, in order; while the room is split, don't (this process's members have it).

        The stock manager publishes each emit on its own, over whichever connection
        of its pool is free: two emits in a row can overtake each other on the way
        to Redis. Here they queue up, and go over one connection, in order.
        """
        self.room.publish(self.json.dumps(data), channel=self.channel)

    def checked(self, data: bytes) -> dict[str, Any] | None:
        """A message of python-socketio's managers, decoded; None (skipped, and said once) for anything else."""
        try:
            message = self.json.loads(data.decode())
        except ValueError as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            return self.room.skip(self.channel, f"not JSON text: {type(error).__name__}", data)
        if not isinstance(message, dict) or message.get("method") not in FIELDS:
            return self.room.skip(self.channel, "not an object with a method python-socketio publishes", data)
        missing = [field for field in FIELDS[message["method"]] if field not in message]
        if missing:
            return self.room.skip(self.channel, f"{message['method']!r} without {', '.join(missing)}", data)
        return message

    async def _listen(self):
        """Yield python-socketio's messages, checked; act on the room's own (nicknames, processes gone)."""
        channel = self.channel.encode()
        async with contextlib.aclosing(self._redis_listen_with_retries()) as messages:
            async for message in messages:
                if message.get("type") != "message":
                    continue
                if message["channel"] == channel:
                    checked = self.checked(message["data"])
                    if checked is not None:
                        yield checked
                else:
                    await self.room.hear(message["data"])

    async def _redis_listen_with_retries(self):
        """Yield what the other processes publish; when Redis goes, split, and subscribe again every RETRY s."""
        while True:
            try:
                self._redis_connect()
                await self.pubsub.subscribe(self.channel, self.room.channel)  # one connection: one order for both
                await self.room.rejoin()
                while self.room.joined:  # a split seen elsewhere (a failed publish) ends this within a second
                    message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is not None:
                        yield message
            except LOST as error:
                self.connected = False
                self.room.split(error)
            finally:  # also when the library's listener fails and starts again: no connection left behind
                await self._close_clients()
            await asyncio.sleep(RETRY)

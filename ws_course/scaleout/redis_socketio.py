"""The Socket.IO chat's room across processes: python-socketio's Redis manager, with a room in Redis.

python-socketio already knows how to run one Socket.IO server in many processes:
give ``AsyncServer`` a ``client_manager=socketio.AsyncRedisManager(url)``, and every
``emit`` goes to this process's clients at once and, through Redis pub/sub, to the
other processes, which hand it to theirs. :class:`RoomManager` is that manager,
with three changes for a class room:

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

# Beyond python-socketio's documented API: AsyncRedisManager's _handle_emit, _publish and
# _redis_listen_with_retries overridden, and its connection (see ws_course.contract).


class RoomManager(socketio.AsyncRedisManager, EmitInTurn):
    """``socketio.AsyncRedisManager`` for one class room (see the module's documentation).

    Args:
        url: Redis's address, ``redis://HOST:PORT/DB``.
        room: The room's name: every process with the same Redis and name shares it.
        logger: Where it says that it joined, split, rejoined, or saw a process go.

    Call :meth:`on_left` with what to do for each member of a process that is gone.
    """

    def __init__(self, url: str, room: str, logger: logging.Logger | None = None) -> None:
        logger = logger or logging.getLogger(f"ws_course.{room}")
        super().__init__(
            url, channel=f"ws-course:{room}:socketio", logger=logger,
            redis_options={"retry": Retry(NoBackoff(), 0), "socket_connect_timeout": 2,
                           **password_from_environment(url)},
        )
        self._left: Callable[[str], Any] = lambda nickname: None
        self._announcing: set[asyncio.Task] = set()
        self._arrivals = asyncio.Lock()
        self._arriving: asyncio.Task | None = None
        self.room = SharedRoom(url, room, logger=logger, on_left=lambda nickname: self._left(nickname))

    def on_left(self, announce: Callable[[str], Any]) -> None:
        """``announce(nickname)`` (a coroutine function or a plain one) for each member of a process that is gone."""

        def left(nickname: str) -> None:
            result = announce(nickname)
            if asyncio.iscoroutine(result):
                task = asyncio.create_task(result)
                self._announcing.add(task)  # a reference, until it is done
                task.add_done_callback(self._announcing.discard)

        self._left = left

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

    async def _redis_listen_with_retries(self):
        """Yield what the other processes publish; when Redis goes, split, and subscribe again every RETRY s."""
        while True:
            try:
                self._redis_connect()
                await self.pubsub.subscribe(self.channel)
                await self.room.rejoin()
                while self.room.joined:  # a split seen elsewhere (a failed publish) ends this within a second
                    message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is not None:
                        yield message
            except LOST as error:
                self.connected = False
                self.room.split(error)
            for client in (self.pubsub, self.redis):
                try:
                    await client.aclose()
                except LOST:
                    pass
            await asyncio.sleep(RETRY)

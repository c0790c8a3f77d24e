"""One chat room across many server processes, through Redis (lesson 09).

A chat room in one process keeps its members in a dictionary, and a counter for
nicknames. Run the same server in two processes (two cores, two machines behind
a load balancer) and you get two rooms: a member of one never hears the other.
So whatever the room shares goes through Redis, which every process reaches:

- **Messages**: pub/sub. Each process hands what its room says to its own members
  at once, and publishes it on the channel ``ws-course:ROOM``; every other process
  receives it and hands it to *its* members. Each process publishes over one
  connection, in order, so each sender's messages arrive in the order sent.
- **Nicknames**: one counter, ``INCR ws-course:ROOM:count``, so ``user7`` exists once.
- **Who is where** (presence): each process keeps the set of its members'
  nicknames (``ws-course:ROOM:members:ID``), lists itself in ``ws-course:ROOM:servers``,
  and renews a key that says it is alive, ``ws-course:ROOM:alive:ID``, every
  :data:`HEARTBEAT` seconds, with a time to live of :data:`ALIVE_FOR` seconds.

Why a key with a time to live? A process that is killed, frozen, or cut off by the
network says nothing; it just stops renewing its key, and Redis lets the key
expire. Every process checks the others' keys at each heartbeat; the first to see
one missing removes that process from ``servers`` (``SREM`` answers 1 to one
process only, so only one does the rest), and says ``userN left`` for each of its
members, to the whole room. A closed TCP connection would tell sooner, but only
when the process dies: a frozen process, or one behind a broken network, keeps
its connections open for minutes.

What pub/sub does not do: keep messages. Redis hands a message to the processes
subscribed at that moment, once, and forgets it (**at most once**). A process that
is reconnecting misses what is published meanwhile, and nothing sends it again.

When Redis goes away, each process goes on serving its own members (they hear
each other, and nobody else), logs once that the room is split, and tries again
every :data:`RETRY` seconds; when Redis is back it joins again, tells Redis who
its members are and the highest nickname number it gave out (a Redis restarted
without its data would otherwise count from 1 again), and logs that too.
A newcomer while the room is split gets a nickname that cannot clash: ``user-ID-1``.

:class:`SharedRoom` is this Redis side, for any room. :class:`AcrossProcesses`
makes a :class:`~ws_course.chat.ChatRoom` (or a JSON one) use it, and
:func:`serve_shared` runs such a room's server. The Socket.IO chat uses the same
:class:`SharedRoom` with python-socketio's own Redis manager:
:mod:`ws_course.scaleout.redis_socketio`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from ..runtime.processes import password_from_environment
from ..runtime.server import ServerHandle, close
from ..safety.logs import EVERY_TIME

#: Seconds between two "I am alive" of a process.
HEARTBEAT = 1.0

#: Seconds a process's "I am alive" lasts: missing it means the process is gone.
ALIVE_FOR = 3.0

#: Seconds between two attempts to reach Redis while it is away.
RETRY = 0.5

#: Raise the nickname counter to at least ARGV[1] (a Redis restarted empty starts from 0).
RAISE_COUNTER = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return count
"""

#: What it means to lose Redis: the network, or Redis itself, failed.
LOST = (RedisError, OSError)


class RedisUnreachable(ConnectionError):
    """A shared room's server could not reach Redis when it started."""


class SharedRoom:
    """What one room keeps in Redis, seen from one process (see the module's documentation).

    Args:
        url: Redis's address, ``redis://HOST:PORT/DB``.
        room: The room's name; every process with the same Redis and name shares it.
        logger: Where it says that it joined, split, rejoined, or saw a process go.
        on_left: Called with the nickname of each member of a process that is gone.
        on_message: Called with each message another process published; without
            it, this object does not subscribe (the Socket.IO manager does it itself).

    Attributes:
        id: This process's name in Redis, random.
        joined: True while this process is in the room; False while it is split from it.
    """

    def __init__(
        self,
        url: str,
        room: str,
        *,
        logger: logging.Logger,
        on_left: Callable[[str], Any],
        on_message: Callable[[str], Any] | None = None,
    ) -> None:
        self.url, self.room, self.logger = url, room, logger
        self.on_left, self.on_message = on_left, on_message
        self.id = secrets.token_hex(4)
        self.channel = f"ws-course:{room}"
        self.here: set[str] = set()  # the nicknames of this process's members
        self.highest = 0  # the highest nickname number this process has seen
        self.joined = False
        self.joined_at = 0.0
        self._split_count = 0  # how many newcomers got a nickname while split
        self._outbox: list[tuple[Any, ...]] = []  # commands to send, in order
        self._wake = asyncio.Event()
        self._closing = False
        self._tasks: list[asyncio.Task] = []  # the writer first
        self.redis = connect(url, name=f"{self.channel}:{self.id}")

    # -- keys ---------------------------------------------------------------------

    def key(self, *parts: str) -> str:
        return ":".join([self.channel, *parts])

    # -- life cycle ---------------------------------------------------------------

    async def start(self) -> None:
        """Reach Redis (or raise :class:`RedisUnreachable`), join the room, start the background tasks."""
        try:
            await self.redis.ping()
        except LOST as error:
            await self.redis.aclose()
            raise RedisUnreachable(f"cannot reach Redis at {self.url}: {error}. Is it running?") from None
        self._tasks += [asyncio.create_task(self._write()), asyncio.create_task(self._heartbeat())]
        if self.on_message is not None:
            self._tasks.append(asyncio.create_task(self._subscribe()))
            await self.wait_until_joined()  # subscribed: from now on, nothing the others say is missed

    async def wait_until_joined(self, timeout: float = 5) -> None:
        """Wait until this process is in the room (subscribed, and known to Redis)."""
        try:
            async with asyncio.timeout(timeout):
                while not self.joined:
                    await asyncio.sleep(0.01)
        except TimeoutError:
            await self.close()
            raise RedisUnreachable(f"could not join the room in Redis at {self.url} within {timeout} s") from None

    async def close(self) -> None:
        """Leave the room: send what is queued (departures, last words), remove this process's keys."""
        self._closing = True
        self._wake.set()
        writer, others = self._tasks[:1], self._tasks[1:]  # the writer sends what is queued, then ends
        for task in others:
            task.cancel()
        try:
            async with asyncio.timeout(2):
                await asyncio.gather(*writer, *others, return_exceptions=True)
                if self.joined:
                    await self.redis.srem(self.key("servers"), self.id)
                    await self.redis.delete(self.key("alive", self.id), self.key("members", self.id))
        except (*LOST, TimeoutError):
            pass  # Redis is away: the others will see this process's key expire
        for task in writer:
            task.cancel()
        await self.redis.aclose()

    # -- what the room does -------------------------------------------------------

    def publish(self, message: str, channel: str | None = None) -> None:
        """Send ``message`` to the other processes' members (in order; at most once).

        On the room's channel, it goes with this process's id in front (see :meth:`received`);
        on another ``channel`` (the Socket.IO manager's), as it is.
        """
        if self.joined:
            if channel is None:
                self._queue("PUBLISH", self.channel, f"{self.id} {message}")
            else:
                self._queue("PUBLISH", channel, message)

    def received(self, data: str) -> str | None:
        """A message from the channel, or None if it is this process's own."""
        sender, _, message = data.partition(" ")
        return None if sender == self.id else message

    async def new_nickname(self) -> str:
        """``userN``, N from the counter in Redis; while the room is split, ``user-ID-N``."""
        if self.joined:
            try:
                number = await self.redis.incr(self.key("count"))
                self.highest = max(self.highest, number)
                return f"user{number}"
            except LOST as error:
                self.split(error)
        self._split_count += 1
        return f"user-{self.id}-{self._split_count}"

    def arrived(self, nickname: str) -> None:
        self.here.add(nickname)
        if self.joined:
            self._queue("SADD", self.key("members", self.id), nickname)

    def departed(self, nickname: str) -> None:
        self.here.discard(nickname)
        if self.joined:
            self._queue("SREM", self.key("members", self.id), nickname)

    # -- joining, splitting -------------------------------------------------------

    async def rejoin(self) -> None:
        """(Re)enter the room in Redis: this process, its members, its highest nickname number."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.sadd(self.key("servers"), self.id)
            pipe.set(self.key("alive", self.id), "1", px=int(ALIVE_FOR * 1000))
            pipe.delete(self.key("members", self.id))
            if self.here:
                pipe.sadd(self.key("members", self.id), *self.here)
            pipe.eval(RAISE_COUNTER, 1, self.key("count"), self.highest)
            await pipe.execute()
        first, was_split = self.joined_at == 0, not self.joined
        self.joined, self.joined_at = True, time.monotonic()
        if first:
            self.logger.info("joined the room %r in Redis at %s (as server %s)", self.room, self.url, self.id)
        elif was_split:
            self.logger.warning("rejoined the room %r: Redis at %s is back", self.room, self.url, extra=EVERY_TIME)

    def split(self, error: BaseException) -> None:
        """Redis is away: say so once, and serve this process's members on their own until it is back."""
        self._outbox.clear()  # not sent, and never will be: at most once
        if not self.joined:
            return
        self.joined = False
        self.logger.warning(
            "the room %r is split: lost Redis at %s (%s: %s); the %d members here hear only each other "
            "until it is back", self.room, self.url, type(error).__name__, error, len(self.here),
            extra=EVERY_TIME,  # each split is news, even in the same words as the last
        )

    # -- background tasks -----------------------------------------------------------

    def _queue(self, *command: Any) -> None:
        self._outbox.append(command)
        self._wake.set()

    def _take_outbox(self) -> list[tuple[Any, ...]]:
        batch, self._outbox = self._outbox, []
        return batch

    async def _send(self, batch: list[tuple[Any, ...]]) -> None:
        if len(batch) == 1:
            await self.redis.execute_command(*batch[0])
        elif batch:
            async with self.redis.pipeline(transaction=False) as pipe:  # one round trip, in order
                for command in batch:
                    pipe.execute_command(*command)
                await pipe.execute()

    async def _write(self) -> None:
        """Send the queued commands, in order, as many at once as have piled up (until :meth:`close`)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch = self._take_outbox()
            if self.joined and batch:
                try:
                    await self._send(batch)
                except LOST as error:
                    self.split(error)
            if self._closing and not self._outbox:
                return

    async def _subscribe(self) -> None:
        """Receive the other processes' messages; on losing Redis, split, and try again."""
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                await self.rejoin()
                while self.joined:  # split() by another task ends this loop within a second
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        text = self.received(message["data"])
                        if text is not None:
                            self.on_message(text)
            except LOST as error:
                self.split(error)
            finally:
                try:
                    await pubsub.aclose()
                except LOST:
                    pass
            await asyncio.sleep(RETRY)

    async def _heartbeat(self) -> None:
        """Say "alive" every :data:`HEARTBEAT` seconds, and look for processes that no longer do."""
        while True:
            await asyncio.sleep(HEARTBEAT)
            if not self.joined:
                continue
            try:
                await self.redis.set(self.key("alive", self.id), "1", px=int(ALIVE_FOR * 1000))
                # Only after being in the room for ALIVE_FOR: after Redis comes back, the
                # others need that long to say they are alive again.
                if time.monotonic() - self.joined_at > ALIVE_FOR:
                    await self._reap()
            except LOST as error:
                self.split(error)

    async def _reap(self) -> None:
        """Every process whose "alive" expired has left the room, and so have its members."""
        for server in await self.redis.smembers(self.key("servers")):
            if server == self.id or await self.redis.exists(self.key("alive", server)):
                continue
            if not await self.redis.srem(self.key("servers"), server):
                continue  # another process got there first: it tells the room
            nicknames = await self.redis.smembers(self.key("members", server))
            await self.redis.delete(self.key("members", server))
            self.logger.warning("server %s stopped answering: its %d members left the room", server, len(nicknames))
            for nickname in sorted(nicknames, key=_number):
                self.on_left(nickname)


def connect(url: str, name: str) -> aioredis.Redis:
    """A Redis client that fails at once when Redis is away (we retry ourselves), with text replies.

    Its connections are called ``name`` in Redis (``CLIENT LIST`` shows it): an
    operator can tell which process is which. The password is the URL's or, if
    it has none, ``WS_COURSE_REDIS_PASSWORD``'s (see :func:`~ws_course.runtime.processes.start_process`).
    """
    return aioredis.Redis.from_url(
        url, decode_responses=True, retry=Retry(NoBackoff(), 0), socket_connect_timeout=2, client_name=name,
        **password_from_environment(url),
    )


def _number(nickname: str) -> tuple[int, str]:
    digits = nickname.removeprefix("user")
    return (int(digits), nickname) if digits.isdigit() else (0, nickname)


class AcrossProcesses:
    """Mix into a chat room class to share its room with every process on one Redis.

    ``class SharedChatRoom(AcrossProcesses, ChatRoom)``: the room's own code does
    not change; four of its methods now also go through Redis (:class:`SharedRoom`).
    :func:`shared` makes such a class for you.
    """

    def __init__(self, url: str, room: str, logger: logging.Logger, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shared = SharedRoom(
            url, room, logger=logger, on_left=lambda nickname: self.tell_everyone(self.left(nickname)),
            on_message=super().tell_everyone,  # a message from another process: for the members here
        )

    async def new_nickname(self) -> str:
        return await self.shared.new_nickname()

    def tell_everyone(self, message: str) -> None:
        super().tell_everyone(message)  # the members here, at once
        self.shared.publish(message)  # the members of every other process, through Redis

    def arrive(self, websocket: Any, nickname: str) -> None:
        self.shared.arrived(nickname)
        super().arrive(websocket, nickname)

    def depart(self, websocket: Any) -> None:
        self.shared.departed(self.members[websocket])
        super().depart(websocket)


def shared(room_class: type, url: str, room: str, logger: logging.Logger) -> Any:
    """A new room of ``room_class`` (``ChatRoom``, ``JSONChatRoom``, or your own subclass), shared through Redis."""

    class Shared(AcrossProcesses, room_class):
        pass

    Shared.__name__ = Shared.__qualname__ = f"Shared{room_class.__name__}"
    return Shared(url, room, logger)


class SharedRoomServer(ServerHandle):
    """A websockets server whose room is shared through Redis: ``await`` it to start both.

    Like every course server, it is a :class:`~ws_course.runtime.server.ServerHandle`.
    """

    def __init__(self, room: AcrossProcesses, server: Any) -> None:
        self.room = room
        self._server = server  # what websockets' serve() returned, not awaited yet

    def __await__(self):
        return self._start().__await__()

    async def _start(self) -> SharedRoomServer:
        await self.room.shared.start()
        try:
            self.server = await self._server
        except BaseException:
            await self.room.shared.close()
            raise
        return self

    @property
    def port(self) -> int:
        return self.server.sockets[0].getsockname()[1]

    async def aclose(self) -> None:
        """Close the server (its members leave, and the whole room hears it), then leave Redis."""
        await close(self.server)
        await self.room.shared.close()


def serve_shared(room_class: type, name: str, url: str, serve: Callable[..., Any], *args: Any, **options: Any) -> Any:
    """Start ``serve(room.handler, *args, **options)`` with a room of ``room_class`` shared through ``url``."""
    logger = options.get("logger") or logging.getLogger(f"ws_course.{name}")
    room = shared(room_class, url, name, logger)
    return SharedRoomServer(room, serve(room.handler, *args, **options))

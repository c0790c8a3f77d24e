"""One chat room across many server processes, through Redis (lessons 09a and 09b).

A chat room in one process keeps its members in a dictionary, and a counter for
nicknames. Run the same server in two processes (two cores, two machines behind
a load balancer) and you get two rooms: a member of one never hears the other.
So whatever the room shares goes through Redis, which every process reaches:

- **Messages**: pub/sub. Each process hands what its room says to its own members
  at once, and publishes it on the channel ``ws-course:ROOM``; every other process
  receives it and hands it to *its* members. Each process publishes over one
  connection, in order, so each sender's messages arrive in the order sent.
- **Nicknames**: one counter, ``INCR ws-course:ROOM:count``, and each nickname
  claimed in ``ws-course:ROOM:nicknames`` by the process that gave it, in the same
  step (a script Redis runs at once): a number whose nickname is taken is skipped, so
  ``user7`` exists once. The step also tells every process the number (a
  ``claim``, below), so each knows the highest number given out.
- **Who is where** (presence): each process keeps the set of its members'
  nicknames (``ws-course:ROOM:members:ID``), lists itself in ``ws-course:ROOM:servers``,
  and renews a key that says it is alive, ``ws-course:ROOM:alive:ID``, every
  :data:`HEARTBEAT` seconds, with a time to live of :data:`ALIVE_FOR` seconds.

Why a key with a time to live? A process that is killed, frozen, or cut off by the
network says nothing; it just stops renewing its key, and Redis lets the key
expire. Every process checks the others' keys at each heartbeat; the first to see
one missing removes that process from ``servers`` (in a script that checks the key
and removes the process in one step, so only one process does it), says
``userN left`` for each of its members, to the whole room, and then publishes that
process's death notice, ``gone``. A closed TCP connection would tell sooner, but only
when the process dies: a frozen process, or one behind a broken network, keeps
its connections open for minutes.

A process that was only frozen (stopped, swapped out, starved of CPU) wakes up to
find itself taken for gone. It hears its own death notice on the channel, *after*
the ``left`` messages published before it, enters the room again, and says
``userN is back`` for each of its members the room was told had left: everyone
hears ``left``, then ``is back``, in that order. (If it misses the notice, its
heartbeat sees that it is no longer in ``servers``, and it does the same.) From
then on it is in the room as before: when it dies, its members are announced gone.

What pub/sub does not do: keep messages. Redis hands a message to the processes
subscribed at that moment, once, and forgets it (**at most once**). A process that
is reconnecting misses what is published meanwhile, and nothing sends it again.

When Redis goes away, each process goes on serving its own members (they hear
each other, and nobody else), logs once that the room is split, and tries again
every :data:`RETRY` seconds; when Redis is back it joins again, tells Redis who
its members are (claiming their nicknames again) and the highest nickname number it
has seen anywhere in the room (a Redis restarted without its data would otherwise
count from 1 again, and give a frozen process's nicknames to newcomers), and logs that too.
A newcomer while the room is split gets a nickname that cannot clash, ``user-ID-N``:
there is no counter to ask, so its process gives one of its own, ID being the
process's id in Redis (its log's ``as server ID``) and N that process's own count
(``user-8b777260-1``, ``user-8b777260-2``, ...), which no ``userN`` can clash with.
Lesson 09a says so where a page may show one.

The channel is open to whoever can reach Redis, so what arrives on it is checked:
anything that is not a message of the room (bytes that are not UTF-8, text in
another format) is skipped, and the log says so once. And whoever can reach Redis
can also publish a message *in* the room's format, or empty the room: a room's
Redis must be out of its members' reach, behind a password (``redis://:PASSWORD@HOST:PORT/DB``,
or ``redis://USER:PASSWORD@...`` for a Redis user that may only touch ``ws-course:*``).

:class:`SharedRoom` is this Redis side, for any room. :class:`AcrossProcesses`
makes a :class:`~ws_course.chat.ChatRoom` (or a JSON one) use it, and
:func:`serve_shared` runs such a room's server. The Socket.IO chat uses the same
:class:`SharedRoom` with python-socketio's own Redis manager:
:mod:`ws_course.scaleout.redis_socketio`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, RedisError

from ..runtime.processes import password_from_environment
from ..runtime.server import ServerHandle, close
from ..safety.logs import EVERY_TIME

#: Seconds between two "I am alive" of a process.
HEARTBEAT = 1.0

#: Seconds a process's "I am alive" lasts: missing it means the process is gone.
ALIVE_FOR = 3.0

#: Seconds between two attempts to reach Redis while it is away.
RETRY = 0.5

#: Heartbeats in a row that find this process missing from the room before it
#: enters again by itself (it normally hears its death notice first).
MISSING_BEATS = 2

#: Seconds Redis keeps the list of a gone process's members, in case it comes back.
GONE_FOR = 3600

#: What it means to lose Redis: the network, or Redis itself, failed.
LOST = (RedisError, OSError)

#: A process's id: 8 hexadecimal digits (:func:`secrets.token_hex`).
SERVER_ID = re.compile(r"[0-9a-f]{8}")

#: A new nickname: the next number whose ``userN`` nobody holds, claimed, and told to every process.
#: KEYS: count, nicknames. ARGV: this process's id, the channel.
NEW_NICKNAME = """
for attempt = 1, 100 do
  local number = redis.call('INCR', KEYS[1])
  if redis.call('HSETNX', KEYS[2], 'user' .. number, ARGV[1]) == 1 then
    redis.call('PUBLISH', ARGV[2], ARGV[1] .. ':claim ' .. number)
    return number
  end
end
return redis.error_reply('no free nickname in 100 tries')
"""

#: Enter the room: this process, its members (their nicknames claimed again), the counter
#: raised to the highest number it has seen. Returns the counter, the members the room was
#: told had left (if it took this process for gone), and the nicknames another process holds.
#: KEYS: servers, alive, members, count, nicknames, gone. ARGV: id, alive ms, highest, nicknames...
REJOIN = """
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
redis.call('DEL', KEYS[3])
local clashes = {}
for i = 4, #ARGV do
  redis.call('SADD', KEYS[3], ARGV[i])
  local holder = redis.call('HGET', KEYS[5], ARGV[i])
  if holder and holder ~= ARGV[1] then
    table.insert(clashes, ARGV[i])
  else
    redis.call('HSET', KEYS[5], ARGV[i], ARGV[1])
  end
end
local count = tonumber(redis.call('GET', KEYS[4]) or '0')
if count < tonumber(ARGV[3]) then
  count = tonumber(ARGV[3])
  redis.call('SET', KEYS[4], count)
end
local gone = redis.call('SMEMBERS', KEYS[6])
redis.call('DEL', KEYS[6])
return {count, gone, clashes}
"""

#: "I am alive", if this process is still in the room: returns the counter, or -1 if it is not.
#: KEYS: servers, alive, count. ARGV: id, alive ms.
RENEW = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return -1 end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
return tonumber(redis.call('GET', KEYS[3]) or '0')
"""

#: Take a silent process out of the room, if its key expired and nobody did it already:
#: returns its members (kept for GONE_FOR s, in case it comes back), or nil.
#: KEYS: servers, alive, members, gone, nicknames. ARGV: its id, GONE_FOR.
REAP = """
if redis.call('EXISTS', KEYS[2]) == 1 then return false end
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return false end
local members = redis.call('SMEMBERS', KEYS[3])
redis.call('DEL', KEYS[3], KEYS[4])
for _, nickname in ipairs(members) do
  redis.call('SADD', KEYS[4], nickname)
  if redis.call('HGET', KEYS[5], nickname) == ARGV[1] then redis.call('HDEL', KEYS[5], nickname) end
end
redis.call('EXPIRE', KEYS[4], ARGV[2])
return members
"""


class RedisUnreachable(ConnectionError):
    """A shared room's server could not reach Redis when it started."""


class RedisRefused(RedisUnreachable):
    """Redis answered, but refused the password (or the user) in the URL."""


class NotTheRoomsMessage(ValueError):
    """Something on a room's channel that no process of the room published."""


class SharedRoom:
    """What one room keeps in Redis, seen from one process (see the module's documentation).

    Args:
        url: Redis's address, ``redis://HOST:PORT/DB``, with ``:PASSWORD@`` (or
            ``USER:PASSWORD@``) before the host when Redis asks for one.
        room: The room's name; every process with the same Redis and name shares it.
        logger: Where it says that it joined, split, rejoined, or saw a process go.
        on_left: Called with the nickname of each member of a process that is gone
            (a coroutine function, or a plain one).
        on_back: Called with the nickname of each member here that the room was told had
            left, when this process, taken for gone, is back.
        on_message: Called with each message another process published; without
            it, this object does not subscribe (the Socket.IO manager does it, and
            hands it what it hears on this room's channel: :meth:`hear`).

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
        on_back: Callable[[str], Any] = lambda nickname: None,
        on_message: Callable[[str], Any] | None = None,
    ) -> None:
        self.url, self.room, self.logger = url, room, logger
        self.where = redacted(url)  # for the log: never the password
        self.on_left, self.on_back, self.on_message = on_left, on_back, on_message
        self.id = secrets.token_hex(4)
        self.channel = f"ws-course:{room}"
        self.here: set[str] = set()  # the nicknames of this process's members
        self.highest = 0  # the highest nickname number this process has seen in the room
        self.joined = False
        self.joined_at = 0.0
        self.skipped = 0  # messages on the channels that were not the room's
        self._why = ""  # why this process is out of the room: said when it rejoins
        self._taken_for_gone: set[str] | None = None  # set when it hears its own death notice
        self._missing = 0  # heartbeats in a row that found this process missing from the room
        self._split_count = 0  # how many newcomers got a nickname while split
        self._last_error: BaseException | None = None
        self._rejoining = asyncio.Lock()  # the listener and the heartbeat may both find it must
        self._outbox: list[tuple[Any, ...]] = []  # commands to send, in order
        self._wake = asyncio.Event()
        self._closing = False
        self._tasks: list[asyncio.Task] = []  # the writer first
        self.redis = connect(url, name=f"{self.channel}:{self.id}")
        self._claim_script = self.redis.register_script(NEW_NICKNAME)
        self._enter_script = self.redis.register_script(REJOIN)
        self._renew_script = self.redis.register_script(RENEW)
        self._reap_script = self.redis.register_script(REAP)

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
            raise unreachable(self.url, error) from None
        self._tasks += [asyncio.create_task(self._write()), asyncio.create_task(self._heartbeat())]
        if self.on_message is not None:
            self._tasks.append(asyncio.create_task(self._listen()))
            await self.wait_until_joined()  # subscribed: from now on, nothing the others say is missed

    async def wait_until_joined(self, timeout: float = 5) -> None:
        """Wait until this process is in the room (subscribed, and known to Redis)."""
        try:
            async with asyncio.timeout(timeout):
                while not self.joined:
                    await asyncio.sleep(0.01)
        except TimeoutError:
            await self.close()
            error = self._last_error
            last = f" (the last error: {type(error).__name__}: {error})" if error else ""
            raise RedisUnreachable(
                f"could not join the room in Redis at {self.where} within {timeout} s{last}"
            ) from None

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

    def received(self, data: bytes) -> str | None:
        """What another process's room said, from a message on the channel; None for anything else.

        A message is ``ID TEXT``: what the room of process ``ID`` said. This process's
        own come back to it too, and are skipped (its members had them at once). News
        about the room is ``ID:KIND ...`` (see :meth:`news`). Anyone who can reach Redis
        can publish anything on the channel: what is not in this format is skipped,
        and said once in the log (:meth:`skip`).
        """
        try:
            text = data.decode()
        except UnicodeDecodeError:
            return self.skip(self.channel, "not UTF-8", data)
        head, space, body = text.partition(" ")
        sender, _, kind = head.partition(":")
        if not space or not SERVER_ID.fullmatch(sender):
            return self.skip(self.channel, "not from a process of the room", data)
        if kind:
            return self.news(kind, body, data)
        return None if sender == self.id else body

    def news(self, kind: str, body: str, data: bytes) -> None:
        """``claim N``: a process gave ``userN``. ``gone ID NICKNAMES...``: process ID was taken for gone."""
        if kind == "claim" and body.isdigit():
            self.highest = max(self.highest, int(body))
        elif kind == "gone" and body:
            server, *nicknames = body.split(" ")
            if server == self.id:  # this process: it stalled, and the room was told its members left
                self._taken_for_gone = (self._taken_for_gone or set()) | set(nicknames)
        else:
            self.skip(self.channel, "news of no known kind", data)

    async def hear(self, data: bytes) -> None:
        """Act on a message from the room's channel: give it to the members here, or come back to the room."""
        text = self.received(data)
        if text is not None and self.on_message is not None:
            self.on_message(text)
        if self._taken_for_gone is not None and self.joined:
            self._why = "this process had stopped answering, and the room took it for gone"
            await self.rejoin()

    def skip(self, channel: str, reason: str, data: bytes) -> None:
        """Skip a message on ``channel`` that is not the room's: the first is logged, then the 10th, 100th..."""
        self.skipped += 1
        if self.skipped == 1:
            self.logger.warning(
                "skipped a message on %s that is not the room's (%s): %r; more are skipped without a word, "
                "and counted", channel, reason, data[:80],
            )
        elif _is_power_of_ten(self.skipped):
            self.logger.warning("%d messages skipped on the room's channels so far (the last: %s)",
                                self.skipped, reason)

    async def new_nickname(self) -> str:
        """``userN``, N from the counter in Redis, claimed there; while the room is split, ``user-ID-N``."""
        if self.joined:
            try:
                number = int(await self._claim_script(keys=[self.key("count"), self.key("nicknames")],
                                                      args=[self.id, self.channel]))
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
            self._queue("HDEL", self.key("nicknames"), nickname)

    # -- joining, splitting -------------------------------------------------------

    async def rejoin(self) -> None:
        """(Re)enter the room in Redis: this process, its members and their nicknames, the highest number seen.

        If the room had taken this process for gone, its members that the room was
        told had left are announced back (:attr:`on_back`).
        """
        async with self._rejoining:
            await self._enter()

    async def _enter(self) -> None:
        count, gone, clashes = await self._enter_script(
            keys=[self.key("servers"), self.key("alive", self.id), self.key("members", self.id), self.key("count"),
                  self.key("nicknames"), self.key("gone", self.id)],
            args=[self.id, int(ALIVE_FOR * 1000), self.highest, *sorted(self.here, key=_number)],
        )
        self.highest = max(self.highest, int(count))
        first, why = self.joined_at == 0, self._why
        announced = (self._taken_for_gone or set()) | set(gone)
        self.joined, self.joined_at, self._missing = True, time.monotonic(), 0
        self._why, self._taken_for_gone = "", None
        back = sorted(announced & self.here, key=_number)
        if first:
            self.logger.info("joined the room %r in Redis at %s (as server %s)", self.room, self.where, self.id)
        elif why or back:
            said = f"; the room was told that {len(back)} members here had left: they are back" if back else ""
            self.logger.warning("rejoined the room %r: %s%s", self.room, why or "it had lost this process", said,
                                extra=EVERY_TIME)  # each rejoin is news, even in the same words as the last
        for nickname in clashes:
            self.logger.warning("the nickname %s is held by another process too (Redis lost it meanwhile)", nickname)
        for nickname in back:
            await _call(self.on_back, nickname)

    def split(self, error: BaseException) -> None:
        """Redis is away: say so once, and serve this process's members on their own until it is back."""
        self._outbox.clear()  # not sent, and never will be: at most once
        self._last_error = error
        if not self.joined:
            return
        self.joined = False
        self._why = f"Redis at {self.where} is back"
        self.logger.warning(
            "the room %r is split: lost Redis at %s (%s: %s); the %d members here hear only each other "
            "until it is back", self.room, self.where, type(error).__name__, error, len(self.here),
            extra=EVERY_TIME,  # each split is news, even in the same words as the last
        )

    def failed(self, what: str) -> None:
        """A background task failed (a bug, logged with its traceback): out of the room until it starts again."""
        self._outbox.clear()
        self.joined = False
        self._why = f"its {what} started again"

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
                except Exception:
                    self.logger.exception("the room %r: its writer failed; it starts again, and the room with it",
                                          self.room)
                    self.failed("writer")
            if self._closing and not self._outbox:
                return

    async def _listen(self) -> None:
        """Hear the other processes; on losing Redis, split and try again; on another failure, say so, start again."""
        while True:
            listener = connect(self.url, name=f"{self.channel}:{self.id}", text=False)  # bytes: decoded here, with care
            pubsub = listener.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                await self.rejoin()
                while self.joined:  # split() by another task ends this loop within a second
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        await self.hear(message["data"])
            except LOST as error:
                self.split(error)
            except Exception:
                self.logger.exception("the room %r: its listener failed; it starts again, and the room with it",
                                      self.room)
                self.failed("listener")
            finally:
                for client in (pubsub, listener):
                    try:
                        await client.aclose()
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
                await self._beat()
            except LOST as error:
                self.split(error)
            except Exception:
                self.logger.exception("the room %r: a heartbeat failed", self.room)

    async def _beat(self) -> None:
        count = int(await self._renew_script(keys=[self.key("servers"), self.key("alive", self.id), self.key("count")],
                                      args=[self.id, int(ALIVE_FOR * 1000)]))
        if count < 0:  # this process is not in the room: taken for gone (or Redis lost the room)
            self._missing += 1
            if self._missing >= MISSING_BEATS:  # its death notice never came: enter again all the same
                self._why = "this process was missing from the room"
                await self.rejoin()
            return
        self._missing = 0
        self.highest = max(self.highest, count)
        # Only after being in the room for ALIVE_FOR: after Redis comes back, the
        # others need that long to say they are alive again.
        if time.monotonic() - self.joined_at > ALIVE_FOR:
            await self._reap()

    async def _reap(self) -> None:
        """Every process whose "alive" expired has left the room, and so have its members."""
        for server in await self.redis.smembers(self.key("servers")):
            if server == self.id:
                continue
            nicknames = await self._reap_script(
                keys=[self.key("servers"), self.key("alive", server), self.key("members", server),
                      self.key("gone", server), self.key("nicknames")],
                args=[server, GONE_FOR],
            )
            if nicknames is None:
                continue  # alive, or another process got there first: it tells the room
            nicknames = sorted(nicknames, key=_number)
            self.logger.warning("server %s stopped answering: its %d members left the room", server, len(nicknames),
                                extra=EVERY_TIME)  # the same process may stop answering twice
            for nickname in nicknames:
                await _call(self.on_left, nickname)
            # After the "left" messages, on the same connection: if that process is only
            # frozen, it hears this after them, and says its members are back.
            self._queue("PUBLISH", self.channel, " ".join([f"{self.id}:gone", server, *nicknames]))


def connect(url: str, name: str, text: bool = True) -> aioredis.Redis:
    """A Redis client that fails at once when Redis is away (we retry ourselves), with text replies (or bytes).

    Its connections are called ``name`` in Redis (``CLIENT LIST`` shows it): an
    operator can tell which process is which. The password is the URL's or, if
    it has none, ``WS_COURSE_REDIS_PASSWORD``'s (see :func:`~ws_course.runtime.processes.start_process`).
    """
    return aioredis.Redis.from_url(
        url, decode_responses=text, retry=Retry(NoBackoff(), 0), socket_connect_timeout=2, client_name=name,
        **password_from_environment(url),
    )


def redacted(url: str) -> str:
    """``url`` without its password, for a log: ``redis://:***@127.0.0.1:6379/0``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))


def unreachable(url: str, error: BaseException) -> RedisUnreachable:
    """The one-line error that says why Redis at ``url`` could not be used."""
    where = redacted(url)
    if isinstance(error, AuthenticationError):
        if "invalid username-password" in str(error) or "WRONGPASS" in str(error):
            return RedisRefused(f"Redis at {where} refused the password (or user) in the URL: {error}")
        return RedisRefused(
            f"Redis at {where} asks for a password: give it in the URL, redis://:PASSWORD@HOST:PORT/DB "
            f"(or redis://USER:PASSWORD@... for a Redis user)"
        )
    return RedisUnreachable(f"cannot reach Redis at {where}: {str(error).rstrip('.')}. Is it running?")


async def _call(function: Callable[[str], Any], nickname: str) -> None:
    result = function(nickname)
    if inspect.isawaitable(result):
        await result


def _number(nickname: str) -> tuple[int, str]:
    digits = nickname.removeprefix("user")
    return (int(digits), nickname) if digits.isdigit() else (0, nickname)


def _is_power_of_ten(number: int) -> bool:
    while number % 10 == 0 and number > 1:
        number //= 10
    return number == 1


class AcrossProcesses:
    """Mix into a chat room class to share its room with every process on one Redis.

    ``class SharedChatRoom(AcrossProcesses, ChatRoom)``: the room's own code does
    not change; four of its methods now also go through Redis (:class:`SharedRoom`).
    :func:`shared` makes such a class for you.
    """

    def __init__(self, url: str, room: str, logger: logging.Logger, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shared = SharedRoom(
            url, room, logger=logger,
            on_left=lambda nickname: self.tell_everyone(self.left(nickname)),
            on_back=lambda nickname: self.tell_everyone(self.back(nickname)),
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

    def back(self, nickname: str) -> str:
        """What the room says when a member it was told had left is still there: ``user2 is back``.

        Its arrival's message with ``comes in`` changed to ``is back`` (so the JSON
        chat says ``{"type":"enter","data":"user2 is back"}``).
        """
        return self.entered(nickname).replace(f"{nickname} comes in", f"{nickname} is back")


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

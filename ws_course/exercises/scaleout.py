"""Lessons 09a and 09b's checks: one room across processes, through a real Redis of the check's own.

09a: :func:`check_new_nickname` (one counter for every process, with ``INCR``) and
:func:`check_hear` (a subscriber hears what is published after it subscribed, and
nothing before: at most once). 09b: :func:`check_deliveries` (what a room of N costs)
and :func:`check_count_members` (a member count right across processes).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
import re
from collections.abc import Awaitable, Callable
from typing import Any

from ..demos import start
from ..language import _
from .judging import (
    Crashes,
    NotYet,
    Result,
    describe,
    exercise,
    join_room,
    judge,
    receive,
    wait_for_text,
)


@exercise
async def check_count_members(count_members: Callable[..., Awaitable[int]]) -> Result:
    """Lesson 09b: ``await count_members(redis, room)`` counts the members of a room shared by several processes.

    The check starts a Redis of its own and two chat servers on it, puts three
    members on one and one on the other, and asks your function; then one leaves,
    and it asks again. ``redis`` is a ``redis.asyncio.Redis`` client that answers
    with text (``decode_responses=True``).
    """
    import redis.asyncio as aioredis

    from ..runtime.redis_server import start_redis

    async def ask(client: Any, expected: int, situation: str) -> None:
        try:
            counted = count_members(client, "chat")
        except Exception as error:
            raise NotYet(_("count_members(redis, 'chat') raised {error}").format(error=describe(error))) from None
        if not inspect.isawaitable(counted):
            raise NotYet(_("count_members(...) returned {counted!r} at once: is it an 'async def'?").format(
                counted=counted))
        try:
            counted = await counted
        except Exception as error:
            raise NotYet(_("count_members(redis, 'chat') raised {error}").format(error=describe(error))) from None
        if counted == expected:
            return
        servers = await client.smembers("ws-course:chat:servers")
        each = [await client.scard(f"ws-course:chat:members:{server}") for server in servers]
        hint = ""
        if counted in each:
            hint = _(": are you counting one process's members only? Add up every process's set")
        elif counted == len(servers):
            hint = _(": that is the number of processes (ws-course:chat:servers); count each one's members")
        raise NotYet(_("{situation}, count_members returned {counted!r}; there are {expected} members").format(
            situation=situation, counted=counted, expected=expected) + hint)

    async def conversation(crashes: Crashes) -> str:
        with start_redis(name="check-redis") as redis_server:
            client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
            try:
                with start("chat", name="check-first", redis=redis_server.url) as first, \
                        start("chat", name="check-second", redis=redis_server.url) as second:
                    async with contextlib.AsyncExitStack() as clients:
                        alice, _arrival = await join_room(first.ws_url, clients, crashes)
                        bob, _arrival = await join_room(second.ws_url, clients, crashes)
                        for _newcomer in range(2):
                            await join_room(first.ws_url, clients, crashes)
                        # Heard across processes: so Redis has every arrival (each process writes in order).
                        await wait_for_text(alice, "user2 comes in", crashes)
                        await wait_for_text(bob, "user4 comes in", crashes)
                        await ask(client, 4, _("with 3 members on one process and 1 on the other"))
                        await bob.close()
                        await wait_for_text(alice, "user2 left", crashes)
                        await ask(client, 3, _("after the member of the second process left"))
            finally:
                await client.aclose()
        return _("count_members adds up the members of every process in the room.")

    return await judge(conversation)


async def _call(function: Callable[..., Any], name: str, *args: Any) -> Any:
    """``await function(*args)``; what goes wrong is said as a :class:`NotYet` naming ``name`` and your line."""
    shown = f"{name}({', '.join('redis' if not isinstance(arg, (str, int)) else repr(arg) for arg in args)})"
    try:
        result = function(*args)
    except Exception as error:
        raise NotYet(_("{call} raised {error}").format(call=shown, error=describe(error))) from None
    if not inspect.isawaitable(result):
        raise NotYet(_("{call} returned {result!r} at once: is it an 'async def', and does it await Redis's "
                       "answers?").format(call=shown, result=result))
    try:
        return await result
    except Exception as error:
        raise NotYet(_("{call} raised {error}").format(call=shown, error=describe(error))) from None


#: How many nicknames :func:`check_new_nickname` asks for, from each of its two "processes".
CALLERS = 10


@exercise
async def check_new_nickname(new_nickname: Callable[..., Awaitable[str]]) -> Result:
    """Lesson 09a: ``await new_nickname(redis, room)`` gives ``userN``, N from one counter in Redis.

    The check starts a Redis of its own and plays two server processes, each with
    its own connection to it. Each asks your function for 10 nicknames of the room
    ``"chat"``, all at once, as members arriving together would: the 20 nicknames
    must all differ, and be ``user1`` to ``user20``, counted in ``ws-course:chat:count``.
    Then a real chat server joins the room on the same Redis, and a newcomer on it
    must get ``user21``: one counter for everybody.
    """
    import redis.asyncio as aioredis

    from ..runtime.redis_server import start_redis

    async def conversation(crashes: Crashes) -> str:
        with start_redis(name="check-redis") as redis_server:
            async with aioredis.Redis.from_url(redis_server.url, decode_responses=True) as one, \
                    aioredis.Redis.from_url(redis_server.url, decode_responses=True) as two:
                given = await asyncio.gather(*(_call(new_nickname, "new_nickname", client, "chat")
                                               for _caller in range(CALLERS) for client in (one, two)))
                for nickname in given:
                    if not isinstance(nickname, str) or not re.fullmatch(r"user[1-9][0-9]*", nickname):
                        raise NotYet(_("new_nickname(redis, 'chat') returned {nickname!r}; a nickname is text, "
                                       "'user' and a number, like 'user7' (f'user{{number}}')").format(
                                           nickname=nickname))
                twice = {nickname: times for nickname, times in collections.Counter(given).items() if times > 1}
                if twice:
                    nickname, times = next(iter(twice.items()))
                    raise NotYet(_(
                        "20 members arriving at once got {different} different nicknames: {nickname} was "
                        "given {times} times. Reading the counter and writing it back are two steps, and another "
                        "process can read in between: INCR adds one and answers the new number in one step, in Redis"
                    ).format(different=len(set(given)), nickname=nickname, times=times))
                count = await one.get("ws-course:chat:count")
                if count != str(len(given)):
                    raise NotYet(_("after 20 nicknames, ws-course:chat:count is {count!r} in Redis: the room's "
                                   "servers count there, so count with INCR on that key "
                                   "(f'ws-course:{{room}}:count')").format(count=count))
                with start("chat", name="check-server", redis=redis_server.url) as server:
                    async with contextlib.AsyncExitStack() as clients:
                        _newcomer, arrival = await join_room(server.ws_url, clients, crashes)
                expected = f"user{len(given) + 1} comes in"
                if arrival != expected:
                    raise NotYet(_("a newcomer on a real chat server of the room heard {arrival!r}, not "
                                   "{expected!r}").format(arrival=arrival, expected=expected))
        return _("20 members at once got user1 to user20, and the next one on a real server of the room "
                 "got {nickname}: one counter, in Redis, for every process.").format(nickname=f"user{len(given) + 1}")

    return await judge(conversation)


@exercise
async def check_hear(hear: Callable[..., Awaitable[list[str]]]) -> Result:
    """Lesson 09a: ``await hear(redis, channel, count)`` subscribes and returns the first ``count`` messages' texts.

    The check starts a Redis of its own and publishes ``before`` on the channel
    ``news``, when nobody listens. Then it calls ``hear(redis, "news", 2)``, waits
    until Redis counts a subscriber on ``news``, and publishes ``one`` and ``two``:
    your function must return ``["one", "two"]``. ``before`` is gone for good: pub/sub
    delivers at most once, to whoever subscribed at that moment.
    """
    import redis.asyncio as aioredis

    from ..runtime.redis_server import start_redis

    async def conversation(crashes: Crashes) -> str:
        with start_redis(name="check-redis") as redis_server:
            async with aioredis.Redis.from_url(redis_server.url, decode_responses=True) as client:
                nobody = await client.publish("news", "before")
                listening = asyncio.ensure_future(_call(hear, "hear", client, "news", 2))
                try:
                    while not listening.done() and (await client.pubsub_numsub("news"))[0][1] == 0:
                        await asyncio.sleep(0.02)
                    if listening.done():
                        heard = listening.result()  # raises NotYet if your code raised
                        raise NotYet(_("hear(redis, 'news', 2) returned {heard!r} before anything was published: "
                                       "subscribe, then wait for messages (async for message in "
                                       "pubsub.listen())").format(heard=heard))
                    for text in ("one", "two"):
                        await client.publish("news", text)
                    heard = await listening
                finally:
                    listening.cancel()
        if heard == ["one", "two"]:
            return _("your subscriber heard 'one' and 'two'. 'before' was published when nobody listened "
                     "(PUBLISH answered {nobody}: no subscriber had it), and Redis kept it for nobody: at most "
                     "once.").format(nobody=nobody)
        hint = ""
        if isinstance(heard, list) and any(isinstance(each, dict) for each in heard):
            hint = _(": return each message's text, message['data'], not the whole message")
        elif isinstance(heard, list) and any(isinstance(each, int) for each in heard):
            hint = _(": the first thing a subscription hears is Redis's confirmation, "
                     "{{'type': 'subscribe', ..., 'data': 1}}; keep only messages whose 'type' is 'message'").format()
        elif isinstance(heard, list) and "before" in heard:
            hint = _(": 'before' was published when nobody was subscribed; Redis kept it for nobody")
        returned = _("hear(redis, 'news', 2) returned {heard!r}; the subscriber was sent 'one' and 'two'").format(
            heard=heard)
        raise NotYet(returned + hint)

    return await judge(conversation)


#: The rooms :func:`check_deliveries` fills: (members, messages).
ROOMS = ((3, 2), (1, 1), (5, 0), (6, 4))


@exercise
async def check_deliveries(deliveries: Callable[[int, int], int]) -> Result:
    """Lesson 09b: ``deliveries(members, messages)``: how many messages the members of a chat room receive.

    ``members`` join an empty room one after the other; then one of them says
    ``messages`` things. The check does exactly that on a real chat server, for a
    few rooms, counts every message every member received, and compares with what
    your function says.
    """

    async def fill(members: int, messages: int, crashes: Crashes) -> int:
        """Every message the members of a new room received, counted one by one."""
        with start("chat", name="check-deliveries") as server:
            async with contextlib.AsyncExitStack() as clients:
                room = [(await join_room(server.ws_url, clients, crashes))[0] for _member in range(members)]
                received = members  # each has heard its own arrival (join_room waits for it)
                for said in [*(f"message {number}" for number in range(messages)), "the end"]:
                    await room[0].send(said)
                for member in room:  # what each heard, up to the end ("the end" itself not counted)
                    while await receive(member, crashes) != "the end":
                        received += 1
                return received

    async def conversation(crashes: Crashes) -> str:
        for members, messages in ROOMS:
            try:
                said = deliveries(members, messages)
            except Exception as error:
                raise NotYet(_("deliveries({members}, {messages}) raised {error}").format(
                    members=members, messages=messages, error=describe(error))) from None
            if inspect.isawaitable(said):
                with contextlib.suppress(Exception):
                    await said
                raise NotYet(_("deliveries(...) returned a coroutine: it only computes, so make it a plain 'def'"))
            counted = await fill(members, messages, crashes)
            if said == counted:
                continue
            arrivals = members * (members + 1) // 2
            hint = ""
            if said == members * messages:
                hint = _(": that counts the messages, not the {arrivals} 'comes in' (each newcomer is announced to "
                         "everyone there)").format(arrivals=arrivals)
            elif said == members * (members - 1) // 2 + members * messages:
                hint = _(": a newcomer hears its own 'comes in' too")
            elif said == members * members + members * messages:
                hint = _(": the k-th newcomer is announced to the k members in the room then, not to all of them")
            raise NotYet(_("for {members} members and {messages} messages, deliveries said {said!r}; "
                           "the members received {counted}").format(
                               members=members, messages=messages, said=said, counted=counted) + hint)
        return _("your formula matches every room the check filled: N(N+1)/2 arrivals and N per message. "
                 "A room of 1000 costs half a million messages to fill.")

    return await judge(conversation)

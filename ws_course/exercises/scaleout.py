"""Lesson 09's check: a member count right across processes."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from ..demos import start
from .judging import (
    Crashes,
    NotYet,
    Result,
    describe,
    join_room,
    judge,
    wait_for_text,
)


async def check_count_members(count_members: Callable[..., Awaitable[int]]) -> Result:
    """Lesson 09: ``await count_members(redis, room)`` counts the members of a room shared by several processes.

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
            raise NotYet(f"count_members(redis, 'chat') raised {describe(error)}") from None
        if not inspect.isawaitable(counted):
            raise NotYet(f"count_members(...) returned {counted!r} at once: is it an 'async def'?")
        try:
            counted = await counted
        except Exception as error:
            raise NotYet(f"count_members(redis, 'chat') raised {describe(error)}") from None
        if counted == expected:
            return
        servers = await client.smembers("ws-course:chat:servers")
        each = [await client.scard(f"ws-course:chat:members:{server}") for server in servers]
        hint = ""
        if counted in each:
            hint = ": are you counting one process's members only? Add up every process's set"
        elif counted == len(servers):
            hint = ": that is the number of processes (ws-course:chat:servers); count each one's members"
        raise NotYet(f"{situation}, count_members returned {counted!r}; there are {expected} members{hint}")

    async def conversation(crashes: Crashes) -> str:
        with start_redis(name="check-redis") as redis_server:
            client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
            try:
                with start("chat", name="check-first", redis=redis_server.url) as first, \
                        start("chat", name="check-second", redis=redis_server.url) as second:
                    async with contextlib.AsyncExitStack() as clients:
                        alice, _ = await join_room(first.ws_url, clients, crashes)
                        bob, _ = await join_room(second.ws_url, clients, crashes)
                        for _ in range(2):
                            await join_room(first.ws_url, clients, crashes)
                        # Heard across processes: so Redis has every arrival (each process writes in order).
                        await wait_for_text(alice, "user2 comes in", crashes)
                        await wait_for_text(bob, "user4 comes in", crashes)
                        await ask(client, 4, "with 3 members on one process and 1 on the other")
                        await bob.close()
                        await wait_for_text(alice, "user2 left", crashes)
                        await ask(client, 3, "after the member of the second process left")
            finally:
                await client.aclose()
        return "count_members adds up the members of every process in the room."

    return await judge(conversation)

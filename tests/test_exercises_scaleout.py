"""Lessons 09a and 09b's checks, each against a real Redis and real chat servers: a right answer passes,
each wrong one is told what is wrong."""

from __future__ import annotations

import asyncio
import re

from ws_course.exercises import (
    check_count_members,
    check_deliveries,
    check_hear,
    check_new_nickname,
)


async def test_check_new_nickname_accepts_incr_on_the_rooms_counter():
    async def new_nickname(redis, room):
        return f"user{await redis.incr(f'ws-course:{room}:count')}"

    result = await check_new_nickname(new_nickname)
    assert result, repr(result)
    assert "the next one on a real server of the room got user21" in repr(result)


async def test_check_new_nickname_catches_read_then_write():
    async def read_then_write(redis, room):
        number = int(await redis.get(f"ws-course:{room}:count") or 0) + 1
        await redis.set(f"ws-course:{room}:count", number)
        return f"user{number}"

    result = await check_new_nickname(read_then_write)
    assert not result
    assert "20 members arriving at once got" in repr(result) and "INCR adds one and answers the new number" in repr(result)


async def test_check_new_nickname_names_the_counters_key_the_format_and_a_missing_async():
    async def own_key(redis, room):
        return f"user{await redis.incr('count')}"

    async def a_number(redis, room):
        return await redis.incr(f"ws-course:{room}:count")

    def not_async(redis, room):
        return "user1"

    result = await check_new_nickname(own_key)
    assert "ws-course:chat:count is None in Redis: the room's servers count there" in repr(result), repr(result)
    result = await check_new_nickname(a_number)
    assert re.search(r"returned \d+; a nickname is text, 'user' and a number", repr(result)), repr(result)
    result = await check_new_nickname(not_async)
    assert "returned 'user1' at once: is it an 'async def'" in repr(result), repr(result)


async def right_hear(redis, channel, count):
    heard = []
    async with redis.pubsub() as pubsub:
        await pubsub.subscribe(channel)
        async for message in pubsub.listen():
            if message["type"] == "message":
                heard.append(message["data"])
                if len(heard) == count:
                    return heard


async def test_check_hear_accepts_a_subscriber_and_shows_the_early_message_lost():
    result = await check_hear(right_hear)
    assert result, repr(result)
    assert "PUBLISH answered 0: no subscriber had it" in repr(result)


async def test_check_hear_explains_the_subscribe_confirmation_whole_messages_and_a_missing_subscription():
    async def keeps_the_confirmation(redis, channel, count):
        heard = []
        async with redis.pubsub() as pubsub:
            await pubsub.subscribe(channel)
            async for message in pubsub.listen():
                heard.append(message["data"])
                if len(heard) == count:
                    return heard

    async def whole_messages(redis, channel, count):
        heard = []
        async with redis.pubsub() as pubsub:
            await pubsub.subscribe(channel)
            async for message in pubsub.listen():
                if message["type"] == "message":
                    heard.append(message)
                    if len(heard) == count:
                        return heard

    async def never_subscribes(redis, channel, count):
        return [await redis.get(channel)]

    async def claims_everything(redis, channel, count):
        return ["before", *(await right_hear(redis, channel, count))]

    result = await check_hear(keeps_the_confirmation)
    assert "returned [1, 'one']" in repr(result) and "keep only messages whose 'type' is 'message'" in repr(result)
    result = await check_hear(whole_messages)
    assert "return each message's text, message['data']" in repr(result), repr(result)
    result = await check_hear(never_subscribes)
    assert "returned [None] before anything was published: subscribe, then wait" in repr(result), repr(result)
    result = await check_hear(claims_everything)
    assert "'before' was published when nobody was subscribed" in repr(result), repr(result)


async def test_check_hear_says_where_a_subscriber_crashed():
    async def crashes(redis, channel, count):
        async with redis.pubsub() as pubsub:
            await pubsub.subscribe(channel)
            async for message in pubsub.listen():
                return [message["text"]]  # a message has no "text"

    result = await check_hear(crashes)
    assert "hear(redis, 'news', 2) raised KeyError: 'text'" in repr(result), repr(result)
    assert 'of your code: return [message["text"]]' in repr(result)


async def test_check_deliveries_counts_a_real_room_against_the_formula():
    def right(members, messages):
        return members * (members + 1) // 2 + members * messages

    def messages_only(members, messages):
        return members * messages

    def not_their_own_arrival(members, messages):
        return members * (members - 1) // 2 + members * messages

    def everyone_hears_everyone(members, messages):
        return members * members + members * messages

    async def not_plain(members, messages):
        return right(members, messages)

    result = await check_deliveries(right)
    assert result and "N(N+1)/2 arrivals and N per message" in repr(result), repr(result)
    result = await check_deliveries(messages_only)
    assert "for 3 members and 2 messages, deliveries said 6; the members received 12: that counts the messages, not the 6 'comes in'" in repr(result), repr(result)
    result = await check_deliveries(not_their_own_arrival)
    assert "deliveries said 9; the members received 12: a newcomer hears its own 'comes in' too" in repr(result), repr(result)
    result = await check_deliveries(everyone_hears_everyone)
    assert "for 3 members and 2 messages, deliveries said 15; the members received 12: the k-th newcomer" in repr(result), repr(result)
    result = await check_deliveries(not_plain)
    assert "returned a coroutine: it only computes, so make it a plain 'def'" in repr(result), repr(result)


async def test_check_count_members_counts_every_process_and_explains_a_partial_count():
    async def right(redis, room):
        servers = await redis.smembers(f"ws-course:{room}:servers")
        return sum([await redis.scard(f"ws-course:{room}:members:{server}") for server in servers])

    async def counts_processes(redis, room):
        return len(await redis.smembers(f"ws-course:{room}:servers"))

    async def counts_one_process(redis, room):
        servers = await redis.smembers(f"ws-course:{room}:servers")
        return max([await redis.scard(f"ws-course:{room}:members:{server}") for server in servers])

    def not_async(redis, room):
        return 3

    async def crashes(redis, room):
        return (await redis.smembers(f"ws-course:{room}:servers"))[0]  # a set has no [0]

    result = await check_count_members(right)
    assert result, repr(result)
    result = await check_count_members(counts_processes)
    assert repr(result).endswith("count_members returned 2; there are 4 members: that is the number of processes "
                                 "(ws-course:chat:servers); count each one's members"), repr(result)
    result = await check_count_members(counts_one_process)
    assert "returned 3; there are 4 members: are you counting one process's members only?" in repr(result), repr(result)
    result = await check_count_members(not_async)
    assert "returned 3 at once: is it an 'async def'?" in repr(result), repr(result)
    result = await check_count_members(crashes)
    assert "count_members(redis, 'chat') raised TypeError" in repr(result), repr(result)
    assert "line " in repr(result) and "of your code" in repr(result)


async def test_no_check_leaves_a_task_behind():
    await check_hear(right_hear)
    await asyncio.sleep(0)
    assert {task for task in asyncio.all_tasks() if task is not asyncio.current_task()} == set()

"""The exercise checks accept a right answer and explain what is wrong with a wrong one."""

from __future__ import annotations

import asyncio
import time
from collections import deque

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import broadcast
from websockets.frames import CloseCode
from websockets.protocol import State

from ws_course import exercises
from ws_course.chat import ChatRoom
from ws_course.exercises import (
    check_ask,
    check_headcount,
    check_nick,
    check_rate_limit,
    check_whisper,
    judging,
)
from ws_course.frames import decode_frame
from ws_course.json_chat import JSONChatRoom, to_json


async def right_ask(url, text):
    async with connect(url, proxy=None) as websocket:
        await websocket.send(text)
        return await websocket.recv()


async def test_check_ask_accepts_a_right_answer():
    result = await check_ask(right_ask)
    assert result and repr(result).startswith("[PASS] Well done")


async def test_check_ask_rejects_wrong_answers_with_the_reason(monkeypatch):
    monkeypatch.setattr(judging, "TIMEOUT", 0.5)
    async def returns_nothing(url, text):
        return None

    async def wrong_port(url, text):
        return await right_ask("ws://127.0.0.1:1/", text)

    async def hangs(url, text):
        await asyncio.sleep(3600)

    result = await check_ask(returns_nothing)
    assert not result and repr(result) == "[TRY AGAIN] Not yet: ask(url, 'ping') returned None; the echo server replied 'ping'"
    result = await check_ask(wrong_port)
    assert not result and "raised ConnectionRefusedError" in repr(result)
    result = await check_ask(hangs)
    assert not result and "ask(url, text) did not return within 0.5 s" in repr(result)


async def whisper(websocket):
    async for message in websocket:
        if isinstance(message, bytes):
            await websocket.close(CloseCode.UNSUPPORTED_DATA, "text only")
            break
        await websocket.send(message.lower() + "...")


async def test_check_whisper_accepts_a_right_answer():
    assert await check_whisper(whisper)


async def test_check_whisper_rejects_wrong_answers_with_the_reason(monkeypatch):
    monkeypatch.setattr(judging, "TIMEOUT", 0.5)
    async def shouts(websocket):
        async for message in websocket:
            await websocket.send(message.upper())

    async def accepts_bytes(websocket):
        async for message in websocket:
            await websocket.send(message.lower() + "..." if isinstance(message, str) else message)

    async def silent(websocket):
        async for message in websocket:
            pass

    assert repr(await check_whisper(shouts)) == "[TRY AGAIN] Not yet: 'HI' got the reply 'HI'; expected 'hi...'"
    assert "expected the connection to close with 1003" in repr(await check_whisper(accepts_bytes))
    assert "no answer within" in repr(await check_whisper(silent))


# -- lessons 03 and 04 --------------------------------------------------------------


class CountingRoom(ChatRoom):
    def entered(self, nickname):
        return f"{nickname} comes in ({len(self.members)} in the room)"


class NickRoom(JSONChatRoom):
    def receive(self, websocket, text):
        if text.startswith("/nick "):
            old, new = self.members[websocket], text.removeprefix("/nick ").strip()
            self.members[websocket] = new
            broadcast(self.members, to_json("nick", f"{old} is now {new}"))
        else:
            super().receive(websocket, text)


async def test_check_headcount_accepts_a_right_answer_and_rejects_wrong_ones(monkeypatch):
    monkeypatch.setattr(judging, "TIMEOUT", 1)
    assert await check_headcount(CountingRoom)

    class CountsTheCounter(ChatRoom):  # the nickname counter never goes down: wrong after a departure
        def entered(self, nickname):
            return f"{nickname} comes in ({self.count} in the room)"

    assert repr(await check_headcount(ChatRoom)) == (
        "[TRY AGAIN] Not yet: the first arrival said 'user1 comes in'; expected 'user1 comes in (1 in the room)'"
    )
    assert "after user2 left, user3's arrival said 'user3 comes in (3 in the room)'" in repr(
        await check_headcount(CountsTheCounter)
    )


async def test_check_nick_accepts_a_right_answer_and_rejects_wrong_ones(monkeypatch):
    monkeypatch.setattr(judging, "TIMEOUT", 1)
    assert await check_nick(NickRoom)

    class ForgetsTheLeave(JSONChatRoom):  # renames for messages only, by keeping its own name table
        names = {}

        def receive(self, websocket, text):
            if text.startswith("/nick "):
                old, new = self.members[websocket], text[6:]
                self.names[websocket] = new
                broadcast(self.members, to_json("nick", f"{old} is now {new}"))
            else:
                broadcast(self.members, self.said(self.names.get(websocket, self.members[websocket]), text))

    assert "after '/nick alice' the room said '{\"type\":\"message\"" in repr(await check_nick(JSONChatRoom))
    assert "when alice left the room said '{\"type\":\"leave\",\"data\":\"user1 left\"}'" in repr(
        await check_nick(ForgetsTheLeave)
    )


# -- lesson 05 -------------------------------------------------------------------------


def with_scream(reply):
    """The event chat's server with a 'scream' event acknowledged by ``reply(text)``."""
    from ws_course import event_chat

    def create_server(**options):
        sio = event_chat.create_server(**options)

        @sio.event
        async def scream(sid, text):
            return reply(text)

        return sio

    return create_server


async def test_check_scream_event_accepts_a_right_answer_and_rejects_wrong_ones(monkeypatch):
    from ws_course import event_chat
    from ws_course.exercises import check_scream_event

    monkeypatch.setattr(judging, "TIMEOUT", 1)
    assert await check_scream_event(with_scream(lambda text: text.upper() + "!!!"))
    assert repr(await check_scream_event(with_scream(lambda text: text.upper()))) == (
        "[TRY AGAIN] Not yet: 'scream' with 'hi' was acknowledged with 'HI'; expected 'HI!!!'"
    )
    assert repr(await check_scream_event(event_chat.create_server)) == (
        "[TRY AGAIN] Not yet: your server has no handler for the event 'scream' yet"
    )
    assert "was acknowledged with None" in repr(await check_scream_event(with_scream(lambda text: None)))

    def never_answers(**options):
        sio = event_chat.create_server(**options)

        @sio.event
        async def scream(sid, text):
            await asyncio.sleep(3600)

        return sio

    assert "no acknowledgement within 1 s" in repr(await check_scream_event(never_answers))


# -- lesson 06 -------------------------------------------------------------------------


def rate_limited(limit_of, close, *, drop_after_close=True):
    """A room that closes a member with ``close(websocket)`` past 5 messages in the window ``limit_of(room, websocket)``.

    With ``drop_after_close``, what a member sent before it heard the close goes nowhere.
    """

    class Room(ChatRoom):
        def __init__(self):
            super().__init__()
            self.recent = {}

        async def receive(self, websocket, text):
            if drop_after_close and websocket.state is not State.OPEN:
                return
            times = limit_of(self, websocket)
            now = time.monotonic()
            while times and now - times[0] >= 1:
                times.popleft()
            times.append(now)
            if len(times) > 5:
                await close(websocket)
                return
            super().receive(websocket, text)

    return Room


def per_member(room, websocket):
    return room.recent.setdefault(websocket, deque())


async def too_fast(websocket):
    await websocket.close(CloseCode.POLICY_VIOLATION, "too fast")


async def test_check_rate_limit_accepts_a_per_member_limit_of_5_a_second():
    result = await check_rate_limit(rate_limited(per_member, too_fast))
    assert result and "a flooder was closed with 1008 'too fast' after 5 of its 40 messages" in repr(result)


async def test_check_rate_limit_accepts_a_room_that_closes_without_waiting():
    """Its close is over at once (the server reads on), so the check itself waits out the polite member's second."""
    closing = set()

    async def close_in_a_task(websocket):
        task = asyncio.ensure_future(too_fast(websocket))
        closing.add(task)
        task.add_done_callback(closing.discard)

    assert await check_rate_limit(rate_limited(per_member, close_in_a_task))


@pytest.mark.slow  # about 7 s of rate windows
async def test_check_rate_limit_rejects_wrong_limits_with_the_reason():
    everyone = deque()

    class Forever(ChatRoom):  # counts a member's messages since it came in, not in the last second
        def __init__(self):
            super().__init__()
            self.sent = {}

        async def receive(self, websocket, text):
            if websocket.state is not State.OPEN:
                return
            self.sent[websocket] = self.sent.get(websocket, 0) + 1
            if self.sent[websocket] > 5:
                await too_fast(websocket)
                return
            super().receive(websocket, text)

    class PassesTheSixthOn(ChatRoom):  # closes, but only after passing the message on
        def __init__(self):
            super().__init__()
            self.recent = {}

        async def receive(self, websocket, text):
            times = per_member(self, websocket)
            times.append(time.monotonic())
            super().receive(websocket, text)
            if len([t for t in times if time.monotonic() - t < 1]) > 5:
                await too_fast(websocket)

    async def cut(websocket):
        websocket.transport.abort()

    async def goodbye(websocket):
        await websocket.close()

    assert "a member sent 40 messages at once and is still in the room" in repr(await check_rate_limit(ChatRoom))
    result = await check_rate_limit(rate_limited(lambda room, websocket: everyone, too_fast))
    assert "of the flooder's first 5 messages, the room passed on []" in repr(result)
    assert "is your room counting everyone's messages together" in repr(result)
    assert "waited a second and sent one more: the limit is per second" in repr(await check_rate_limit(Forever))
    assert "of the flooder's 40 messages reached the room; at most 5 should" in repr(
        await check_rate_limit(PassesTheSixthOn)
    )
    assert "cut without a close frame (code 1006)" in repr(await check_rate_limit(rate_limited(per_member, cut)))
    result = await check_rate_limit(rate_limited(per_member, too_fast, drop_after_close=False))
    assert "10 of the flooder's 40 messages reached the room; at most 5 should" in repr(result)
    assert "after close() returns, the handler still hands them to receive()" in repr(result)
    assert "closed with code 1000, reason ''; expected code 1008" in repr(
        await check_rate_limit(rate_limited(per_member, goodbye))
    )


async def test_check_rate_limit_shows_the_rooms_exception_and_line():
    class Crashing(ChatRoom):
        def __init__(self):
            super().__init__()
            self.recent = {}

        async def receive(self, websocket, text):
            self.recent[websocket].append(time.monotonic())  # KeyError: nothing set for a newcomer
            super().receive(websocket, text)

    result = await check_rate_limit(Crashing)
    assert repr(result).startswith("[TRY AGAIN] Not yet: your Crashing raised KeyError")
    assert "of your code: self.recent[websocket].append(time.monotonic())" in repr(result)


# -- a check reports what your code raised, and where ---------------------------------------


async def test_check_ask_shows_the_exception_and_the_learners_line():
    async def crashes(url, text):
        reply = await right_ask(url, text)
        return reply + 1  # TypeError: can only concatenate str (not "int") to str

    result = await check_ask(crashes)
    assert not result
    assert "raised TypeError: can only concatenate str" in repr(result)
    assert "of your code: return reply + 1" in repr(result)


async def test_check_whisper_fails_a_handler_that_closed_with_1003_then_crashed():
    """The case seen: 1003 on bytes, then a TypeError, once got "Well done"."""

    async def closes_then_crashes(websocket):
        async for message in websocket:
            if isinstance(message, bytes):
                await websocket.close(CloseCode.UNSUPPORTED_DATA, "text only")
                len(42)  # crashes after the close: the client saw nothing wrong
            await websocket.send(message.lower() + "...")

    result = await check_whisper(closes_then_crashes)
    assert not result
    assert repr(result).startswith("[TRY AGAIN] Not yet: your closes_then_crashes raised TypeError: object of type 'int' has no len()")
    assert "of your code: len(42)" in repr(result)


async def test_check_whisper_names_the_crash_instead_of_waiting_for_a_reply(monkeypatch):
    monkeypatch.setattr(judging, "TIMEOUT", 3)

    async def typo(websocket):
        async for message in websocket:
            await websocket.send(message.lowercase() + "...")

    started = asyncio.get_running_loop().time()
    result = await check_whisper(typo)
    assert "raised AttributeError: 'str' object has no attribute 'lowercase'" in repr(result)
    assert "of your code: await websocket.send(message.lowercase() + \"...\")" in repr(result)
    assert asyncio.get_running_loop().time() - started < 3  # it did not wait out the timeout


async def test_check_headcount_and_check_nick_show_the_rooms_exception():
    class Crashing(ChatRoom):
        def entered(self, nickname):
            return f"{nickname} comes in ({self.members.size} in the room)"

    result = await check_headcount(Crashing)
    assert "your Crashing raised AttributeError: 'dict' object has no attribute 'size'" in repr(result)
    assert "of your code: return f\"{nickname} comes in ({self.members.size} in the room)\"" in repr(result)

    class CrashingNick(JSONChatRoom):
        def receive(self, websocket, text):
            name = text.split()[1]  # IndexError for "hello"
            self.members[websocket] = name
            broadcast(self.members, to_json("nick", f"user1 is now {name}"))

    result = await check_nick(CrashingNick)
    assert "your CrashingNick raised IndexError: list index out of range" in repr(result)
    assert "of your code: name = text.split()[1]" in repr(result)


async def test_check_scream_event_shows_a_handler_without_sid_at_once(monkeypatch):
    from ws_course import event_chat
    from ws_course.exercises import check_scream_event

    monkeypatch.setattr(judging, "TIMEOUT", 3)

    def forgot_sid(**options):
        sio = event_chat.create_server(**options)

        @sio.event
        async def scream(text):
            return text.upper() + "!!!"

        return sio

    started = asyncio.get_running_loop().time()
    result = await check_scream_event(forgot_sid)
    assert "your handler for 'scream' raised TypeError" in repr(result)
    assert "takes 1 positional argument but 2 were given" in repr(result)
    assert asyncio.get_running_loop().time() - started < 3

    result = await check_scream_event(with_scream(lambda text: text.upper() + 1))
    assert "raised TypeError: can only concatenate str (not \"int\") to str" in repr(result)
    assert "of your code: return reply(text)" in repr(result) or "lambda text: text.upper() + 1" in repr(result)


# -- lessons 07 and 08 ---------------------------------------------------------------------


async def test_check_long_poll_accepts_a_long_polling_client_and_explains_what_is_not():
    import aiohttp

    from ws_course.exercises import check_long_poll
    from ws_course.measure.feed_clients import follow_long_poll, follow_short_poll

    async def short_polls(url, on_item):
        await follow_short_poll(url, on_item, interval=0.1)

    async def forgets_after(url, on_item):
        async with aiohttp.ClientSession() as session:
            while True:
                async with session.get(url + "long-poll") as response:
                    for item in await response.json():
                        on_item(item)

    async def hands_over_text(url, on_item):
        await follow_long_poll(url, lambda item: on_item(str(item)))

    async def stops_after_one(url, on_item):
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "long-poll") as response:
                for item in await response.json():
                    on_item(item)

    async def crashes(url, on_item):
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "long-poll") as response:
                items = await response.json()
                on_item(items["id"])

    def not_async(url, on_item):
        return None

    result = await check_long_poll(follow_long_poll)
    assert result and "by long-polling" in repr(result)
    assert "asked /poll, again and again: that is short polling" in repr(await check_long_poll(short_polls))
    assert "expected each item once, in order (did you send ?after=?)" in repr(await check_long_poll(forgets_after))
    assert "on_item got \"{'id': " in repr(await check_long_poll(hands_over_text))
    assert "returned after 1 items" in repr(await check_long_poll(stops_after_one))
    result = await check_long_poll(crashes)
    assert "follow_long_poll raised TypeError: list indices must be integers" in repr(result)
    assert "of your code: on_item(items[\"id\"])" in repr(result)
    assert "is it an 'async def'?" in repr(await check_long_poll(not_async))


def parse_frame_right(data):
    fin, opcode, payload, _ = decode_frame(data)
    return fin, opcode, payload


async def test_check_parse_frame_accepts_a_parser_and_explains_what_is_wrong():
    from ws_course.exercises import check_parse_frame

    def short_lengths_only(data):
        return bool(data[0] & 0x80), data[0] & 0x0F, data[2 : 2 + (data[1] & 0x7F)]

    def ignores_the_mask(data):
        fin, opcode, payload = parse_frame_right(data)
        if data[1] & 0x80:
            start = len(data) - len(payload)
            return fin, opcode, data[start:]
        return fin, opcode, payload

    def no_64_bit_lengths(data):
        if data[1] & 0x7F == 127:
            raise ValueError("too long for me")
        return parse_frame_right(data)

    def text_not_bytes(data):
        fin, opcode, payload = parse_frame_right(data)
        return fin, opcode, payload.decode(errors="replace")

    def ignores_fin(data):
        _, opcode, payload = parse_frame_right(data)
        return True, opcode, payload

    result = await check_parse_frame(parse_frame_right)
    assert result and "parse_frame reads every field" in repr(result)
    result = await check_parse_frame(short_lengths_only)
    assert "200-byte text) returned the payload" in repr(result)
    assert "126 bytes instead of 200 (a length of 126 or 127 means" in repr(result)
    assert "is it still masked? XOR byte i with mask[i % 4]" in repr(await check_parse_frame(ignores_the_mask))
    result = await check_parse_frame(no_64_bit_lengths)
    assert "70,000-byte text) raised ValueError: too long for me" in repr(result)
    assert 'of your code: raise ValueError("too long for me")' in repr(result)
    assert "a payload of type str; expected bytes" in repr(await check_parse_frame(text_not_bytes))
    result = await check_parse_frame(ignores_fin)
    assert "the first fragment of a message) said fin=True" in repr(result)


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

    result = await exercises.check_count_members(right)
    assert result, repr(result)
    result = await exercises.check_count_members(counts_processes)
    assert repr(result).endswith("count_members returned 2; there are 4 members: that is the number of processes "
                                 "(ws-course:chat:servers); count each one's members"), repr(result)
    result = await exercises.check_count_members(counts_one_process)
    assert "returned 3; there are 4 members: are you counting one process's members only?" in repr(result), repr(result)
    result = await exercises.check_count_members(not_async)
    assert "returned 3 at once: is it an 'async def'?" in repr(result), repr(result)
    result = await exercises.check_count_members(crashes)
    assert "count_members(redis, 'chat') raised TypeError" in repr(result), repr(result)
    assert "line " in repr(result) and "of your code" in repr(result)

"""The exercise checks accept a right answer and explain what is wrong with a wrong one."""

from __future__ import annotations

import asyncio

from websockets.asyncio.client import connect
from websockets.asyncio.server import broadcast
from websockets.frames import CloseCode

from ws_course.chat import ChatRoom
from ws_course.exercises import (
    check_ask,
    check_headcount,
    check_nick,
    check_whisper,
    judging,
)
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

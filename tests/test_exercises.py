"""The exercise checks accept a right answer and explain what is wrong with a wrong one."""

from __future__ import annotations

import asyncio

from websockets.asyncio.client import connect
from websockets.frames import CloseCode

from ws_course import exercises
from ws_course.exercises import check_ask, check_whisper


async def right_ask(url, text):
    async with connect(url, proxy=None) as websocket:
        await websocket.send(text)
        return await websocket.recv()


async def test_check_ask_accepts_a_right_answer():
    result = await check_ask(right_ask)
    assert result and repr(result).startswith("✅ Well done")


async def test_check_ask_rejects_wrong_answers_with_the_reason(monkeypatch):
    monkeypatch.setattr(exercises, "TIMEOUT", 0.5)
    async def returns_nothing(url, text):
        return None

    async def wrong_port(url, text):
        return await right_ask("ws://127.0.0.1:1/", text)

    async def hangs(url, text):
        await asyncio.sleep(3600)

    result = await check_ask(returns_nothing)
    assert not result and repr(result) == "❌ Not yet: ask(url, 'ping') returned None; the echo server replied 'ping'"
    result = await check_ask(wrong_port)
    assert not result and "raised ConnectionRefusedError" in repr(result)
    result = await check_ask(hangs)
    assert not result and "raised TimeoutError" in repr(result)


async def whisper(websocket):
    async for message in websocket:
        if isinstance(message, bytes):
            await websocket.close(CloseCode.UNSUPPORTED_DATA, "text only")
            break
        await websocket.send(message.lower() + "...")


async def test_check_whisper_accepts_a_right_answer():
    assert await check_whisper(whisper)


async def test_check_whisper_rejects_wrong_answers_with_the_reason(monkeypatch):
    monkeypatch.setattr(exercises, "TIMEOUT", 0.5)
    async def shouts(websocket):
        async for message in websocket:
            await websocket.send(message.upper())

    async def accepts_bytes(websocket):
        async for message in websocket:
            await websocket.send(message.lower() + "..." if isinstance(message, str) else message)

    async def silent(websocket):
        async for message in websocket:
            pass

    assert repr(await check_whisper(shouts)) == "❌ Not yet: 'HI' got the reply 'HI'; expected 'hi...'"
    assert "expected the connection to close with 1003" in repr(await check_whisper(accepts_bytes))
    assert "no answer within" in repr(await check_whisper(silent))

"""Demo 1, the echo server, over real sockets."""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError
from websockets.frames import CloseCode

from conftest import drop, say_and_leave, stopped
from ws_course import start
from ws_course.frames import CLOSE, encode_frame


@pytest.fixture
def echo():
    with start("echo") as server:
        yield server


async def test_text_and_bytes_come_back_unchanged(echo):
    async with connect(echo.ws_url, proxy=None) as websocket:
        for message in ["hi", "", "多语言 ✓", b"\x00\x01\xff"]:
            await websocket.send(message)
            assert await websocket.recv() == message


async def test_many_clients_at_once_each_get_their_own_messages_in_order(echo):
    async def client(number: int) -> list[str]:
        async with connect(echo.ws_url, proxy=None) as websocket:
            sent = [f"client {number} message {index}" for index in range(10)]
            for message in sent:
                await websocket.send(message)
            return [await websocket.recv() for _ in sent] == sent

    results = await asyncio.gather(*(client(number) for number in range(100)))
    assert all(results)


async def test_an_oversized_message_closes_that_connection_with_1009_only(echo):
    async with connect(echo.ws_url, proxy=None) as bystander, connect(echo.ws_url, proxy=None) as big:
        await big.send("x" * (2**20 + 1))  # websockets' default limit is 1 MiB
        with pytest.raises(ConnectionClosedError) as closed:
            await big.recv()
        assert closed.value.rcvd.code == CloseCode.MESSAGE_TOO_BIG
        await bystander.send("still served")
        assert await bystander.recv() == "still served"


async def test_a_client_that_vanishes_does_not_harm_the_server(echo):
    async with connect(echo.ws_url, proxy=None) as bystander:
        for _ in range(5):
            vanishing = await connect(echo.ws_url, proxy=None)
            await vanishing.send("bye?")
            drop(vanishing)
        await bystander.send("still served")
        assert await bystander.recv() == "still served"
    await stopped(echo)  # every connection's handler has ended: any failure is in the log by now
    assert not [line for line in echo.log if "failed" in line], echo.log


async def test_a_client_that_leaves_while_it_is_answered_is_no_traceback(echo):
    """Its echo meets a closed connection (ConnectionClosedOK): a teacher's terminal
    shows that the connection closed, not a traceback saying the handler failed."""
    for _ in range(10):
        answer = await say_and_leave(echo.port)
        assert answer.endswith(encode_frame(CLOSE, (1000).to_bytes(2, "big")))  # the server's close frame
    await stopped(echo)  # every connection's handler has ended
    assert sum(line == "connection closed" for line in echo.log) == 10, echo.log
    assert not [line for line in echo.log if "failed" in line or "Traceback" in line], echo.log

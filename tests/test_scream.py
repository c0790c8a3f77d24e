"""Demo 2, the scream server, over real sockets."""

from __future__ import annotations

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError
from websockets.frames import CloseCode

from conftest import drop, say_and_leave, stopped
from ws_course import start


@pytest.fixture
def scream():
    with start("scream") as server:
        yield server


async def test_hi_becomes_HI_bang_bang_bang(scream):
    async with connect(scream.ws_url, proxy=None) as websocket:
        for text, reply in [("hi", "HI!!!"), ("Hello, world", "HELLO, WORLD!!!"), ("straße", "STRASSE!!!"), ("", "!!!")]:
            await websocket.send(text)
            assert await websocket.recv() == reply
    await scream.wait_for_log("received 'straße'")


async def test_it_logs_each_text_and_how_each_connection_ended(scream):
    async with connect(scream.ws_url, proxy=None) as websocket:
        await websocket.send("log me")
        await websocket.recv()
        await websocket.close(4000, "bye")
    assert await scream.wait_for_log("received") == "received 'log me'"
    assert await scream.wait_for_log("closed:") == "closed: code 4000, reason 'bye'"


async def test_bytes_close_the_connection_with_1003_and_a_reason(scream):
    async with connect(scream.ws_url, proxy=None) as bystander, connect(scream.ws_url, proxy=None) as websocket:
        await websocket.send(b"\x01\x02")
        with pytest.raises(ConnectionClosedError) as closed:
            await websocket.recv()
        assert closed.value.rcvd.code == CloseCode.UNSUPPORTED_DATA
        assert closed.value.rcvd.reason == "scream accepts text only"
        await bystander.send("ok")
        assert await bystander.recv() == "OK!!!"


async def test_an_oversized_message_closes_only_that_connection_with_1009(scream):
    async with connect(scream.ws_url, proxy=None) as bystander, connect(scream.ws_url, proxy=None) as big:
        await big.send("a" * (2**20 + 1))
        with pytest.raises(ConnectionClosedError) as closed:
            await big.recv()
        assert closed.value.rcvd.code == CloseCode.MESSAGE_TOO_BIG
        await bystander.send("ok")
        assert await bystander.recv() == "OK!!!"
    assert "error: sent 1009 (message too big)" in (await scream.wait_for_log("error:"))


async def test_a_vanished_client_is_logged_as_an_error_and_others_go_on(scream):
    async with connect(scream.ws_url, proxy=None) as bystander:
        vanishing = await connect(scream.ws_url, proxy=None)
        drop(vanishing)
        assert await scream.wait_for_log("error:") == "error: no close frame received or sent"
        await bystander.send("ok")
        assert await bystander.recv() == "OK!!!"
    await stopped(scream)  # every connection's handler has ended: any failure is in the log by now
    assert not [line for line in scream.log if "handler failed" in line], scream.log


async def test_a_client_that_leaves_while_it_is_answered_is_logged_as_closed_not_a_traceback(scream):
    for _ in range(10):
        await say_and_leave(scream.port, "bye")
    await stopped(scream)  # every connection's handler has ended
    assert scream.log.count("received 'bye'") == 10
    assert scream.log.count("closed: code 1000, reason ''") == 10, scream.log
    assert not [line for line in scream.log if "failed" in line or "Traceback" in line], scream.log

"""ws_course.broadcast: websockets' broadcast(), each frame built once, the same rules."""

from __future__ import annotations

import asyncio

from conftest import drop
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError

import ws_course
from ws_course.broadcast import broadcast


async def test_every_member_gets_the_message_with_or_without_compression_and_a_vanished_one_is_skipped():
    room = set()

    async def handler(websocket):
        room.add(websocket)
        try:
            async for message in websocket:
                broadcast(room, message)
        except ConnectionClosedError:
            pass  # the one that vanished
        finally:
            room.discard(websocket)

    with ws_course.start(handler, name="broadcast") as server:
        compressed = await connect(server.ws_url, proxy=None)  # offers permessage-deflate (websockets' default)
        plain = await connect(server.ws_url, proxy=None, compression=None)
        gone = await connect(server.ws_url, proxy=None, compression=None)
        async with asyncio.timeout(10):  # the server's handlers put all three in the room
            while len(room) < 3:
                await asyncio.sleep(0.01)
        drop(gone)  # vanishes: its connection is no longer open when the next broadcast comes
        text = "broadcast to the room, " * 50
        for number in range(20):
            await plain.send(f"{number} {text}")
        for member in (compressed, plain):
            assert [await member.recv() for _ in range(20)] == [f"{number} {text}" for number in range(20)]
        assert compressed.protocol.extensions and not plain.protocol.extensions
        await compressed.close()
        await plain.close()
    assert not any("skipped broadcast" in line or "Traceback" in line for line in server.log), server.log[:]

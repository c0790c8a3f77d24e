"""Demo 5, Socket.IO news and event chat, over real sockets from Python clients."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
import socketio
from websockets.asyncio.client import connect

from conftest import drop
from ws_course import start
from ws_course.event_chat import MAX_MESSAGE_BYTES

#: Short pings: a client that vanished is noticed in 3 seconds, not 45.
FAST = {"ping_interval": 1, "ping_timeout": 2}


class Member:
    """A python-socketio client that records every event it receives, in order."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(handle_sigint=False, reconnection=False)
        self.events: asyncio.Queue[tuple[str, object]] = asyncio.Queue()
        self.sio.on("connect", lambda: self.events.put_nowait(("connect", None)))

        @self.sio.on("*")
        async def any_event(event, data):
            await self.events.put((event, data))

    async def join(self, url: str, transports: list[str] | None = None) -> Member:
        await self.sio.connect(url, transports=transports or ["websocket"], wait_timeout=5)
        return self

    async def next(self, timeout: float = 5) -> tuple[str, object]:
        return await asyncio.wait_for(self.events.get(), timeout)

    async def leave(self) -> None:
        await self.sio.disconnect()


async def member(url: str, transports: list[str] | None = None) -> Member:
    """A member that has joined the room, its connect and its own arrival read."""
    new = await Member().join(url, transports)
    assert await new.next() == ("connect", None)
    event, data = await new.next()
    assert event == "enter"
    return new


@pytest.fixture
def event_chat():
    with start("event_chat", **FAST) as server:
        yield server


async def test_news_round_trip():
    with start("news") as server:
        client = Member()
        await client.join(server.page_url)
        assert await client.next() == ("connect", None)
        assert await client.next() == ("news", {"hello": "world"})
        await client.sio.emit("my other event", {"my": "data"})
        assert await server.wait_for_log("my other event:") == "my other event: {'my': 'data'}"
        await client.leave()


async def test_enter_comes_after_the_connection_and_to_everyone(event_chat):
    first = Member()
    await first.join(event_chat.page_url)
    # The client's connection is established first, then its own arrival is announced.
    assert [await first.next(), await first.next()] == [("connect", None), ("enter", "user1 comes in")]
    second = await member(event_chat.page_url)
    assert await first.next() == ("enter", "user2 comes in")

    await second.sio.emit("message", "hello, events")
    assert await first.next() == ("mes", "user2 says: hello, events")
    assert await second.next() == ("mes", "user2 says: hello, events")

    await second.leave()
    assert await first.next() == ("leave", "user2 left")
    third = await member(event_chat.page_url)  # nicknames are never reused
    assert await first.next() == ("enter", "user3 comes in")
    await first.leave()
    await third.leave()


async def test_a_vanished_member_leaves_and_the_room_goes_on(event_chat):
    stayer = await member(event_chat.page_url)
    raw = await raw_member(event_chat.ws_url)
    assert await stayer.next() == ("enter", "user2 comes in")
    drop(raw)  # TCP reset, no goodbye at any level
    assert await stayer.next() == ("leave", "user2 left")
    await stayer.sio.emit("message", "still here")
    assert await stayer.next() == ("mes", "user1 says: still here")
    await stayer.leave()


async def raw_member(ws_url: str):
    """A plain WebSocket client speaking Engine.IO and Socket.IO packets by hand."""
    websocket = await connect(ws_url, proxy=None)
    opening = await websocket.recv()
    assert opening.startswith("0{") and json.loads(opening[1:])["sid"]  # Engine.IO open
    await websocket.send("40")  # Socket.IO connect to the "/" namespace
    assert (await websocket.recv()).startswith("40{")
    assert re.fullmatch(r'42\["enter","user\d+ comes in"\]', await websocket.recv())
    return websocket


@pytest.mark.parametrize(
    "garbage",
    [
        '42["message"',  # JSON cut short
        "42{}",  # an event that is not an array
        "4x",  # an unknown Socket.IO packet type
        "9",  # an unknown Engine.IO packet type
        "42[]",  # an event without a name
        b"\x00\x01\x02",  # a binary frame out of nowhere
    ],
)
async def test_a_malformed_packet_does_not_harm_the_others(event_chat, garbage):
    stayer = await member(event_chat.page_url)
    raw = await raw_member(event_chat.ws_url)
    assert await stayer.next() == ("enter", "user2 comes in")
    await raw.send(garbage)
    await stayer.sio.emit("message", "unharmed")
    while (event := await stayer.next()) != ("mes", "user1 says: unharmed"):
        assert event == ("leave", "user2 left")  # the server may drop the sender, nobody else
    newcomer = await member(event_chat.page_url)  # and it still takes new members
    await newcomer.sio.emit("message", "me too")
    while (event := await stayer.next()) != ("mes", "user3 says: me too"):
        assert event in [("leave", "user2 left"), ("enter", "user3 comes in")]
    await raw.close()
    await stayer.leave()
    await newcomer.leave()


async def test_a_message_that_is_not_text_is_refused_to_its_sender_only(event_chat):
    sender = await member(event_chat.page_url)
    other = await member(event_chat.page_url)
    assert await sender.next() == ("enter", "user2 comes in")
    await sender.sio.emit("message", {"not": "text"})
    assert await sender.next() == ("refused", "a message must be text, not dict")
    await other.sio.emit("message", "and now?")
    assert await other.next() == ("mes", "user2 says: and now?")  # other never saw the refusal
    assert await sender.next() == ("mes", "user2 says: and now?")
    await sender.leave()
    await other.leave()


async def test_an_oversized_message_disconnects_only_its_sender(event_chat):
    stayer = await member(event_chat.page_url)
    big = await member(event_chat.page_url)
    assert await stayer.next() == ("enter", "user2 comes in")
    await big.sio.emit("message", "a" * (MAX_MESSAGE_BYTES + 1))
    assert await stayer.next() == ("leave", "user2 left")
    await stayer.sio.emit("message", "fine")
    assert await stayer.next() == ("mes", "user1 says: fine")
    await stayer.leave()


async def test_long_polling_and_websocket_members_chat_together(event_chat):
    polling = await member(event_chat.page_url, transports=["polling"])
    websocket = await member(event_chat.page_url, transports=["websocket"])
    assert polling.sio.transport() == "polling" and websocket.sio.transport() == "websocket"
    assert await polling.next() == ("enter", "user2 comes in")
    await polling.sio.emit("message", "over HTTP requests")
    await websocket.sio.emit("message", "over a WebSocket")
    for client in (polling, websocket):  # both hear both (in whichever order they reached the server)
        assert sorted([await client.next(), await client.next()]) == [
            ("mes", "user1 says: over HTTP requests"),
            ("mes", "user2 says: over a WebSocket"),
        ]
    await websocket.leave()
    assert await polling.next() == ("leave", "user2 left")
    await polling.leave()


async def test_stopping_the_server_disconnects_everyone_cleanly():
    server = start("event_chat", **FAST)
    client = await member(server.page_url)
    disconnected = asyncio.Event()
    client.sio.on("disconnect", lambda reason: disconnected.set())
    server.stop()
    await asyncio.wait_for(disconnected.wait(), 5)
    assert "user1 left (server disconnect)" in server.log


async def test_the_log_does_not_print(capfd, event_chat):
    client = await member(event_chat.page_url)
    await client.sio.emit("message", "quiet")
    await client.next()
    await client.leave()
    await event_chat.wait_for_log("user1 left")
    assert capfd.readouterr() == ("", "")


async def test_the_event_chat_widget_leaves_the_kernels_ctrl_c_alone(event_chat):
    import signal

    from ws_course.widgets import EventChatClient

    before = signal.getsignal(signal.SIGINT)
    widget = EventChatClient(event_chat.page_url)
    await widget.opened()
    assert signal.getsignal(signal.SIGINT) is before  # handle_sigint=False: no handler of its own
    widget.close()
    await widget.closed()


async def test_a_malformed_http_request_is_logged_not_printed(capfd, event_chat):
    reader, writer = await asyncio.open_connection("127.0.0.1", event_chat.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
    assert (await reader.read(100)).startswith(b"HTTP/1.0 400 Bad Request")
    writer.close()
    await event_chat.wait_for_log("aiohttp.server: Error handling request")
    assert capfd.readouterr() == ("", "")
    stayer = await member(event_chat.page_url)  # and the server goes on
    await stayer.leave()

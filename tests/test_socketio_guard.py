"""Socket.IO edge cases (issue 8, point 7) and the caps of points 1 and 3 on the Socket.IO demos.

A hostile member speaks raw Engine.IO and Socket.IO packets, over a WebSocket or
long-polling HTTP requests; a well-behaved member (the official Python client)
must keep chatting, and the server's log must hold one line per offence and no
traceback.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket

import pytest
import socketio
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from test_socketio import FAST, Member, member, raw_member
from ws_course import start
from ws_course.event_chat import MAX_MESSAGE_BYTES
from ws_course.safety.socketio_packets import MAX_ATTACHMENTS


@pytest.fixture
def event_chat():
    with start("event_chat", **FAST) as server:
        yield server
    no_traceback(server)  # stopped: whatever its connections had to log is in the log


def no_traceback(server) -> None:
    text = "\n".join(server.log)
    assert "Traceback" not in text and "RecursionError" not in text, text[-3000:]


async def offender_is_dropped_and_the_room_goes_on(server, stayer: Member, offender, packet, why: str) -> None:
    """``offender`` (raw, user2) sends ``packet``: it is disconnected with one log line, the stayer chats on."""
    await offender.send(packet)
    assert await stayer.next() == ("leave", "user2 left")
    await server.wait_for_log(why)
    await stayer.sio.emit("message", "still here")
    assert await stayer.next() == ("mes", "user1 says: still here")  # nothing else came in between
    await closed(offender)
    no_traceback(server)


async def closed(websocket, timeout: float = 10) -> None:
    """Wait until the server has closed ``websocket`` (reading whatever comes before)."""
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(timeout):
            while True:
                await websocket.recv()


# -- reserved event names -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["connect", "disconnect", "connect_error", "disconnecting"])
async def test_a_reserved_event_name_is_refused_and_its_sender_dropped(event_chat, name):
    """Before: ``connect`` re-ran the connect handler (the room heard "user3 comes in"), and
    ``disconnect`` made the room hear "user2 left" while user2 was still there."""
    stayer = await member(event_chat.page_url)
    offender = await raw_member(event_chat.ws_url)
    assert await stayer.next() == ("enter", "user2 comes in")
    await offender_is_dropped_and_the_room_goes_on(
        event_chat, stayer, offender, json.dumps([name]).join(["42", ""]), f"the event name {name!r} is reserved"
    )
    assert not [line for line in event_chat.log if "user3" in line]  # no second arrival
    await stayer.leave()


@pytest.mark.parametrize(
    "packet, why",
    [
        ('42["message"', "cannot decode"),  # JSON cut short
        ("42{}", "an event must be a list"),
        ("42[]", "an event must be a list that starts with its name"),
        ("42[null]", "an event name must be a string"),
        ("41{}", "a disconnect packet carries no data"),
        ("4x", "cannot decode"),  # an unknown Socket.IO packet type
        (b"\x00\x01\x02", "a binary frame that is no event's attachment"),
    ],
)
async def test_a_malformed_packet_is_one_log_line_and_its_sender_is_dropped(event_chat, packet, why):
    stayer = await member(event_chat.page_url)
    offender = await raw_member(event_chat.ws_url)
    assert await stayer.next() == ("enter", "user2 comes in")
    await offender_is_dropped_and_the_room_goes_on(event_chat, stayer, offender, packet, why)
    await stayer.leave()


# -- the number of arguments (hardening, point 5) ------------------------------------------------------


@pytest.mark.parametrize("packet, given", [('42["message"]', 0), ('42["message","a","b"]', 2)])
async def test_an_event_with_more_or_fewer_arguments_than_its_handler_takes_is_refused(event_chat, packet, given):
    """Before: ``message(sid, text)`` raised TypeError in a task, a 13-line traceback per packet
    ("Task exception was never retrieved"), and the sender stayed in the room."""
    stayer = await member(event_chat.page_url)
    offender = await raw_member(event_chat.ws_url)
    assert await stayer.next() == ("enter", "user2 comes in")
    await offender_is_dropped_and_the_room_goes_on(
        event_chat, stayer, offender, packet, f"the event 'message' takes 1 argument, not {given}"
    )
    await stayer.leave()


@pytest.mark.parametrize("packet", ['42["my other event"]', '42["my other event",{"my":"data"},2]'])
async def test_the_news_server_refuses_a_wrong_number_of_arguments_too(packet):
    with start("news") as server:
        offender = await raw_member_news(server.ws_url)
        await offender.send(packet)
        assert await server.wait_for_log("the event 'my other event' takes 1 argument, not ")
        await closed(offender)
        no_traceback(server)
        assert "Task exception" not in "\n".join(server.log)


async def test_many_such_events_in_one_long_polling_post_are_one_line():
    """Before: 15 events without an argument in one POST (Engine.IO takes at most 16), 15 tracebacks."""
    with start("event_chat", **FAST) as server:
        stayer = await member(server.page_url)
        sid, reader, writer = await polling_session(server.port)
        assert await stayer.next() == ("enter", "user2 comes in")
        writer.write(post(server.port, sid, "\x1e".join(['42["message"]'] * 15).encode()))
        assert (await http_response(reader))[0] == 200
        assert await stayer.next() == ("leave", "user2 left")
        await stayer.sio.emit("message", "still here")
        assert await stayer.next() == ("mes", "user1 says: still here")
        writer.close()
        await stayer.leave()
    assert len([line for line in server.log if "takes 1 argument, not 0" in line]) == 1, server.log[-10:]
    no_traceback(server)


async def test_one_offence_from_many_sessions_collapses_in_the_log(event_chat):
    """The same malformed event from 25 sessions: 3 lines (the 1st, the 10th, the count when the server stops)."""
    stayer = await member(event_chat.page_url)
    for number in range(25):
        offender = await raw_member(event_chat.ws_url)
        assert (await stayer.next())[0] == "enter"
        await offender.send('42["message","a","b"]')
        assert (await stayer.next())[0] == "leave"
        await closed(offender)
    await stayer.leave()
    event_chat.stop()
    lines = [line for line in event_chat.log if "takes 1 argument, not 2" in line]
    assert len(lines) == 3, lines
    assert "(10 times in " in lines[1] and "(25 times in " in lines[2]


# -- deep JSON --------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["socket.io", "engine.io"])
async def test_json_nested_too_deep_is_refused_without_a_traceback(event_chat, where):
    deep = "[" * 30_000 + "]" * 30_000  # 60 KB: within the room's message size, far over Python's recursion limit
    packet = f'42["message",{deep}]' if where == "socket.io" else f"4{deep}"
    stayer = await member(event_chat.page_url)
    offender = await raw_member(event_chat.ws_url)
    assert await stayer.next() == ("enter", "user2 comes in")
    await offender_is_dropped_and_the_room_goes_on(event_chat, stayer, offender, packet, "a malformed packet")
    await stayer.leave()


async def test_json_nested_100000_deep_on_the_news_server():
    """The news server takes messages up to 1 MB (Engine.IO's default): room enough for 100 000 levels."""
    with start("news") as server:
        offender = await raw_member_news(server.ws_url)
        await offender.send('42["my other event",' + "[" * 100_000 + "]" * 100_000 + "]")
        await server.wait_for_log("a malformed packet")
        await closed(offender)
        client = Member()
        await client.join(server.page_url)
        assert await client.next() == ("connect", None)
        assert await client.next() == ("news", {"hello": "world"})
        await client.leave()
        no_traceback(server)


async def raw_member_news(ws_url: str):
    websocket = await connect(ws_url, proxy=None, max_size=None)
    assert (await websocket.recv()).startswith("0{")
    await websocket.send("40")
    assert (await websocket.recv()).startswith("40{")
    assert await websocket.recv() == '42["news",{"hello":"world"}]'
    return websocket


# -- binary attachments ------------------------------------------------------------------------------


@pytest.mark.parametrize("announced", [10**9, MAX_ATTACHMENTS + 1])
async def test_an_event_announcing_too_many_attachments_is_refused(event_chat, announced):
    """Before: 10^9 announced attachments, then 60 KB frames: the server kept them all (230 MB)."""
    stayer = await member(event_chat.page_url)
    offender = await raw_member(event_chat.ws_url)
    assert await stayer.next() == ("enter", "user2 comes in")
    await offender_is_dropped_and_the_room_goes_on(
        event_chat, stayer, offender, f'45{announced}-["message",{{"_placeholder":true,"num":0}}]',
        f"{announced} binary attachments announced; at most {MAX_ATTACHMENTS}",
    )
    await stayer.leave()


async def test_attachments_larger_than_a_message_in_all_are_refused(event_chat):
    stayer = await member(event_chat.page_url)
    offender = await raw_member(event_chat.ws_url)
    assert await stayer.next() == ("enter", "user2 comes in")
    placeholders = ",".join(f'{{"_placeholder":true,"num":{n}}}' for n in range(MAX_ATTACHMENTS))
    await offender.send(f'45{MAX_ATTACHMENTS}-["message",[{placeholders}]]')
    for _ in range(2):  # each within the size limit, both together over it
        await offender.send(b"\x00" * (MAX_MESSAGE_BYTES // 2 + 1))
    assert await stayer.next() == ("leave", "user2 left")
    await event_chat.wait_for_log(f"attachments over {MAX_MESSAGE_BYTES} bytes in all")
    no_traceback(event_chat)
    await stayer.leave()


async def test_a_binary_event_within_the_limits_still_arrives(event_chat):
    sender = await member(event_chat.page_url)
    await sender.sio.emit("message", b"\x00\x01" * 100)  # one attachment: the room's messages are text...
    assert await sender.next() == ("refused", "a message must be text, not bytes")  # ...so the demo says so
    await sender.leave()


# -- long-polling POSTs -------------------------------------------------------------------------------


async def polling_session(port: int):
    """Open a long-polling session by hand and join the room; return (sid, reader, writer)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    status, body = await http_response(reader)
    sid = json.loads(body[1:])["sid"]
    writer.write(post(port, sid, b"40"))
    assert (await http_response(reader))[0] == 200
    return sid, reader, writer


def post(port: int, sid: str, body: bytes, length: int | None = None) -> bytes:
    length = len(body) if length is None else length
    return (
        f"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {length}\r\n\r\n"
    ).encode() + body


async def http_response(reader, timeout: float = 5) -> tuple[int, bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    length = int(re.search(rb"Content-Length: (\d+)", head, re.I)[1])
    return int(head.split()[1]), await asyncio.wait_for(reader.readexactly(length), timeout)


async def test_an_oversized_long_polling_post_gets_413_at_once_and_the_room_goes_on(event_chat):
    """Before: the session was dropped and the request never answered (200 of them: +59 MB)."""
    stayer = await member(event_chat.page_url)
    sid, reader, writer = await polling_session(event_chat.port)
    assert await stayer.next() == ("enter", "user2 comes in")
    body = b"4" + b"x" * MAX_MESSAGE_BYTES  # one byte over
    writer.write(post(event_chat.port, sid, body))
    status, text = await http_response(reader)
    assert status == 413 and b"over 65536" in text
    assert await stayer.next() == ("leave", "user2 left")  # as over a WebSocket: too big ends the session
    await event_chat.wait_for_log("(413 Request Entity Too Large)")
    await stayer.sio.emit("message", "still here")
    assert await stayer.next() == ("mes", "user1 says: still here")
    writer.close()
    no_traceback(event_chat)
    await stayer.leave()


async def test_a_long_polling_post_must_say_its_length(event_chat):
    sid, reader, writer = await polling_session(event_chat.port)
    writer.write(
        f"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Transfer-Encoding: chunked\r\n\r\n3\r\n40x\r\n0\r\n\r\n".encode()
    )
    assert (await http_response(reader))[0] == 411
    writer.close()


async def test_deep_json_over_long_polling_is_refused_too(event_chat):
    stayer = await member(event_chat.page_url)
    sid, reader, writer = await polling_session(event_chat.port)
    assert await stayer.next() == ("enter", "user2 comes in")
    body = b'42["message",' + b"[" * 30_000 + b"]" * 30_000 + b"]"
    writer.write(post(event_chat.port, sid, body))
    assert await stayer.next() == ("leave", "user2 left")
    await stayer.sio.emit("message", "fine")
    assert await stayer.next() == ("mes", "user1 says: fine")
    writer.close()
    no_traceback(event_chat)
    await stayer.leave()


# -- the caps: unsent data, members -------------------------------------------------------------------


async def test_a_websocket_member_that_does_not_read_is_cut_and_the_room_goes_on():
    """Point 1 on Socket.IO: what Engine.IO queues for a member that does not read is capped."""
    with start("event_chat", max_buffer=200_000, **FAST) as server:
        stayer = await member(server.page_url)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024)
        sock.connect(("127.0.0.1", server.port))
        # compression=None: a run of "x" would otherwise shrink to nothing on the wire.
        frozen = await connect(server.ws_url, proxy=None, sock=sock, ping_interval=None, compression=None)
        await frozen.recv()  # Engine.IO open
        await frozen.send("40")
        frozen.transport.pause_reading()  # from now on it reads nothing
        assert await stayer.next() == ("enter", "user2 comes in")
        for number in range(200):  # at most 12 MB; the cap comes far sooner
            await stayer.sio.emit("message", f"{number} " + "x" * 60_000)
            event, data = await stayer.next()
            if (event, data) == ("leave", "user2 left"):
                break
            assert data.startswith(f"user1 says: {number} ")
        else:
            pytest.fail("the frozen member was never disconnected")
        await server.wait_for_log("which does not read")
        await stayer.sio.emit("message", "still here")
        while (await stayer.next()) != ("mes", "user1 says: still here"):
            pass
        frozen.transport.abort()
        no_traceback(server)
        await stayer.leave()


async def test_a_long_polling_member_that_never_polls_is_cut():
    with start("event_chat", max_buffer=200_000, **FAST) as server:
        stayer = await member(server.page_url)
        sid, reader, writer = await polling_session(server.port)  # ...and then it never polls again
        assert await stayer.next() == ("enter", "user2 comes in")
        for number in range(100):
            await stayer.sio.emit("message", f"{number} " + "x" * 60_000)
            if (await stayer.next()) == ("leave", "user2 left"):
                break
        else:
            pytest.fail("the member that never polls was never disconnected")
        await server.wait_for_log(f"cut session {sid}, which does not read")
        writer.close()
        no_traceback(server)
        await stayer.leave()


async def test_the_socketio_room_takes_max_clients_members_and_refuses_the_next_with_503():
    with start("event_chat", max_clients=2, **FAST) as server:
        members = [await member(server.page_url) for _ in range(2)]
        extra = socketio.AsyncClient(handle_sigint=False, reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await extra.connect(server.page_url, transports=["websocket"], wait_timeout=5)
        await extra.eio.disconnect()  # closes the HTTP session its failed attempt opened
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(f"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode())
        status, body = await http_response(reader)
        assert status == 503 and b"the room is full (2 members)" in body
        writer.close()
        await members[0].leave()
        assert await members[1].next() == ("leave", "user1 left")  # the server has seen it go
        newcomer = await member(server.page_url)  # one left: one may come in
        for client in (members[1], newcomer):
            await client.leave()

"""ws_course.web.socketio_manager: a room's message goes to each member in turn, over real sockets."""

from __future__ import annotations

import logging

import pytest
from test_socketio import member

from ws_course.demos import find
from ws_course.runtime.server import listen
from ws_course.web.socketio_manager import EmitInTurn

MEMBERS = 12


@pytest.fixture
async def room():
    """An event chat server on this test's loop (its ``sio`` at hand), and a room of members."""
    server = await listen(find("event_chat"), "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.port}/"
    members = [await member(url) for _ in range(MEMBERS)]
    for earlier in members[:-1]:  # each has heard everyone who came after it
        while await earlier.next() != ("enter", f"user{MEMBERS} comes in"):
            pass
    yield server, members
    for each in members:
        await each.leave()
    await server.aclose()


async def test_every_member_hears_each_message_in_order(room):
    server, members = room
    assert isinstance(server.sio.manager, EmitInTurn)
    for number in range(3):
        await members[0].sio.emit("message", f"number {number}")
    for each in members:
        assert [await each.next() for _ in range(3)] == [("mes", f"user1 says: number {n}") for n in range(3)]


async def test_a_member_that_cannot_take_a_message_does_not_stop_the_others(room, monkeypatch, caplog):
    server, members = room
    broken = members[3].sio.eio.sid  # its Engine.IO session: as if it vanished mid-broadcast
    send = server.sio.eio.send_packet

    async def send_or_fail(eio_sid, packet):
        if eio_sid == broken:
            raise ConnectionResetError("gone mid-broadcast")
        await send(eio_sid, packet)

    monkeypatch.setattr(server.sio.eio, "send_packet", send_or_fail)
    with caplog.at_level(logging.WARNING):
        await members[0].sio.emit("message", "still here?")
        for index, each in enumerate(members):
            if index != 3:
                assert await each.next() == ("mes", "user1 says: still here?")
    assert "could not send to" in caplog.text and "gone mid-broadcast" in caplog.text

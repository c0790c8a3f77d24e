"""Slow and half-open clients of the aiohttp servers (hardening, points 4 and 9), over real sockets.

- A connection that never finishes its request head is closed after ``head_timeout``
  (aiohttp's default kept it an hour), and only ``max_waiting`` may wait at once.
- A half-open Engine.IO session (``GET /socket.io/?EIO=4&transport=polling``, then
  nothing) is no member: it cannot fill the room, and it is dropped after
  ``handshake_timeout``.
- A member's socket has a bounded kernel send buffer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import shutil
import subprocess
import time

import pytest
import socketio
from websockets.asyncio.client import connect

from test_socketio import FAST, member
from test_socketio_guard import http_response, polling_session
from ws_course import start
from ws_course.news_feed import Feed, make_app
from ws_course.safety.limits import SEND_BUFFER
from ws_course.safety.logs import QuietRepeats
from ws_course.web.aiohttp_app import AppServer

HALF_A_HEAD = b"GET /poll HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


async def closed_after(reader: asyncio.StreamReader, timeout: float, since: float | None = None) -> float:
    """Read until the server closes the connection; return how long after ``since`` (now by default) that was.

    Fails if it is still open after ``timeout`` s.
    """
    start_time = time.monotonic() if since is None else since
    try:
        async with asyncio.timeout(timeout):
            while await reader.read(65536):
                pass
    except ConnectionResetError:
        pass
    except TimeoutError:
        pytest.fail(f"the connection was still open after {timeout} s")
    return time.monotonic() - start_time


async def half_a_head(port: int):
    """A connection that sends half a request head, and nothing more; return (reader, writer, when it opened)."""
    opened = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(HALF_A_HEAD)
    await writer.drain()
    return reader, writer, opened


def get_request(path: str, keep_alive: bool = True) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{'' if keep_alive else 'Connection: close'}\r\n\r\n".encode()


class FeedServer:
    """Lesson 07's feed, served on the test's own loop by an :class:`AppServer` with ``options``; its log a list."""

    def __init__(self, server: AppServer, log: list[str]) -> None:
        self.server, self.log = server, log
        self.port = server.port

    async def wait_for_log(self, text: str, timeout: float = 10) -> str:
        async with asyncio.timeout(timeout):
            while not (found := [line for line in self.log if text in line]):
                await asyncio.sleep(0.02)
        return found[0]


@contextlib.asynccontextmanager
async def served(demo: str, **options):
    """The news feed (on this loop: its ``serve()`` takes no timeouts) or a demo started in the background."""
    if demo != "news_feed":
        with start(demo, **options) as server:
            yield server
        return
    lines: list[str] = []
    logger = logging.getLogger(f"test.feed.{id(lines)}")
    logger.propagate = False
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    handler.addFilter(QuietRepeats())  # as in every course server's log
    logger.addHandler(handler)
    server = await AppServer(make_app(Feed(period=0.05)), "127.0.0.1", 0, logger=logger, **options)
    try:
        yield FeedServer(server, lines)
    finally:
        await server.aclose()


# -- a request head must come in time ---------------------------------------------------------------


@pytest.mark.slow  # waits the default ten seconds
async def test_by_default_half_a_request_head_is_dropped_within_ten_seconds():
    """Before: the event chat kept such a connection for aiohttp's 3630 s (measured over 200 s)."""
    with start("event_chat") as server:
        reader, writer, opened = await half_a_head(server.port)
        took = await closed_after(reader, 13, since=opened)
        assert 9 <= took < 13, took
        assert await server.wait_for_log("its request head did not come within 10 s")
        writer.close()


@pytest.mark.parametrize("demo", ["news_feed", "event_chat"])
async def test_half_a_request_head_is_closed_after_head_timeout_and_others_are_served(demo):
    async with served(demo, head_timeout=1) as server:
        slow = [await half_a_head(server.port) for _ in range(3)]
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(get_request("/course.js", keep_alive=False))
        assert (await http_response(reader))[0] == 200  # a whole request in time: served
        writer.close()
        for slow_reader, _, opened in slow:
            assert 0.8 <= await closed_after(slow_reader, 4, since=opened) < 4
        line = await server.wait_for_log("its request head did not come within 1 s")
        assert line == "closed a connection from 127.0.0.1: its request head did not come within 1 s"
        assert len([line for line in server.log if "request head did not come" in line]) == 1  # collapsed
        for _, slow_writer, _ in slow:
            slow_writer.close()


async def test_a_trickled_head_is_no_better():
    """Slowloris proper: a header line every 0.3 s keeps nothing open past head_timeout."""
    async with served("news_feed", head_timeout=1) as server:
        reader, writer, started = await half_a_head(server.port)
        with pytest.raises((ConnectionError, OSError)):
            for number in range(20):
                await asyncio.sleep(0.3)
                writer.write(f"x\r\nX-More-{number}: ".encode())
                await writer.drain()
                if reader.at_eof() or await _eof_soon(reader):
                    raise ConnectionResetError("closed by the server")
        assert time.monotonic() - started < 3
        writer.close()


async def _eof_soon(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1), 0.01) == b""
    except TimeoutError:
        return False


async def test_an_idle_kept_alive_connection_is_closed_quietly_and_a_busy_one_is_not():
    async with served("news_feed", head_timeout=1) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(get_request("/course.js"))
        assert (await http_response(reader))[0] == 200
        assert 0.8 <= await closed_after(reader, 4) < 4  # idle after its response
        writer.close()
        # A request that takes longer than head_timeout (a long-poll held for news) is not cut.
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(get_request("/long-poll?after=1000000", keep_alive=False))  # held: no such item soon
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.read(1), 2.5)
        writer.close()
    assert not [line for line in server.log if "closed a connection" in line]  # idle is no offence


async def test_only_max_waiting_connections_wait_for_a_head_at_once():
    """The longest waiting (for at least a second) make room; a newcomer is served."""
    async with served("news_feed", head_timeout=30, max_waiting=3) as server:
        slow = []
        for _ in range(6):
            slow.append(await half_a_head(server.port))
            await asyncio.sleep(0.05)
        for slow_reader, _, _ in slow[:3]:
            assert await closed_after(slow_reader, 4) < 4  # the three that waited longest
        for slow_reader, _, _ in slow[3:]:
            assert not await _eof_soon(slow_reader)  # the newer ones wait on
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(get_request("/course.js", keep_alive=False))
        assert (await http_response(reader))[0] == 200
        assert await server.wait_for_log("more than 3 connections were waiting for a request head")
        for _, slow_writer, _ in slow:
            slow_writer.close()
        writer.close()


# -- half-open Engine.IO sessions ------------------------------------------------------------------


async def half_open_session(port: int) -> tuple[str, asyncio.StreamReader, asyncio.StreamWriter]:
    """``GET /socket.io/?EIO=4&transport=polling``, and nothing more: an Engine.IO session, no Socket.IO member."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(get_request("/socket.io/?EIO=4&transport=polling", keep_alive=False))
    status, body = await http_response(reader)
    assert status == 200, body
    writer.close()
    return json.loads(body[1:])["sid"]


async def test_half_open_sessions_do_not_lock_real_members_out():
    """Before: 3 half-open sessions filled a room of 3; the real member got 503 (for 47 s)."""
    with start("event_chat", max_clients=3, **FAST) as server:
        for _ in range(5):
            await half_open_session(server.port)
        first = await member(server.page_url)
        second = await member(server.page_url)
        await second.sio.emit("message", "we are in")
        assert await first.next() == ("enter", "user2 comes in")
        assert await first.next() == ("mes", "user2 says: we are in")
        for client in (first, second):
            await client.leave()


async def test_a_half_open_session_is_dropped_after_handshake_timeout():
    with start("event_chat", handshake_timeout=1, **FAST) as server:
        sid = await half_open_session(server.port)
        line = await server.wait_for_log("no Socket.IO connect within 1 s", timeout=5)
        assert line == "dropped a half-open session from 127.0.0.1: no Socket.IO connect within 1 s"
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(get_request(f"/socket.io/?EIO=4&transport=polling&sid={sid}", keep_alive=False))
        assert (await http_response(reader))[0] == 400  # no such session any more
        writer.close()


async def test_half_open_sessions_from_one_address_push_out_the_oldest():
    """Those that have waited a second make room; a burst from one address keeps its places meanwhile."""
    with start("event_chat", max_half_open=2, **FAST) as server:
        sids = [await half_open_session(server.port) for _ in range(2)]
        await asyncio.sleep(1.2)
        sids += [await half_open_session(server.port) for _ in range(2)]
        assert await server.wait_for_log("more than 2 from one address")
        await asyncio.sleep(0.2)
        for sid, alive in zip(sids, [False, False, True, True]):
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(
                f"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n40".encode()
            )
            assert ((await http_response(reader))[0] == 200) is alive, sid
            writer.close()
        assert len([line for line in server.log if "dropped a half-open session" in line]) == 1  # 2, collapsed


async def test_a_full_room_refuses_a_half_open_session_when_it_connects():
    """Half-open sessions are not counted: when two connect to a room with one place, one gets in."""
    with start("event_chat", max_clients=1, **FAST) as server:
        sessions = [await polling_session_without_joining(server.port) for _ in range(2)]
        answers = []
        for sid, reader, writer in sessions:
            writer.write(post(server.port, sid, b"40"))
            answers.append((await http_response(reader))[0])
        assert answers == [200, 200]  # (Engine.IO takes the packet; the second session is then cut)
        assert await server.wait_for_log("refused a Socket.IO connect from 127.0.0.1: the room is full (1 members)")
        sid, reader, writer = sessions[1]
        writer.write(f"GET /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        assert (await http_response(reader))[0] == 400  # it was cut
        for _, _, writer in sessions:
            writer.close()


async def polling_session_without_joining(port: int):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    status, body = await http_response(reader)
    return json.loads(body[1:])["sid"], reader, writer


def post(port: int, sid: str, body: bytes) -> bytes:
    return (
        f"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def test_a_websocket_upgrade_that_never_completes_is_cut():
    with start("event_chat", handshake_timeout=1, **FAST) as server:
        sid, reader, writer = await polling_session(server.port)  # a member, by long-polling
        upgrade = await connect(f"{server.ws_url}&sid={sid}", proxy=None)  # ...which never sends "2probe"
        started = time.monotonic()
        with pytest.raises(Exception):
            async with asyncio.timeout(5):
                while True:
                    await upgrade.recv()
        assert time.monotonic() - started < 4
        assert await server.wait_for_log("cut a WebSocket upgrade from 127.0.0.1: not done within 1 s")
        writer.close()


# -- what a member costs the kernel (hardening, point 9) -------------------------------------------


def send_buffers(port: int) -> list[int]:
    """The kernel send buffer (bytes) of each established connection whose local port is ``port``, from ``ss``."""
    out = subprocess.run(
        ["ss", "-tmnH", "state", "established", f"( sport = :{port} )"], capture_output=True, text=True, check=True
    ).stdout
    return [int(size) for size in re.findall(r"\btb(\d+)", out)]


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2) to read the server's sockets")
@pytest.mark.parametrize("demo", ["chat", "event_chat"])
async def test_a_members_socket_has_a_bounded_kernel_send_buffer(demo):
    """Before: Linux let each member's send buffer grow to 4 MiB (3.9 MB here, on loopback):
    1000 members that never read held 1.5 GB of kernel memory, though all were cut at max_buffer."""
    with start(demo) as server:
        if demo == "chat":
            client = await connect(server.ws_url, proxy=None)
        else:
            client = socketio.AsyncClient(handle_sigint=False, reconnection=False)
            await client.connect(server.page_url, transports=["websocket"], wait_timeout=5)
        buffers = send_buffers(server.port)
        assert buffers and all(size <= 2 * SEND_BUFFER for size in buffers), buffers  # (Linux counts twice the size)
        if demo == "chat":
            await client.close()
        else:
            await client.disconnect()

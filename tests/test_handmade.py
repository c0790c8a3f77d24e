"""The from-scratch WebSocket server of lesson 08b: real sockets, raw frames, real clients, a real browser."""

from __future__ import annotations

import asyncio
import itertools
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedError

from conftest import stopped
from ws_course import handmade, start
from ws_course.frames import (  # the client's frames: the course's codec, not the server under test
    BINARY,
    CLOSE,
    CONTINUATION,
    PING,
    RFC_MASK,
    TEXT,
    encode_frame,
    receive_frame,
    show_frame,
)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455's example key
MASK = b"\x01\x02\x03\x04"


@pytest.fixture
def server():
    with start("handmade") as server:
        yield server


async def open_raw(port: int, key: str = KEY, version: str = "13") -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
    """A TCP connection with a handshake written by hand; return it and the server's answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: {version}\r\n\r\n".encode()
    )
    return reader, writer, await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)


async def next_frame(reader: asyncio.StreamReader) -> bytes:
    """The next frame the server sends, or TimeoutError: a test fails, it never hangs."""
    return await asyncio.wait_for(receive_frame(reader), 5)


async def still_serves(server) -> None:
    async with connect(server.ws_url, proxy=None) as websocket:
        await websocket.send("still there?")
        assert await websocket.recv() == "still there?"


def test_the_accept_key_is_the_rfcs_own_example():
    assert handmade.accept_key(KEY) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_frames_have_the_three_length_forms_and_the_rfcs_masked_hello():
    """The server's own encoder (it keeps its own code, for the learner to read)."""
    assert handmade.encode_frame(TEXT, b"Hello", mask=RFC_MASK) == bytes.fromhex("81 85 37 fa 21 3d 7f 9f 4d 51 58")
    assert handmade.encode_frame(TEXT, b"Hello") == b"\x81\x05Hello"
    assert handmade.encode_frame(TEXT, b"x" * 125)[:2] == b"\x81\x7d"
    assert handmade.encode_frame(TEXT, b"x" * 126)[:4] == b"\x81\x7e\x00\x7e"
    assert handmade.encode_frame(TEXT, b"x" * 65_535)[:4] == b"\x81\x7e\xff\xff"
    assert handmade.encode_frame(TEXT, b"x" * 65_536)[:10] == b"\x81\x7f" + (65_536).to_bytes(8, "big")
    assert handmade.encode_frame(BINARY, b"ab", fin=False)[:1] == b"\x02"
    assert handmade.apply_mask(handmade.apply_mask(b"any bytes", MASK), MASK) == b"any bytes"


async def test_the_handshake_over_a_raw_socket(server):
    reader, writer, answer = await open_raw(server.port)
    assert answer == (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    )
    writer.write(encode_frame(TEXT, b"Hello", mask=RFC_MASK))
    assert await next_frame(reader) == b"\x81\x05Hello"
    writer.close()


async def test_the_websockets_client_gets_texts_bytes_and_fragments_back(server):
    async with connect(server.ws_url, proxy=None, max_size=None) as websocket:
        for message in ["hi", "", "多语言 ✓", "x" * 200, "y" * 70_000, "z" * handmade.MAX_SIZE, b"\x00\x01\xff"]:
            await websocket.send(message)
            assert await websocket.recv() == message
        await websocket.send(["frag", "ment", "ed ✓"])
        assert await websocket.recv() == "fragmented ✓"
        await websocket.send([b"\x00", b"\x01"])
        assert await websocket.recv() == b"\x00\x01"
        await (await websocket.ping(b"ping payload"))
    assert websocket.close_code == 1000


async def test_a_character_split_between_fragments_is_still_valid_text(server):
    reader, writer, _ = await open_raw(server.port)
    text = "é".encode()  # two bytes: c3 a9
    writer.write(encode_frame(TEXT, text[:1], mask=MASK, fin=False) + encode_frame(CONTINUATION, text[1:], mask=MASK))
    assert await next_frame(reader) == b"\x81\x02" + text
    writer.close()


async def test_a_ping_between_fragments_is_answered_at_once(server):
    reader, writer, _ = await open_raw(server.port)
    writer.write(
        encode_frame(TEXT, b"one ", mask=MASK, fin=False)
        + encode_frame(PING, b"?", mask=MASK)
        + encode_frame(CONTINUATION, b"two", mask=MASK)
    )
    assert await next_frame(reader) == b"\x8a\x01?"
    assert await next_frame(reader) == b"\x81\x07one two"
    writer.close()


async def test_a_clients_close_code_comes_back_then_the_server_hangs_up(server):
    reader, writer, _ = await open_raw(server.port)
    writer.write(encode_frame(CLOSE, (4000).to_bytes(2, "big") + "fini ✓".encode(), mask=MASK))
    assert await next_frame(reader) == b"\x88\x02" + (4000).to_bytes(2, "big")
    assert await reader.read() == b""
    writer.close()
    await server.wait_for_log("closed by the client with 4000")


def close_frame(code: int) -> bytes:
    return code.to_bytes(2, "big")


#: A client that breaks the protocol: what it sends after the handshake, and the close code it gets.
VIOLATIONS = {
    "unmasked": (encode_frame(TEXT, b"Hello"), 1002),
    "rsv1": (bytes([0xC1]) + encode_frame(TEXT, b"Hello", mask=MASK)[1:], 1002),
    "rsv2": (bytes([0xA1]) + encode_frame(TEXT, b"Hello", mask=MASK)[1:], 1002),
    "rsv3": (bytes([0x91]) + encode_frame(TEXT, b"Hello", mask=MASK)[1:], 1002),
    "unknown opcode": (encode_frame(0x3, b"?", mask=MASK), 1002),
    "fragmented ping": (encode_frame(PING, b"?", mask=MASK, fin=False), 1002),
    "ping over 125 bytes": (encode_frame(PING, b"x" * 126, mask=MASK), 1002),
    "continuation out of the blue": (encode_frame(CONTINUATION, b"?", mask=MASK), 1002),
    "new message inside a fragmented one": (
        encode_frame(TEXT, b"a", mask=MASK, fin=False) + encode_frame(TEXT, b"b", mask=MASK), 1002),
    "close with a one-byte payload": (encode_frame(CLOSE, b"\x03", mask=MASK), 1002),
    "close code 1005, which nobody may send": (encode_frame(CLOSE, close_frame(1005), mask=MASK), 1002),
    "close code 999": (encode_frame(CLOSE, close_frame(999), mask=MASK), 1002),
    "text that is not UTF-8": (encode_frame(TEXT, b"\xff\xfe", mask=MASK), 1007),
    "fragmented text that ends mid-character": (
        encode_frame(TEXT, b"ok", mask=MASK, fin=False) + encode_frame(CONTINUATION, b"\xc3", mask=MASK), 1007),
    "a close reason that is not UTF-8": (encode_frame(CLOSE, close_frame(1000) + b"\xff", mask=MASK), 1007),
    "a message over 1 MiB": (encode_frame(TEXT, b"x" * (handmade.MAX_SIZE + 1), mask=MASK), 1009),
    "fragments adding up to over 1 MiB": (
        encode_frame(BINARY, b"x" * handmade.MAX_SIZE, mask=MASK, fin=False)
        + encode_frame(CONTINUATION, b"x", mask=MASK), 1009),
    "a frame claiming 2**63 - 1 bytes": (b"\x82\xff" + (2**63 - 1).to_bytes(8, "big") + MASK, 1009),
}


@pytest.mark.parametrize("violation", VIOLATIONS)
async def test_a_protocol_violation_gets_its_close_code_and_others_are_still_served(server, violation):
    data, code = VIOLATIONS[violation]
    async with connect(server.ws_url, proxy=None) as bystander:
        reader, writer, _ = await open_raw(server.port)
        writer.write(data)
        reply = await next_frame(reader)
        assert reply[0] == 0x88 and int.from_bytes(reply[2:4], "big") == code, reply
        assert await asyncio.wait_for(reader.read(), 5) == b""  # then it hangs up
        writer.close()
        await bystander.send("still served")
        assert await bystander.recv() == "still served"
    await server.wait_for_log(f"closing with {code}")  # the violator's end, in the server's own words
    assert not [line for line in server.log if "Traceback" in line or "Error" in line], server.log


async def test_each_fragment_costs_the_same_work_however_many_came_before(server, monkeypatch):
    """A message in many fragments: the server keeps a running total of its length.

    Adding up the lengths of all fragments so far on each new one made 40 000 empty
    fragments (234 KiB) cost 14 s of CPU, while every other client waited. Rather than
    time anything, count the work: the calls to ``len()`` in the handmade module
    while 2 000 empty fragments arrive. A running total makes a few per fragment;
    adding up again made 2 million (1 + 2 + ... + 2 000).
    """
    fragments = 2_000
    first, empty = encode_frame(TEXT, b"a", mask=MASK, fin=False), encode_frame(CONTINUATION, b"", mask=MASK, fin=False)
    flood = first + empty * fragments + encode_frame(CONTINUATION, b"b", mask=MASK)
    reader, writer, _ = await open_raw(server.port)
    calls = itertools.count()

    def counted_len(obj) -> int:
        next(calls)
        return len(obj)

    monkeypatch.setattr(handmade, "len", counted_len, raising=False)  # found before the built-in one
    writer.write(flood)
    assert await next_frame(reader) == b"\x81\x02ab"
    monkeypatch.undo()
    writer.close()
    assert next(calls) < 10 * fragments


async def test_the_websockets_client_sees_1009_for_a_message_too_big(server):
    async with connect(server.ws_url, proxy=None, max_size=None) as websocket:
        await websocket.send("x" * (handmade.MAX_SIZE + 1))
        with pytest.raises(ConnectionClosedError) as closed:
            await websocket.recv()
    assert closed.value.rcvd.code == 1009
    await still_serves(server)


@pytest.mark.parametrize(
    "request_head, status",
    [
        (b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n", b"400"),
        (f"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n"
         "Sec-WebSocket-Version: 8\r\n\r\n".encode(), b"400"),
        (b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\n"
         b"Sec-WebSocket-Version: 13\r\n\r\n", b"400"),
        (f"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: é{KEY[1:]}\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n".encode(), b"400"),
        (f"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY[:-3]}$==\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n".encode(), b"400"),
        (f"POST / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n".encode(), b"400"),
        (b"hello, anybody there?\r\n\r\n", b"400"),
        (b"GET /nothing-here HTTP/1.1\r\n\r\n", b"404"),
        (b"GET / HTTP/1.1\r\n\r\n", b"200"),
    ],
    ids=["no key", "version 8", "short key", "non-ASCII key", "key not in base64", "POST", "not HTTP", "unknown path",
         "the page"],
)
async def test_http_requests_get_a_plain_answer(server, request_head, status):
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(request_head)
    answer = await asyncio.wait_for(reader.read(), 5)  # the server answers, then hangs up
    writer.close()
    assert answer.startswith(b"HTTP/1.1 " + status), answer
    if status == b"200":
        assert b"<title>Echo Test</title>" in answer
    await still_serves(server)
    assert not [line for line in server.log if "Traceback" in line], server.log


async def test_a_client_that_never_finishes_its_handshake_is_let_go(server, monkeypatch):
    monkeypatch.setattr(handmade, "HANDSHAKE_TIMEOUT", 0.2)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: slow")  # and nothing more
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 400")


async def test_a_client_that_vanishes_does_not_harm_the_server(server):
    async with connect(server.ws_url, proxy=None) as bystander:
        for _ in range(5):
            reader, writer, _ = await open_raw(server.port)
            writer.write(encode_frame(TEXT, b"half a frame", mask=MASK)[:6])
            writer.transport.abort()
        await bystander.send("still there?")
        assert await bystander.recv() == "still there?"
        # Stopped with the bystander still open (a stop in the middle of a closing handshake
        # is another story): when stop() returns, every connection's task has ended, and
        # any error is in the log.
        await stopped(server)
    assert bystander.close_code == 1001
    assert not [line for line in server.log if "Traceback" in line or "Error" in line], server.log


async def test_stopping_closes_every_connection_with_1001():
    server = start("handmade")
    async with connect(server.ws_url, proxy=None) as websocket:
        await websocket.send("before")
        assert await websocket.recv() == "before"
        await asyncio.get_running_loop().run_in_executor(None, server.stop)
        with pytest.raises(ConnectionClosed):
            await websocket.recv()
    assert websocket.close_code == 1001
    assert not server.running


async def test_show_frame_reads_what_receive_frame_read(server):
    reader, writer, _ = await open_raw(server.port)
    writer.write(encode_frame(TEXT, b"x" * 70_000, mask=MASK))
    frame = await next_frame(reader)
    writer.close()
    assert len(frame) == 70_010
    table = show_frame(frame).data
    assert "127: the length is in the next 8 bytes" in table and "| 70,000 |" in table
    assert "MASK 0 (not masked: a server)" in table


# -- in a browser ----------------------------------------------------------------------------


def test_the_echo_page_in_chromium_talks_to_the_handmade_server(page):
    with start("handmade") as server:
        page.goto(server.page_url)
        expect(page.locator("#recv")).to_have_text("Connected")
        page.fill("#sendTxt", "from Chromium ✓")
        page.click("#sendBtn")
        expect(page.locator("#recv")).to_have_text("from Chromium ✓")
        page.evaluate("websocket.send('x'.repeat(70000))")  # Chromium's 127-length form, masked
        expect(page.locator("#recv")).to_have_text("x" * 70_000)
        page.evaluate("websocket.send(new Uint8Array([1, 2, 3]))")
        expect(page.locator("#recv")).to_have_text("(a binary message of 3 bytes)")
        page.evaluate("websocket.send('x'.repeat(2 ** 20 + 1))")
        expect(page.locator("#state")).to_have_text("closed (code 1009: message too big: over 1048576 bytes)")

        page.goto(server.page_url)
        expect(page.locator("#state")).to_have_text("open")
        server.stop()
        expect(page.locator("#state")).to_have_text("closed (code 1001: going away)")


# The article's own echo page, opened from disk, talks to it too: tests/test_pages.py.


def test_ws_course_serve_handmade_then_a_browser_and_ctrl_c(page):
    process = subprocess.Popen(
        [sys.executable, "-m", "ws_course", "serve", "handmade", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = re.search(r"http://\S+/", process.stdout.readline())[0]
        page.goto(url)
        expect(page.locator("#recv")).to_have_text("Connected")
        page.fill("#sendTxt", "from the command line")
        page.click("#sendBtn")
        expect(page.locator("#recv")).to_have_text("from the command line")
        with pytest.raises(urllib.error.HTTPError) as not_found:
            urllib.request.urlopen(url + "nothing-here", timeout=5)
        assert not_found.value.code == 404
        process.send_signal(signal.SIGINT)
        expect(page.locator("#state")).to_have_text("closed (code 1001: going away)")
        _, err = process.communicate(timeout=15)
        assert process.returncode == 0
        assert "open" in err and "Traceback" not in err
    finally:
        process.kill()
        process.wait()

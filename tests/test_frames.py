"""The course's frame codec (ws_course.frames): the RFC's own examples, and the websockets library agreeing."""

from __future__ import annotations

import asyncio
import os
import secrets

import pytest
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from ws_course import handmade, start
from ws_course.frames import (
    BINARY,
    CLOSE,
    CONTINUATION,
    PING,
    PONG,
    RFC_MASK,
    TEXT,
    ZERO_MASK,
    apply_mask,
    decode_frame,
    encode_frame,
    read_frame,
)
from ws_course.measure.fanout import measure_fanout
from ws_course.measure.lean_client import LeanClient

SIZES = [0, 1, 5, 125, 126, 127, 65_535, 65_536, 70_000]


def test_the_rfcs_examples():
    """RFC 6455 section 5.7, byte for byte."""
    assert encode_frame(TEXT, b"Hello") == bytes.fromhex("81 05 48 65 6c 6c 6f")
    assert encode_frame(TEXT, b"Hello", mask=RFC_MASK) == bytes.fromhex("81 85 37 fa 21 3d 7f 9f 4d 51 58")
    assert encode_frame(TEXT, b"Hel", fin=False) + encode_frame(CONTINUATION, b"lo") == bytes.fromhex(
        "01 03 48 65 6c 80 02 6c 6f"
    )
    assert encode_frame(PING, b"Hello") == bytes.fromhex("89 05 48 65 6c 6c 6f")
    assert encode_frame(PONG, b"Hello", mask=RFC_MASK) == bytes.fromhex("8a 85 37 fa 21 3d 7f 9f 4d 51 58")
    assert encode_frame(BINARY, bytes(256))[:4] == bytes.fromhex("82 7e 01 00")
    assert encode_frame(BINARY, bytes(65_536))[:10] == bytes.fromhex("82 7f 00 00 00 00 00 01 00 00")


def test_masking_twice_gives_the_payload_back_and_the_zero_key_changes_nothing():
    data = secrets.token_bytes(1000)
    assert apply_mask(apply_mask(data, RFC_MASK), RFC_MASK) == data
    assert apply_mask(data, ZERO_MASK) == data
    assert apply_mask(b"", RFC_MASK) == b""


@pytest.mark.parametrize("mask", [None, RFC_MASK])
@pytest.mark.parametrize("size", SIZES)
def test_it_writes_what_the_handmade_server_writes_and_reads_it_back(size, mask):
    payload = secrets.token_bytes(size)
    frame = encode_frame(BINARY, payload, mask=mask, fin=False)
    assert frame == handmade.encode_frame(BINARY, payload, mask=mask, fin=False)
    assert decode_frame(frame) == (False, BINARY, payload, len(frame))


def test_frames_one_after_another_in_a_buffer_and_frames_cut_short():
    frames = [encode_frame(TEXT, b"one"), encode_frame(PING, b"?", mask=RFC_MASK), encode_frame(BINARY, bytes(300))]
    buffer = b"".join(frames)
    offset, found = 0, []
    while (frame := decode_frame(buffer, offset)) is not None:
        _, opcode, payload, offset = frame
        found.append((opcode, payload))
    assert found == [(TEXT, b"one"), (PING, b"?"), (BINARY, bytes(300))] and offset == len(buffer)
    for cut in range(len(frames[0]) + 1, len(frames[0]) + len(frames[1])):  # the masked ping, cut anywhere
        assert decode_frame(buffer[:cut], len(frames[0])) is None
    big = encode_frame(TEXT, b"x" * 70_000, mask=RFC_MASK)
    assert all(decode_frame(big[:cut]) is None for cut in range(15))
    assert decode_frame(big[:-1]) is None


async def test_read_frame_reads_one_frame_from_a_stream():
    reader = asyncio.StreamReader()
    reader.feed_data(encode_frame(TEXT, "é".encode() * 100, mask=RFC_MASK) + encode_frame(CLOSE, b"\x03\xe8"))
    assert await read_frame(reader) == (True, TEXT, "é".encode() * 100)
    assert await read_frame(reader) == (True, CLOSE, b"\x03\xe8")


# -- the websockets library agrees (its documented Sans-I/O protocol, not its private frame code) --------------


@pytest.mark.parametrize("size", SIZES)
def test_a_websockets_server_reads_our_client_frames(size):
    server = ServerProtocol(state=State.OPEN, max_size=None)
    text = ("ab" * size)[:size].encode()
    server.receive_data(encode_frame(TEXT, text, mask=secrets.token_bytes(4), fin=False))
    server.receive_data(encode_frame(CONTINUATION, b"!", mask=RFC_MASK))
    server.receive_data(encode_frame(PING, b"ping", mask=ZERO_MASK))
    assert server.events_received() == [
        Frame(Opcode.TEXT, text, fin=False), Frame(Opcode.CONT, b"!"), Frame(Opcode.PING, b"ping"),
    ]
    assert server.state is State.OPEN


@pytest.mark.parametrize("size", SIZES)
def test_we_read_the_frames_websockets_writes(size):
    payload = secrets.token_bytes(size)
    server = ServerProtocol(state=State.OPEN, max_size=None)
    server.send_binary(payload, fin=False)
    server.send_ping(b"ping")
    sent = b"".join(server.data_to_send())
    first = decode_frame(sent)
    assert first[:3] == (False, BINARY, payload)
    assert decode_frame(sent, first[3]) == (True, PING, b"ping", len(sent))
    client = ClientProtocol(parse_uri("ws://127.0.0.1/"), state=State.OPEN, max_size=None)
    client.send_text(payload.hex().encode())
    [masked] = client.data_to_send()
    assert decode_frame(masked) == (True, TEXT, payload.hex().encode(), len(masked))


# -- the lean client reads with it ------------------------------------------------------------------------------


class Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("step", [1, 3, 7, 1000, 200_000])
async def test_the_lean_client_reads_frames_however_they_arrive(step):
    heard: list[bytes] = []
    client = LeanClient("ws", lambda _, payload: heard.append(payload))
    client.connection_made(Transport())
    messages = [b"hi", b"x" * 126, "é".encode() * 40_000, b""]
    data = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
    data += b"".join(encode_frame(TEXT, message) for message in messages) + encode_frame(PING, b"?")
    data += encode_frame(CLOSE, b"\x03\xe8")
    for begin in range(0, len(data), step):
        client.data_received(data[begin : begin + step])
    assert heard == messages and client.ready.done() and client.transport.closed
    client.send(b"back")
    assert decode_frame(client.transport.written[-1])[:3] == (True, TEXT, b"back")


async def test_lesson_09s_fan_out_with_lean_clients():
    """A room of 30 lean clients on the chat server: every message reaches all of them."""
    with start("chat") as server:
        fan_out = await measure_fanout([server.port], [os.getpid()], members=30, messages=5)
    assert (fan_out.members, fan_out.messages, len(fan_out.latencies)) == (30, 5, 5)
    assert fan_out.median_ms > 0 and fan_out.cpu_us_per_delivery >= 0

"""The checks of lessons 07 and 08: a long-poll client, and a frame read byte by byte."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from websockets.protocol import State

from ..demos import start
from . import judging
from .judging import (
    Crashes,
    NotYet,
    Result,
    describe,
    judge,
)

async def check_parse_frame(parse_frame: Callable[[bytes], Any]) -> Result:
    """Lesson 08: ``parse_frame(data)`` returns ``(fin, opcode, payload)``, the payload unmasked.

    The check hands your function real frames: the ones the handmade server sends
    (a short, a 200-byte and a 70 000-byte text, a pong, a close), and the masked
    ones the ``websockets`` library writes as a client.
    """
    from websockets.client import ClientProtocol
    from websockets.uri import parse_uri

    from ..frames import CLOSE, PING, TEXT, encode_frame, receive_frame

    def parsed(frame: bytes, what: str, fin: bool, opcode: int, payload: bytes) -> None:
        try:
            result = parse_frame(frame)
        except Exception as error:
            raise NotYet(f"parse_frame({what}) raised {describe(error)}") from None
        try:
            got_fin, got_opcode, got_payload = result
        except (TypeError, ValueError):
            raise NotYet(f"parse_frame({what}) returned {result!r}; expected (fin, opcode, payload)") from None
        if not isinstance(got_payload, (bytes, bytearray)):
            raise NotYet(f"parse_frame({what}) returned a payload of type {type(got_payload).__name__}; expected bytes")
        if (got_fin, got_opcode) != (fin, opcode):
            raise NotYet(f"parse_frame({what}) said fin={got_fin!r}, opcode={got_opcode!r}; "
                         f"expected fin={fin}, opcode={opcode:#x}")
        if bytes(got_payload) != payload:
            hint = ""
            if len(got_payload) != len(payload):
                hint = (f": {len(got_payload)} bytes instead of {len(payload)} (a length of 126 or 127 means the "
                        "real length is in the next 2 or 8 bytes)")
            elif frame[1] & 0x80:
                hint = ": is it still masked? XOR byte i with mask[i % 4]"
            raise NotYet(f"parse_frame({what}) returned the payload {bytes(got_payload)[:20]!r}…{hint}")

    async def conversation(crashes: Crashes) -> str:
        with start("handmade", name="check-handmade") as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            try:
                writer.write(
                    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                )
                await reader.readuntil(b"\r\n\r\n")
                mask = bytes([1, 2, 3, 4])
                for text in ["Hello", "two hundred bytes. " * 10 + "0123456789", "x" * 70_000]:
                    writer.write(encode_frame(TEXT, text.encode(), mask=mask))
                    frame = await receive_frame(reader)
                    parsed(frame, f"the server's frame of a {len(text):,}-byte text", True, 0x1, text.encode())
                writer.write(encode_frame(PING, b"are you there?", mask=mask))
                parsed(await receive_frame(reader), "the server's pong", True, 0xA, b"are you there?")
                writer.write(encode_frame(CLOSE, b"\x03\xe8bye", mask=mask))
                parsed(await receive_frame(reader), "the server's close frame", True, 0x8, b"\x03\xe8")
            finally:
                writer.close()
        client = ClientProtocol(parse_uri("ws://127.0.0.1/"), state=State.OPEN)  # as if after the handshake: we only want its frames
        for text in ["masked by websockets", "a longer text, masked too. " * 8]:
            client.send_text(text.encode())
            [frame] = client.data_to_send()
            parsed(frame, f"a masked client frame of {len(text)} bytes", True, 0x1, text.encode())
        client.send_binary(b"part one, ", fin=False)
        [frame] = client.data_to_send()
        parsed(frame, "the first fragment of a message", False, 0x2, b"part one, ")
        return "parse_frame reads every field: FIN, opcode, the three lengths, the mask."

    return await judge(conversation, f"no frame came back within {judging.TIMEOUT} s")

"""WebSocket frames: the course's one codec, and lessons 08a and 08b's look at frames byte by byte.

Lessons 08a and 08b:

- :func:`open_raw_websocket` opens a WebSocket over a plain TCP connection, the
  upgrade request written by hand;
- :func:`show_frame` lays a frame out as a table: each field, its bytes, its bits,
  what it means.
- :func:`receive_frame` reads one whole frame from a socket, as the bytes came.

The codec, for every client that writes frames by hand (the lean client of the
benchmarks and of lesson 09's fan-out, ``benchmarks/attacks.py``, lesson 08's
exercise checks, the tests):

- :func:`encode_frame` makes a frame, masked with the key you give (a client) or
  unmasked (a server). It writes whatever it is asked to, even what the RFC
  forbids: an attacker or a test needs that.
- :func:`decode_frame` finds the whole frame at an offset of a buffer, without
  copying the buffer; :func:`read_frame` reads one from a stream.
- :func:`apply_mask` masks and unmasks.

The from-scratch server of lesson 08b (:mod:`ws_course.handmade`) keeps its own
code, so that it reads whole in one place. The ``websockets`` library has a
documented frame type (``websockets.frames.Frame``), but its ``serialize()`` and
``parse()`` are not part of the documented API; ``serialize()`` also picks the
masking key itself (RFC 6455's examples need a key we choose) and costs a
``Frame`` object per frame. The tests check this codec against the library's
documented Sans-I/O protocol instead (``tests/test_frames.py``).

The frame's layout, from RFC 6455 section 5.2 (a row is 32 bits)::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-------+-+-------------+-------------------------------+
    |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
    |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
    |N|V|V|V|       |S|             |   (if payload len==126/127)   |
    | |1|2|3|       |K|             |                               |
    +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
    |     Extended payload length continued, if payload len == 127  |
    + - - - - - - - - - - - - - - - +-------------------------------+
    |                               |Masking-key, if MASK set to 1  |
    +-------------------------------+-------------------------------+
    | Masking-key (continued)       |          Payload Data         |
    +-------------------------------- - - - - - - - - - - - - - - - +
    :                     Payload Data continued ...                :
    +---------------------------------------------------------------+
"""

from __future__ import annotations

import asyncio
import html

from IPython.display import Markdown

#: Opcodes: what a frame carries. The last three are control frames.
CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

#: What each opcode means.
OPCODES = {0x0: "continuation", 0x1: "text", 0x2: "binary", 0x8: "close", 0x9: "ping", 0xA: "pong"}

#: The masking key of RFC 6455's examples (section 5.7): masked frames that look the same every time.
RFC_MASK = bytes([0x37, 0xFA, 0x21, 0x3D])

#: The key of RFC 6455's example handshake (section 1.3). A real client sends 16 random bytes, in base64.
RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="

#: The all-zero masking key: a client frame whose payload goes out as it is (an attacker's choice).
ZERO_MASK = bytes(4)

#: How many payload bytes a table shows.
SHOWN = 12


def _hex(data: bytes) -> str:
    shown = data[:SHOWN].hex(" ")
    return shown + (f" … ({len(data) - SHOWN:,} more)" if len(data) > SHOWN else "")


def _cell(text: str) -> str:
    return html.escape(text, quote=False).replace("|", "&#124;")


def _payload_meaning(opcode: int, payload: bytes) -> str:
    if opcode == 0x8 and len(payload) >= 2:
        return f"close code {int.from_bytes(payload[:2], 'big')}, reason {payload[2:].decode(errors='replace')!r}"
    if opcode in (0x9, 0xA):  # a ping or a pong: at most 125 bytes, shown whole
        return f"{len(payload)} bytes: {payload!r}"
    if opcode == 0x1:
        text = payload.decode(errors="replace")
        return f"{len(payload):,} bytes of text: {text[:30]!r}" + ("…" if len(text) > 30 else "")
    return f"{len(payload):,} bytes: {payload[:SHOWN]!r}" + ("…" if len(payload) > SHOWN else "")


def show_frame(frame: bytes) -> Markdown:
    """A table of ``frame``'s fields: where each is, its bytes in hex, its bits, what it means."""
    first, second = frame[0], frame[1]
    fin, opcode, masked, length = first >> 7, first & 0x0F, second >> 7, second & 0x7F
    rows = [
        ("0", f"{first:02x}", f"{fin} {(first >> 4) & 7:03b} {opcode:04b}", "FIN, RSV1-3, opcode",
         f"FIN {fin} ({'the last frame of its message' if fin else 'more frames follow'}), "
         f"reserved bits {(first >> 4) & 7:03b}, opcode {opcode:#x}: {OPCODES.get(opcode, 'unknown')}"),
        ("1", f"{second:02x}", f"{masked} {length:07b}", "MASK, payload length",
         f"MASK {masked} ({'masked: a client' if masked else 'not masked: a server'}), "
         + {126: "126: the length is in the next 2 bytes", 127: "127: the length is in the next 8 bytes"}.get(
             length, f"length {length}")),
    ]
    offset = 2
    if length in (126, 127):
        size = 2 if length == 126 else 8
        length = int.from_bytes(frame[offset : offset + size], "big")
        rows.append((f"{offset}-{offset + size - 1}", frame[offset : offset + size].hex(" "), "",
                     f"extended payload length ({size * 8} bits)", f"{length:,}"))
        offset += size
    payload = frame[offset + 4 * masked :]
    if masked:
        mask = frame[offset : offset + 4]
        rows.append((f"{offset}-{offset + 3}", mask.hex(" "), "", "masking key", "chosen by the client"))
        offset += 4
        meaning = "unmasked: " + _payload_meaning(opcode, apply_mask(payload, mask))
    else:
        meaning = _payload_meaning(opcode, payload)
    where = f"{offset}-{offset + len(payload) - 1}" if payload else "-"
    rows.append((where, _hex(payload), "", "payload" + (" (masked)" if masked else ""), meaning))
    lines = ["| byte | hex | bits | field | meaning |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    lines.append(f"\n{len(frame):,} bytes in all: {offset} of header, {len(payload):,} of payload.")
    return Markdown("\n".join(lines))


async def open_raw_websocket(
    port: int, key: str = RFC_KEY
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, str]:
    """A TCP connection to 127.0.0.1:port, upgraded to a WebSocket by hand; return it and the server's answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = (
        "GET / HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "\r\n"  # an empty line ends the request's head
    )
    writer.write(request.encode())
    response = await reader.readuntil(b"\r\n\r\n")
    return reader, writer, response.decode("latin-1")


async def receive_frame(reader: asyncio.StreamReader) -> bytes:
    """Read one frame from ``reader`` and return its bytes, header and all, as they came."""
    header = await reader.readexactly(2)
    length = header[1] & 0x7F
    extended = await reader.readexactly({126: 2, 127: 8}.get(length, 0))
    if extended:
        length = int.from_bytes(extended, "big")
    mask = await reader.readexactly(4 if header[1] & 0x80 else 0)
    return header + extended + mask + await reader.readexactly(length)


# -- the codec ---------------------------------------------------------------------------


def apply_mask(data: bytes, mask: bytes) -> bytes:
    """XOR byte i of ``data`` with ``mask[i % 4]``: that masks, and the same again unmasks.

    One XOR of two big integers rather than a loop over the bytes: a 64 KiB
    payload takes about 0.1 ms, not 10.
    """
    length = len(data)
    repeated = (mask * (length // 4 + 1))[:length]
    return (int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")).to_bytes(length, "big")


def encode_frame(opcode: int, payload: bytes, *, mask: bytes | None = None, fin: bool = True) -> bytes:
    """One frame: FIN and opcode, MASK and the payload's length (7, 7+16 or 7+64 bits), [masking key], payload.

    A server's frames are unmasked (``mask=None``); a client gives a 4-byte ``mask``
    (``secrets.token_bytes(4)``, or :data:`RFC_MASK` to get the RFC's examples).
    """
    length = len(payload)
    first = (0x80 if fin else 0) | opcode
    masked = 0x80 if mask else 0
    if length < 126:
        header = bytes((first, masked | length))
    elif length < 2**16:
        header = bytes((first, masked | 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((first, masked | 127)) + length.to_bytes(8, "big")
    if mask:
        return header + mask + apply_mask(payload, mask)
    return header + payload


def decode_frame(data: bytes, offset: int = 0) -> tuple[bool, int, bytes, int] | None:
    """The frame that starts at ``data[offset]``: ``(fin, opcode, payload, end)``, the payload unmasked.

    ``end`` is where the next frame starts. None when ``data`` holds only the start
    of a frame: read more, and try again at the same offset. Many frames in one
    buffer are read with a moving offset, and nothing is copied but each payload.
    It reads what comes, and checks nothing (reserved bits, opcodes, lengths).
    """
    start = offset + 2
    if len(data) < start:
        return None
    second = data[offset + 1]
    length = second & 0x7F
    if length > 125:  # the length is in the next 2 or 8 bytes
        size = 2 if length == 126 else 8
        length, start = int.from_bytes(data[start : start + size], "big"), start + size
        # (if data stops inside those bytes, the frame's end is past data's end too: None below)
    if second & 0x80:  # masked: a client's frame; the key is the 4 bytes before the payload
        start += 4
        end = start + length
        if len(data) < end:
            return None
        payload = apply_mask(data[start:end], data[start - 4 : start])
    else:
        end = start + length
        if len(data) < end:
            return None
        payload = data[start:end]
    first = data[offset]
    return first > 0x7F, first & 0x0F, payload, end


async def read_frame(reader: asyncio.StreamReader) -> tuple[bool, int, bytes]:
    """Read one frame from ``reader``: ``(fin, opcode, payload)``, the payload unmasked."""
    fin, opcode, payload, _ = decode_frame(await receive_frame(reader))
    return fin, opcode, payload

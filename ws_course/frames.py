"""See WebSocket frames byte by byte (lesson 08).

- :func:`show_frame` lays a frame out as a table: each field, its bytes, its bits,
  what it means.
- :func:`receive_frame` reads one whole frame from a socket, as the bytes came.

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

from .handmade import apply_mask

#: What each opcode means.
OPCODES = {0x0: "continuation", 0x1: "text", 0x2: "binary", 0x8: "close", 0x9: "ping", 0xA: "pong"}

#: The masking key of RFC 6455's examples (section 5.7): masked frames that look the same every time.
RFC_MASK = bytes([0x37, 0xFA, 0x21, 0x3D])

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


async def receive_frame(reader: asyncio.StreamReader) -> bytes:
    """Read one frame from ``reader`` and return its bytes, header and all, as they came."""
    header = await reader.readexactly(2)
    length = header[1] & 0x7F
    extended = await reader.readexactly({126: 2, 127: 8}.get(length, 0))
    if extended:
        length = int.from_bytes(extended, "big")
    mask = await reader.readexactly(4 if header[1] & 0x80 else 0)
    return header + extended + mask + await reader.readexactly(length)

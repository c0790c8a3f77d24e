"""A lean WebSocket client: many members at once, for a fraction of what a real client costs.

A widget, or even a ``websockets`` client, does a lot of work for each message: it
is made for one person, not for a thousand members in one process. To measure
how a *server* copes with a big room, the clients must cost far less than the
server does. :class:`LeanClient` is such a client: it sends a handshake without
compression (so that every server sends plain frames), reads and writes frames
with the course's codec (:mod:`ws_course.frames`), and speaks just enough
Engine.IO to be a Socket.IO member. Lesson 09b's fan-out experiment
(:mod:`ws_course.measure.fanout`) and ``benchmarks/node_vs_python.py`` use it.

It reads with :class:`asyncio.BufferedProtocol` into one buffer of its own: asyncio's
default loop otherwise makes a new 256 KiB ``bytes`` object for every read, which,
for a thousand members each reading a thousand arrivals, is most of the time spent.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
from pathlib import Path

from ..frames import CLOSE, TEXT, decode_frame, encode_frame

__all__ = ["LeanClient", "join", "process_cpu_seconds"]


class LeanClient(asyncio.BufferedProtocol):
    """One member, with as little work per message as a WebSocket client can do.

    Args:
        kind: ``"ws"`` for a plain WebSocket server, ``"sio"`` for a Socket.IO one
            (it connects to ``/socket.io/``, answers pings, and joins the namespace ``/``).
        on_text: Called as ``on_text(client, payload)`` with each text message (for
            Socket.IO, each event packet, e.g. ``b'42["mes","user1 says: hi"]'``).
    """

    def __init__(self, kind: str = "ws", on_text=None) -> None:
        self.kind, self.on_text = kind, on_text
        self.buffer = b""
        self.incoming = bytearray(65536)  # the transport reads into it: no new bytes object per read
        self.upgraded = False
        self.ready = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        path = "/socket.io/?EIO=4&transport=websocket" if self.kind == "sio" else "/"
        key = base64.b64encode(secrets.token_bytes(16)).decode()
        transport.write(  # no Sec-WebSocket-Extensions: no compression
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def get_buffer(self, sizehint: int) -> memoryview:
        return memoryview(self.incoming)

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(bytes(self.incoming[:nbytes]))

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        if not self.upgraded:
            head, found, buffer = buffer.partition(b"\r\n\r\n")
            if not found:
                self.buffer = head
                return
            if not head.startswith(b"HTTP/1.1 101"):
                self._fail(ConnectionError(head.split(b"\r\n")[0].decode(errors="replace")))
                return
            self.upgraded = True
            if self.kind == "ws":
                self.ready.done() or self.ready.set_result(None)
        offset = 0  # the frames in this buffer, one after the other: nothing copied but each payload
        while offset < len(buffer) and (frame := decode_frame(buffer, offset)) is not None:
            _, opcode, payload, offset = frame
            if opcode == TEXT:
                self._text(payload)
            elif opcode == CLOSE:
                self.transport.close()
        self.buffer = buffer[offset:] if offset else buffer

    def _text(self, payload: bytes) -> None:
        if self.kind == "sio":
            if payload == b"2":
                self.send(b"3")  # Engine.IO ping: pong
                return
            if payload[:1] == b"0":
                self.send(b"40")  # Engine.IO open: join the namespace "/"
                return
            if payload[:2] == b"40":
                self.ready.done() or self.ready.set_result(None)
                return
        if self.on_text is not None:
            self.on_text(self, payload)

    def send(self, payload: bytes) -> None:
        """Send a text frame (masked, as a client must)."""
        self.transport.write(encode_frame(TEXT, payload, mask=secrets.token_bytes(4)))

    def say(self, text: str) -> None:
        """Say something in a chat room: a text, or for Socket.IO the event ``message``."""
        self.send(f'42["message","{text}"]'.encode() if self.kind == "sio" else text.encode())

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _fail(self, error: Exception) -> None:
        self.ready.done() or self.ready.set_exception(error)
        self.transport.close()

    def connection_lost(self, exc) -> None:
        self.ready.done() or self.ready.set_exception(ConnectionError(f"closed: {exc}"))


async def join(port: int, kind: str = "ws", on_text=None, timeout: float = 20) -> LeanClient:
    """Connect a :class:`LeanClient` to a server on ``127.0.0.1:port`` and wait until it is a member."""
    _, client = await asyncio.get_running_loop().create_connection(lambda: LeanClient(kind, on_text), "127.0.0.1", port)
    async with asyncio.timeout(timeout):
        await client.ready
    return client


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) a process has used so far; NaN where there is no /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


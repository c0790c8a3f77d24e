"""A WebSocket echo server written from scratch: asyncio streams and the standard library only.

Lesson 08a takes the protocol (RFC 6455) apart; this module, lesson 08b's, puts it back together,
small enough to read in one sitting, and complete enough that a browser, the
``websockets`` library and the article's own page talk to it. It does what demo
1's server does (every message comes back to its sender) and serves the same page
(``static/echo.html``) on ``/``.

What it does:

- the opening handshake: an HTTP request with ``Upgrade: websocket``, answered
  ``101 Switching Protocols`` with ``Sec-WebSocket-Accept``;
- text and binary messages both ways, in one frame or in fragments;
- ping (answered with a pong), and the closing handshake;
- it refuses what the RFC forbids, with the close code that says why: 1002
  (protocol error) for a frame that is not masked, a reserved bit set, an unknown
  opcode, a control frame that is fragmented or longer than 125 bytes, a fragment
  out of place, a close code nobody may send; 1007 (invalid data) for text that is
  not UTF-8; 1009 (too big) for a message over :data:`MAX_SIZE`.

What it leaves out, and why the course's demos use the ``websockets`` library:
extensions (it declines permessage-deflate compression, as the RFC allows),
subprotocols, TLS (``wss://``), an origin check, keepalive pings, a limit on
connections or on a client that reads too slowly, HTTP beyond one page. A library
has all of that, and years of fixes for the corners where real clients and real
attackers differ from the RFC's examples. Writing the protocol once teaches it;
running it for others is the library's job.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import struct

from .language.pages import page_file
from .web.static import STATIC

#: RFC 6455's fixed string: every server appends it to the client's key (section 1.3).
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

#: The biggest message accepted, in bytes (what the ``websockets`` library accepts too).
MAX_SIZE = 2**20

#: Seconds a client has to send its opening handshake.
HANDSHAKE_TIMEOUT = 10

#: Opcodes: what a frame carries. The last three are control frames.
CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

#: Close codes a client may send (RFC 6455 section 7.4, and IANA's registry); 3000-4999 are free to use.
CLOSE_CODES = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014}


class ProtocolError(Exception):
    """What the client did wrong, and the close code that says so."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a ``Sec-WebSocket-Key``: base64(SHA-1(key + GUID)).

    It proves to the client that this server read its key and speaks WebSocket:
    an HTTP server that knows nothing of WebSocket could not answer it.
    """
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def apply_mask(data: bytes, mask: bytes) -> bytes:
    """XOR byte i with ``mask[i % 4]``: that masks, and the same again unmasks."""
    return bytes(byte ^ mask[i % 4] for i, byte in enumerate(data))


def encode_frame(opcode: int, payload: bytes, *, mask: bytes | None = None, fin: bool = True) -> bytes:
    """One frame: FIN and opcode, then MASK and the payload's length, [masking key], payload.

    The length takes one of three forms: up to 125 in the 7 bits of the second
    byte; up to 65 535 as 126 and then 2 bytes; more as 127 and then 8 bytes.
    A server sends its frames unmasked; a client gives its 4-byte ``mask``.
    """
    first = (0x80 if fin else 0) | opcode
    masked = 0x80 if mask else 0
    if len(payload) < 126:
        header = struct.pack("!BB", first, masked | len(payload))
    elif len(payload) < 2**16:
        header = struct.pack("!BBH", first, masked | 126, len(payload))
    else:
        header = struct.pack("!BBQ", first, masked | 127, len(payload))
    if mask:
        return header + mask + apply_mask(payload, mask)
    return header + payload


async def read_frame(reader: asyncio.StreamReader, max_size: int = MAX_SIZE) -> tuple[bool, int, bytes]:
    """Read one frame from a client; return ``(fin, opcode, payload)``, the payload unmasked.

    First the header's two bytes, then the extended length, then the masking key,
    then exactly the payload. Each rule a client may break raises
    :class:`ProtocolError` with its close code *before* the payload is read: a
    frame that claims to be 1 GB is refused from its header.
    """
    first, second = await reader.readexactly(2)
    fin, reserved, opcode = bool(first & 0x80), first & 0x70, first & 0x0F
    masked, length = bool(second & 0x80), second & 0x7F
    if reserved:
        raise ProtocolError(1002, "reserved bits set, and no extension was agreed")
    if opcode not in (CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG):
        raise ProtocolError(1002, f"unknown opcode {opcode:#x}")
    if not masked:
        raise ProtocolError(1002, "a client's frames must be masked")
    if opcode >= CLOSE and (length > 125 or not fin):
        raise ProtocolError(1002, "a control frame must be whole and at most 125 bytes")
    if length == 126:
        (length,) = struct.unpack("!H", await reader.readexactly(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", await reader.readexactly(8))
    if length > max_size:
        raise ProtocolError(1009, f"message too big: over {MAX_SIZE} bytes")
    mask = await reader.readexactly(4)
    return fin, opcode, apply_mask(await reader.readexactly(length), mask)


async def read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str]] | None:
    """Read an HTTP request's head: ``(method, path, headers)``, header names in lower case.

    None when what came is not an HTTP request, or did not come within :data:`HANDSHAKE_TIMEOUT`.
    """
    try:
        async with asyncio.timeout(HANDSHAKE_TIMEOUT):
            head = await reader.readuntil(b"\r\n\r\n")  # at most 64 KiB: the reader's limit
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, path, version = request_line.split(" ")
    except (ValueError, asyncio.LimitOverrunError, TimeoutError):
        return None
    if not version.startswith("HTTP/1."):
        return None
    headers = {}
    for line in filter(None, header_lines):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return method, path, headers


def handshake_error(method: str, headers: dict[str, str]) -> str | None:
    """What is wrong with a WebSocket handshake request, or None if it is right."""
    connection = [token.strip().lower() for token in headers.get("connection", "").split(",")]
    try:
        key_length = len(base64.b64decode(headers.get("sec-websocket-key", ""), validate=True))
    except ValueError:  # not base64, or not even ASCII
        key_length = 0
    if method != "GET" or "upgrade" not in connection:
        return "a WebSocket handshake is a GET with Connection: Upgrade"
    if headers.get("sec-websocket-version") != "13":
        return "only Sec-WebSocket-Version: 13 is spoken here"
    if key_length != 16:
        return "Sec-WebSocket-Key must be 16 bytes in base64"
    return None


async def respond(writer: asyncio.StreamWriter, status: str, body: bytes, content_type: str = "text/plain") -> None:
    """A plain HTTP response, after which the connection closes."""
    writer.write(
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
    )
    await writer.drain()


async def close(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, code: int, reason: str = "", timeout: float = 1
) -> None:
    """The closing handshake, server side: send a close frame, then wait for the client to hang up.

    After its close frame a server sends nothing more, so it also ends its half of
    the TCP connection (``write_eof``). The client answers with its own close frame
    and closes its half; what it sends until then is read and dropped. Closing the
    socket before reading it all would make the system reset the connection, and
    the client could lose our close frame. After ``timeout`` seconds we stop waiting.
    """
    try:
        async with asyncio.timeout(timeout):
            writer.write(encode_frame(CLOSE, code.to_bytes(2, "big") + reason.encode()))
            writer.write_eof()
            while await reader.read(65536):
                pass
    except (TimeoutError, ConnectionError):
        writer.transport.abort()  # no answer in time: cut the connection


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int:
    """Answer every message with itself and a ping with a pong, until the client closes.

    Fragments are joined into one message. Text is checked to be UTF-8 only when the
    whole message is there: a character may be split between two fragments.
    Return the code the client closed with, to answer its close frame with.
    """
    fragments: list[bytes] = []  # the parts of a message that came in several frames
    size = 0  # their total length in bytes
    kind = None  # that message's opcode, TEXT or BINARY
    while True:
        fin, opcode, payload = await read_frame(reader, MAX_SIZE - size)
        if opcode == PING:
            writer.write(encode_frame(PONG, payload))
        elif opcode == PONG:
            pass  # we never ping, but a client may send a pong unasked
        elif opcode == CLOSE:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
            if len(payload) == 1 or (code is not None and code not in CLOSE_CODES and not 3000 <= code < 5000):
                raise ProtocolError(1002, "invalid close code")
            try:
                payload[2:].decode()  # the reason, which must be UTF-8 too
            except UnicodeDecodeError:
                raise ProtocolError(1007, "the close reason is not UTF-8") from None
            return code or 1000  # a close frame may carry no code: answer with 1000
        else:  # TEXT, BINARY or CONTINUATION: a message, or a part of one
            if (opcode == CONTINUATION) != (kind is not None):
                raise ProtocolError(1002, "a continuation frame must follow a fragment, and only then")
            kind = kind or opcode
            fragments.append(payload)
            # A running total: adding up every fragment again on each new one would take
            # longer and longer (40 000 empty fragments took 14 s, with other clients waiting).
            size += len(payload)
            if fin:
                message = b"".join(fragments)
                if kind == TEXT:
                    try:
                        message.decode()
                    except UnicodeDecodeError:
                        raise ProtocolError(1007, "text must be UTF-8") from None
                writer.write(encode_frame(kind, message))
                fragments, size, kind = [], 0, None
        await writer.drain()


class HandmadeServer:
    """The listening server, with what the course's runtime expects of any server
    (what a ``websockets`` server has): ``sockets``, ``close()``, ``wait_closed()``.
    """

    def __init__(self, logger: logging.Logger, close_timeout: float) -> None:
        self.logger = logger
        self.close_timeout = close_timeout
        self.server: asyncio.Server | None = None
        self.connections: set[asyncio.Task] = set()

    @property
    def sockets(self):
        return self.server.sockets

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection, from the handshake to the close (asyncio runs it as a task).

        The HTTP request is read by hand: without ``Upgrade: websocket`` it asks for
        the page; with it, :func:`handshake_error` checks what the RFC requires, and
        the answer is ``101`` with :func:`accept_key`. Then :func:`echo` until the
        client closes, and :func:`close` answers with the client's own code. A rule
        broken (:class:`ProtocolError`) closes with the code that says why; the
        server stopping (the task cancelled, see :meth:`close`) with 1001, going away.
        """
        self.connections.add(asyncio.current_task())
        owes_a_close = False  # True from the handshake until someone starts the closing handshake
        try:
            request = await read_request(reader)
            if request is None:
                await respond(writer, "400 Bad Request", b"not an HTTP request\n")
                return
            method, path, headers = request
            if headers.get("upgrade", "").lower() != "websocket":
                if method == "GET" and path.partition("?")[0] == "/":
                    await respond(writer, "200 OK", page_file(STATIC / "echo.html", path), "text/html")
                else:
                    await respond(writer, "404 Not Found", b"Not found\n")
                return
            error = handshake_error(method, headers)
            if error:
                self.logger.info("refused a handshake: %s", error)
                await respond(writer, "400 Bad Request", f"{error}\n".encode())
                return
            writer.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + f"Sec-WebSocket-Accept: {accept_key(headers['sec-websocket-key'])}\r\n\r\n".encode()
            )
            owes_a_close = True
            self.logger.info("open")
            code = await echo(reader, writer)
            owes_a_close = False  # the client has started the closing handshake
            self.logger.info("closed by the client with %d", code)
            await close(reader, writer, code, timeout=self.close_timeout)  # the same code back
        except ProtocolError as error:
            self.logger.info("closing with %d: %s", error.code, error)
            await close(reader, writer, error.code, str(error), self.close_timeout)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client vanished: nobody to say goodbye to
        except asyncio.CancelledError:
            # The server is stopping (see close()). The task then ends as if it had
            # finished: Python 3.11 would log a traceback for a cancelled one.
            if owes_a_close:  # a second close frame would break the closing handshake
                await close(reader, writer, 1001, "going away", self.close_timeout)
        finally:
            writer.close()
            self.connections.discard(asyncio.current_task())

    def close(self) -> None:
        """Stop accepting connections, and close every open one with 1001 (going away)."""
        self.server.close()
        for connection in self.connections:
            connection.cancel()

    async def wait_closed(self) -> None:
        await asyncio.gather(*self.connections, return_exceptions=True)
        await self.server.wait_closed()


async def serve(
    host: str = "127.0.0.1", port: int = 8001, *, logger: logging.Logger | None = None, close_timeout: float = 1
) -> HandmadeServer:
    """Start the handmade echo server, with the echo page at ``http://host:port/``.

    ``close_timeout``: seconds to wait for a client's answer to our close frame.
    """
    server = HandmadeServer(logger or logging.getLogger(__name__), close_timeout)
    server.server = await asyncio.start_server(server.handle, host, port)
    return server

"""The checks of lessons 08a and 08b: the protocol by hand, judged by real servers and a real client.

- :func:`check_accept_key` (08a): your ``Sec-WebSocket-Accept`` against the one a
  ``websockets`` server sends for the same key.
- :func:`check_client_frame` (08a): your masked text frames, sent over a raw socket
  to a ``websockets`` echo server, which must echo them.
- :func:`check_parse_frame` (08b): your frame parser, given the handmade server's
  frames and frames the ``websockets`` library masked as a client.
- :func:`check_sans_io_echo` (08b): your ``on_data(protocol, data)`` drives a
  ``websockets`` Sans-I/O ``ServerProtocol`` on a real socket; the ``websockets``
  client talks to it.

Each wrong answer gets the hint of the mistake it most likely is, found from what
your code returned, never guessed from its text.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from ..demos import start
from ..frames import RFC_KEY, open_raw_websocket
from ..language import _
from . import judging
from .judging import Crashes, NotYet, Result, describe, exercise, judge

#: RFC 6455's fixed string, appended to the key (section 1.3).
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


async def _close_raw(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The closing handshake, client side: a masked close 1000, then read until the server hangs up."""
    from ..frames import CLOSE, encode_frame

    try:
        writer.write(encode_frame(CLOSE, (1000).to_bytes(2, "big"), mask=secrets.token_bytes(4)))
        while await reader.read(65536):
            pass
    except ConnectionError:
        pass
    finally:
        writer.close()
        await writer.wait_closed()


# -- 08a: Sec-WebSocket-Accept -------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _accept_mistake(key: str, got: Any) -> str:
    """Which slip gives ``got`` for ``key``: the hint, or "" if none we know of does."""
    digest = hashlib.sha1((key + GUID).encode())
    slips = {
        digest.digest(): _("that is the SHA-1 digest itself: encode it in base64 (base64.b64encode), then .decode()"),
        _b64(digest.digest()).encode(): _("that is bytes: return a str (.decode() the base64)"),
        digest.hexdigest(): _("that is the SHA-1 in hex: take .digest() (the 20 bytes), and encode those in base64"),
        _b64(digest.hexdigest().encode()):
            _("that is the hex digest in base64: take .digest() (the 20 bytes), not .hexdigest()"),
        _b64(hashlib.sha1(key.encode()).digest()): _("the key alone: append the GUID to the key before hashing"),
        _b64(hashlib.sha1(GUID.encode()).digest()):
            _("the GUID alone: it is the key with the GUID appended that is hashed"),
        _b64(hashlib.sha1((GUID + key).encode()).digest()): _("the GUID comes after the key, not before it"),
        _b64(hashlib.sha1(base64.b64decode(key) + GUID.encode()).digest()):
            _("append the GUID to the key as it is written, its base64 text, not to the bytes it decodes to"),
        _b64(hashlib.sha256((key + GUID).encode()).digest()): _("the RFC's hash is SHA-1 (hashlib.sha1), not SHA-256"),
    }
    try:
        return slips.get(got, "")
    except TypeError:  # not hashable: a list, a dict
        return ""


@exercise
async def check_accept_key(accept_key: Callable[[str], Any]) -> Result:
    """Lesson 08a: ``accept_key(key)`` returns the ``Sec-WebSocket-Accept`` value for a ``Sec-WebSocket-Key``.

    The check sends handshakes to a real ``websockets`` server over a raw socket,
    with the RFC's example key and with fresh random keys, and compares your value
    with the one in the server's ``101`` response.
    """

    async def conversation(crashes: Crashes) -> str:
        keys = [RFC_KEY] + [_b64(secrets.token_bytes(16)) for _key in range(3)]
        with start("echo", name="check-accept", ping_interval=None) as server:
            for key in keys:
                reader, writer, response = await open_raw_websocket(server.port, key)
                await _close_raw(reader, writer)
                theirs = next(
                    line.partition(":")[2].strip()
                    for line in response.split("\r\n")
                    if line.lower().startswith("sec-websocket-accept:")
                )
                try:
                    yours = accept_key(key)
                except Exception as error:
                    raise NotYet(_("accept_key({key!r}) raised {error}").format(key=key, error=describe(error))) from None
                if yours != theirs:
                    hint = _accept_mistake(key, yours)
                    if hint:
                        raise NotYet(_("accept_key({key!r}) returned {yours!r}; the websockets server answered "
                                       "Sec-WebSocket-Accept: {theirs}\n    ({hint})").format(
                            key=key, yours=yours, theirs=theirs, hint=hint))
                    raise NotYet(_("accept_key({key!r}) returned {yours!r}; the websockets server answered "
                                   "Sec-WebSocket-Accept: {theirs}").format(key=key, yours=yours, theirs=theirs))
        return _("accept_key gives what a websockets server answers, for the RFC's key and for "
                 "{count} random ones.").format(count=len(keys) - 1)

    return await judge(conversation, _("the server did not answer within {seconds} s").format(seconds=judging.TIMEOUT))


# -- 08a: a client's frame ---------------------------------------------------------------


def _frame_mistake(frame: bytes, text: str, mask: bytes) -> str:
    """What is wrong with ``frame`` as a masked text frame of ``text``, read before any server sees it; "" if nothing."""
    from ..frames import apply_mask, decode_frame

    payload = text.encode()
    if len(frame) < 2:
        return _("it is {length} bytes long: a frame's header alone is at least 2").format(length=len(frame))
    if not frame[0] & 0x80:
        return _("the FIN bit (0x80 of the first byte) is not set: the server would wait for more fragments")
    if frame[0] & 0x70:
        return _("a reserved bit (0x70 of the first byte) is set: leave them 0")
    if frame[0] & 0x0F != 0x1:
        return _("its opcode is {opcode:#x}; a text frame's is 0x1").format(opcode=frame[0] & 0x0F)
    if not frame[1] & 0x80:
        return ""  # the server will say it: see check_client_frame
    decoded = decode_frame(frame)
    if decoded is None or decoded[3] != len(frame):
        form = frame[1] & 0x7F
        said = (_("126 (a 2-byte length follows)") if form == 126 else
                _("127 (an 8-byte length follows)") if form == 127 else str(form))
        right = (_("up to 125, the length itself") if len(payload) < 126 else
                 _("126, then the length in 2 bytes") if len(payload) < 2**16 else _("127, then the length in 8 bytes"))
        return _("for {payload:,} bytes of payload its length field says {said}, and the frame reads "
                 "wrong: {length:,} bytes in all. For {payload:,} bytes, the 7 bits say {right}").format(
            payload=len(payload), said=said, length=len(frame), right=right)
    header = len(frame) - len(payload) - 4
    if frame[header : header + 4] != mask:
        return _("the 4 bytes before the payload are {found}, not the masking key you were given").format(
            found=frame[header : header + 4].hex(" "))
    if decoded[2] != payload:
        if frame[header + 4 :] == payload:
            return _("the payload is not masked: XOR byte i with mask[i % 4]")
        if apply_mask(frame[header + 4 :], mask) != payload:
            return _("its payload, unmasked with the key, is not the text's UTF-8 bytes")
    return ""


@exercise
async def check_client_frame(text_frame: Callable[[str, bytes], Any]) -> Result:
    """Lesson 08a: ``text_frame(text, mask)`` returns a whole text frame, masked with the 4-byte ``mask``, as a client sends it.

    The check asks for frames of a short text, of a 200-byte text, of a 70 000-byte
    text and of a text with characters outside ASCII, each with a random masking
    key, and sends them over a raw socket to a real ``websockets`` echo server: the
    server must echo each one. A frame that would not read right is explained
    before it is sent.
    """
    from ..frames import CLOSE, decode_frame, receive_frame

    async def conversation(crashes: Crashes) -> str:
        texts = ["Hello", "two hundred bytes. " * 10 + "0123456789", "x" * 70_000, "é, 中文 and 🙂 are UTF-8 too"]
        with start("echo", name="check-frames", ping_interval=None) as server:
            reader, writer, _response = await open_raw_websocket(server.port)
            try:
                for text in texts:
                    mask = secrets.token_bytes(4)
                    what = _("text_frame(a {length:,}-byte text, mask)").format(length=len(text.encode()))
                    try:
                        frame = text_frame(text, mask)
                    except Exception as error:
                        raise NotYet(_("{what} raised {error}").format(what=what, error=describe(error))) from None
                    if not isinstance(frame, (bytes, bytearray)):
                        raise NotYet(_("{what} returned a {kind}; expected bytes").format(
                            what=what, kind=type(frame).__name__))
                    frame = bytes(frame)
                    mistake = _frame_mistake(frame, text, mask)
                    if mistake:
                        raise NotYet(_("{what} returned {start}…: {mistake}").format(
                            what=what, start=frame[:12].hex(" "), mistake=mistake))
                    if not frame[1] & 0x80 and (decode_frame(frame) or (0, 0, b"", 0))[3] != len(frame):
                        raise NotYet(_("{what} returned {start}…: the MASK bit (0x80 of the second byte) is not "
                                       "set, and the frame does not read whole without it either").format(
                            what=what, start=frame[:12].hex(" ")))
                    writer.write(frame)
                    _fin, opcode, payload, _end = decode_frame(await receive_frame(reader))
                    if opcode == CLOSE:
                        code = int.from_bytes(payload[:2], "big")
                        hint = ("" if frame[1] & 0x80 else "\n    " + _(
                            "(the MASK bit, 0x80 of the second byte, is not set: a client masks every frame, with "
                            "the key before the masked payload)"))
                        raise NotYet(_("the server refused {what}: it closed with {code} {reason!r}").format(
                            what=what, code=code, reason=payload[2:].decode()) + hint)
                    if payload != text.encode():
                        raise NotYet(_("the server echoed {start!r}… for {what}").format(start=payload[:20], what=what))
            finally:
                await _close_raw(reader, writer)
        return _("a websockets server echoed every frame you built: the three forms of the length, masked.")

    return await judge(conversation, _("the server did not echo within {seconds} s").format(seconds=judging.TIMEOUT))


# -- 08b: parsing a frame --------------------------------------------------------------------


@exercise
async def check_parse_frame(parse_frame: Callable[[bytes], Any]) -> Result:
    """Lesson 08b: ``parse_frame(data)`` returns ``(fin, opcode, payload)``, the payload unmasked.

    The check hands your function real frames: the ones the handmade server sends
    (a short, a 200-byte and a 70 000-byte text, a pong, a close), and the masked
    ones the ``websockets`` library writes as a client.

    A payload of the wrong length in a *masked* frame is tried again unmasked: if
    that one parses right, the length was read with the mask bit in it (the high
    bit of the second byte), and the hint says so rather than the one about 126 and 127.
    """
    from websockets.client import ClientProtocol
    from websockets.protocol import State
    from websockets.uri import parse_uri

    from ..frames import CLOSE, PING, TEXT, encode_frame, receive_frame

    def call(frame: bytes, what: str) -> Any:
        try:
            result = parse_frame(frame)
        except Exception as error:
            raise NotYet(_("parse_frame({what}) raised {error}").format(what=what, error=describe(error))) from None
        try:
            got_fin, got_opcode, got_payload = result
        except (TypeError, ValueError):
            raise NotYet(_("parse_frame({what}) returned {result!r}; expected (fin, opcode, payload)").format(
                what=what, result=result)) from None
        if not isinstance(got_payload, (bytes, bytearray)):
            raise NotYet(_("parse_frame({what}) returned a payload of type {kind}; expected bytes").format(
                what=what, kind=type(got_payload).__name__))
        return got_fin, got_opcode, bytes(got_payload)

    def reads_unmasked(fin: bool, opcode: int, payload: bytes) -> bool:
        """Whether parse_frame gets the same frame right when it is not masked."""
        try:
            return call(encode_frame(opcode, payload, fin=fin), "") == (fin, opcode, payload)
        except NotYet:
            return False

    def parsed(frame: bytes, what: str, fin: bool, opcode: int, payload: bytes) -> None:
        got_fin, got_opcode, got_payload = call(frame, what)
        if (got_fin, got_opcode) != (fin, opcode):
            raise NotYet(_("parse_frame({what}) said fin={got_fin!r}, opcode={got_opcode!r}; "
                           "expected fin={fin}, opcode={opcode:#x}").format(
                what=what, got_fin=got_fin, got_opcode=got_opcode, fin=fin, opcode=opcode))
        if got_payload != payload:
            masked = bool(frame[1] & 0x80)
            if len(got_payload) != len(payload):
                if masked and reads_unmasked(fin, opcode, payload):
                    said = _("parse_frame({what}) returned the payload {start!r}…: {got} bytes instead of "
                             "{expected}. The same frame unmasked parses right, so the length took in the MASK "
                             "bit: the high bit of the second byte says whether the frame is masked, and the "
                             "length is the low 7 bits, data[1] & 0x7F")
                else:
                    said = _("parse_frame({what}) returned the payload {start!r}…: {got} bytes instead of "
                             "{expected} (a length of 126 or 127 means the real length is in the next 2 or 8 bytes)")
            elif masked:
                said = _("parse_frame({what}) returned the payload {start!r}…: is it still masked? XOR byte i "
                         "with mask[i % 4]")
            else:
                said = _("parse_frame({what}) returned the payload {start!r}…")
            raise NotYet(said.format(what=what, start=got_payload[:20], got=len(got_payload), expected=len(payload)))

    async def conversation(crashes: Crashes) -> str:
        with start("handmade", name="check-handmade") as server:
            reader, writer, _response = await open_raw_websocket(server.port)
            try:
                mask = bytes([1, 2, 3, 4])
                for text in ["Hello", "two hundred bytes. " * 10 + "0123456789", "x" * 70_000]:
                    writer.write(encode_frame(TEXT, text.encode(), mask=mask))
                    frame = await receive_frame(reader)
                    parsed(frame, _("the server's frame of a {length:,}-byte text").format(length=len(text)),
                           True, 0x1, text.encode())
                writer.write(encode_frame(PING, b"are you there?", mask=mask))
                parsed(await receive_frame(reader), _("the server's pong"), True, 0xA, b"are you there?")
                writer.write(encode_frame(CLOSE, b"\x03\xe8bye", mask=mask))
                parsed(await receive_frame(reader), _("the server's close frame"), True, 0x8, b"\x03\xe8")
            finally:
                writer.close()
                await writer.wait_closed()
        client = ClientProtocol(parse_uri("ws://127.0.0.1/"), state=State.OPEN)  # as if after the handshake: we only want its frames
        for text in ["masked by websockets", "a longer text, masked too. " * 8]:
            client.send_text(text.encode())
            [frame] = client.data_to_send()
            parsed(frame, _("a masked client frame of {length} bytes").format(length=len(text)), True, 0x1,
                   text.encode())
        client.send_binary(b"part one, ", fin=False)
        [frame] = client.data_to_send()
        parsed(frame, _("the first fragment of a message"), False, 0x2, b"part one, ")
        return _("parse_frame reads every field: FIN, opcode, the three lengths, the mask.")

    return await judge(conversation, _("no frame came back within {seconds} s").format(seconds=judging.TIMEOUT))


# -- 08b: a server on websockets' Sans-I/O protocol --------------------------------------------


@exercise
async def check_sans_io_echo(on_data: Callable[[Any, bytes], Any]) -> Result:
    """Lesson 08b: ``on_data(protocol, data)`` gives a ``ServerProtocol`` the bytes that came, and answers its events.

    The check is the I/O around your function: a real server on a socket that,
    for each connection, makes a ``websockets.server.ServerProtocol()``, calls
    ``on_data(protocol, data)`` with every chunk it reads, and writes what
    ``protocol.data_to_send()`` then holds (ending its half of the connection
    when that is ``b""``). The real ``websockets`` client connects, sends texts
    (a short one, one outside ASCII, one of 70 000 bytes), pings, and closes with
    1000: each text must come back, and the close must be answered.

    The check also reads what the client sent, beside your function: when a whole
    handshake request or a whole text frame came and your function left nothing to
    send, it says so at once, rather than waiting for an answer that cannot come.
    """
    from websockets.protocol import State
    from websockets.server import ServerProtocol

    from ..frames import TEXT, decode_frame

    async def conversation(crashes: Crashes) -> str:
        yours = crashes.guard(on_data, "on_data", "on_data(protocol, data)")
        opening = _("the opening handshake")
        stage = [opening]
        unanswered: list[str] = []  # what came whole, and got nothing back from your on_data

        def whole_texts(buffer: bytearray) -> list[bytes]:
            """The text frames complete in ``buffer``, taken out of it (the client's, read beside yours)."""
            texts = []
            while (decoded := decode_frame(buffer)) is not None:
                _fin, opcode, payload, end = decoded
                del buffer[:end]
                if opcode == TEXT:
                    texts.append(payload)
            return texts

        async def serve_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            protocol = ServerProtocol()
            frames = bytearray()
            try:
                while True:
                    data = await reader.read(65536)
                    if data:
                        state = protocol.state
                        yours(protocol, data)
                        if state is State.OPEN:
                            frames += data
                            arrived = whole_texts(frames)
                        else:
                            arrived = [b"the request"] if data.endswith(b"\r\n\r\n") else []
                        sending = protocol.data_to_send()
                        if arrived and not any(sending):
                            unanswered.append(arrived[0].decode(errors="replace"))
                    else:
                        protocol.receive_eof()  # the client ended its half: the protocol's job, not yours
                        sending = protocol.data_to_send()
                    for outgoing in sending:
                        if outgoing:
                            writer.write(outgoing)
                        elif writer.can_write_eof():
                            writer.write_eof()
                    await writer.drain()
                    if not data:
                        return
            except Exception:
                return  # your on_data raised: crashes has noted it, and the verdict names it
            finally:
                writer.close()

        async def answered(awaitable: Any) -> Any:
            """Await the client's ``awaitable``, but stop as soon as your on_data raised or left something unanswered."""
            task = asyncio.ensure_future(crashes.race(awaitable))
            try:
                while not task.done():
                    if unanswered:
                        raise NotYet(_("your server got {stage} and sent nothing back: {hint}").format(
                            stage=stage[0], hint=hint()))
                    await asyncio.wait({task}, timeout=0.02)
                return task.result()
            finally:
                task.cancel()

        def hint() -> str:
            if stage[0] == opening:
                return _("answer the Request event: protocol.send_response(protocol.accept(request))")
            return _("send each text frame's data back: protocol.send_text(frame.data)")

        server = await asyncio.start_server(serve_one, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with asyncio.timeout(judging.TIMEOUT - 1):
                try:
                    websocket = await answered(
                        connect(f"ws://127.0.0.1:{port}/", proxy=None, open_timeout=None, close_timeout=1)
                    )
                    try:
                        for text in ["Hello", "é, 中文 and 🙂 are UTF-8 too", "x" * 70_000]:
                            stage[0] = _("a text of {length:,} bytes ({start!r}…)").format(
                                length=len(text.encode()), start=text[:10])
                            await websocket.send(text)
                            reply = await answered(websocket.recv())
                            if reply != text:
                                raise NotYet(_("your server answered {start!r}… to {stage}; expected it echoed").format(
                                    start=reply[:20], stage=stage[0]))
                        stage[0] = _("a ping (ServerProtocol answers it by itself, once it is given the bytes)")
                        await answered(await websocket.ping())
                        stage[0] = _("the close frame (ServerProtocol answers it by itself too)")
                    finally:
                        await websocket.close()
                    if websocket.close_code != 1000:
                        raise NotYet(_("the client's close ended with {code}, not 1000: "
                                       "was the close frame given to the protocol?").format(code=websocket.close_code))
                except InvalidHandshake as error:
                    raise NotYet(_("the websockets client's handshake failed: {error}. Answer the Request "
                                   "event with protocol.send_response(protocol.accept(request))").format(
                        error=describe(error))) from None
                except ConnectionClosed as closed:
                    raise NotYet(_("your server closed the connection during {stage} ({closed})").format(
                        stage=stage[0], closed=closed)) from None
        except TimeoutError:
            if crashes:
                raise NotYet(crashes.verdict()) from None
            raise NotYet(_("no answer to {stage} within {seconds} s: {hint}").format(
                stage=stage[0], seconds=judging.TIMEOUT - 1, hint=hint())) from None
        finally:
            server.close()
            await server.wait_closed()
        return _("your on_data and websockets' ServerProtocol echo texts, answer a ping and the closing "
                 "handshake, for the real websockets client.")

    return await judge(conversation)

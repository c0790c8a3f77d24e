"""Lessons 08a and 08b's checks accept a right answer and explain what is wrong with a wrong one.

Each check here talks to a real server (a ``websockets`` server, the handmade one, or
a server driven by the learner's Sans-I/O code) over real sockets.
"""

from __future__ import annotations

import base64
import hashlib

from websockets.frames import Frame, Opcode
from websockets.http11 import Request

from ws_course.exercises import (
    check_accept_key,
    check_client_frame,
    check_parse_frame,
    check_sans_io_echo,
)
from ws_course.frames import apply_mask, decode_frame, encode_frame

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


# -- 08a: Sec-WebSocket-Accept -------------------------------------------------------------------


def accept_key_right(key):
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


async def test_check_accept_key_accepts_the_rfc_recipe():
    result = await check_accept_key(accept_key_right)
    assert result and "for the RFC's key and for 3 random ones" in repr(result)


async def test_check_accept_key_names_each_slip():
    def no_guid(key):
        return base64.b64encode(hashlib.sha1(key.encode()).digest()).decode()

    def hex_digest(key):
        return hashlib.sha1((key + GUID).encode()).hexdigest()

    def bytes_not_str(key):
        return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest())

    def decoded_key(key):
        return base64.b64encode(hashlib.sha1(base64.b64decode(key) + GUID.encode()).digest()).decode()

    def raises(key):
        return base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()  # key is a str: no bytes + str

    def constant(key):
        return "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # right for the RFC's key only

    result = await check_accept_key(no_guid)
    assert "the websockets server answered Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in repr(result)
    assert "append the GUID to the key before hashing" in repr(result)
    assert "take .digest() (the 20 bytes)" in repr(await check_accept_key(hex_digest))
    assert "that is bytes: return a str" in repr(await check_accept_key(bytes_not_str))
    assert "its base64 text, not to the bytes it decodes to" in repr(await check_accept_key(decoded_key))
    result = await check_accept_key(raises)
    assert "raised TypeError" in repr(result) and "of your code: return base64.b64encode(hashlib.sha1(key + GUID)" in repr(result)
    result = await check_accept_key(constant)
    assert not result and "accept_key('dGhlIHNhbXBsZSBub25jZQ==')" not in repr(result)  # a random key caught it


# -- 08a: a client's frame --------------------------------------------------------------------------


def text_frame_right(text, mask):
    payload = text.encode()
    if len(payload) < 126:
        header = bytes([0x81, 0x80 | len(payload)])
    elif len(payload) < 2**16:
        header = bytes([0x81, 0x80 | 126]) + len(payload).to_bytes(2, "big")
    else:
        header = bytes([0x81, 0x80 | 127]) + len(payload).to_bytes(8, "big")
    return header + mask + bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))


async def test_check_client_frame_accepts_frames_a_websockets_server_echoes():
    result = await check_client_frame(text_frame_right)
    assert result and "a websockets server echoed every frame you built" in repr(result)
    assert await check_client_frame(lambda text, mask: encode_frame(0x1, text.encode(), mask=mask))


async def test_check_client_frame_explains_a_frame_that_is_wrong():
    def unmasked(text, mask):
        return encode_frame(0x1, text.encode())

    def short_lengths_only(text, mask):
        payload = text.encode()
        return bytes([0x81, 0x80 | (len(payload) & 0x7F)]) + mask + apply_mask(payload, mask)

    def no_64_bit_lengths(text, mask):
        frame = text_frame_right(text, mask)
        if len(text) > 65535:
            return bytes([0x81, 0x80 | 126]) + (len(text) % 65536).to_bytes(2, "big") + frame[10:]
        return frame

    def mask_not_applied(text, mask):
        frame = text_frame_right(text, mask)
        return frame[: len(frame) - len(text.encode())] + text.encode()

    def no_fin(text, mask):
        frame = text_frame_right(text, mask)
        return bytes([frame[0] & 0x7F]) + frame[1:]

    def its_own_key(text, mask):
        return text_frame_right(text, b"\x01\x02\x03\x04")

    def characters_not_bytes(text, mask):  # len(text) where len(text.encode()) belongs
        frame = text_frame_right(text, mask)
        payload = text.encode()
        if len(payload) == len(text):
            return frame
        return bytes([0x81, 0x80 | len(text)]) + frame[2:]

    def returns_str(text, mask):
        return text_frame_right(text, mask).hex()

    result = await check_client_frame(unmasked)
    assert "the server refused text_frame(a 5-byte text, mask): it closed with 1002 'incorrect masking'" in repr(result)
    assert "the MASK bit, 0x80 of the second byte, is not set" in repr(result)
    result = await check_client_frame(short_lengths_only)
    assert "text_frame(a 200-byte text, mask)" in repr(result)
    assert "the 7 bits say 126, then the length in 2 bytes" in repr(result)
    result = await check_client_frame(no_64_bit_lengths)
    assert "a 70,000-byte text" in repr(result) and "the 7 bits say 127, then the length in 8 bytes" in repr(result)
    assert "the payload is not masked: XOR byte i with mask[i % 4]" in repr(await check_client_frame(mask_not_applied))
    assert "the FIN bit (0x80 of the first byte) is not set" in repr(await check_client_frame(no_fin))
    assert "not the masking key you were given" in repr(await check_client_frame(its_own_key))
    result = await check_client_frame(characters_not_bytes)
    assert "for 33 bytes of payload its length field says 25" in repr(result)
    assert "returned a str; expected bytes" in repr(await check_client_frame(returns_str))


# -- 08b: parsing a frame ----------------------------------------------------------------------------


def parse_frame_right(data):
    fin, opcode, payload, _ = decode_frame(data)
    return fin, opcode, payload


async def test_check_parse_frame_accepts_a_parser():
    result = await check_parse_frame(parse_frame_right)
    assert result and "parse_frame reads every field" in repr(result)


async def test_check_parse_frame_explains_what_is_wrong():
    def short_lengths_only(data):
        return bool(data[0] & 0x80), data[0] & 0x0F, data[2 : 2 + (data[1] & 0x7F)]

    def ignores_the_mask(data):
        fin, opcode, payload = parse_frame_right(data)
        if data[1] & 0x80:
            start = len(data) - len(payload)
            return fin, opcode, data[start:]
        return fin, opcode, payload

    def no_64_bit_lengths(data):
        if data[1] & 0x7F == 127:
            raise ValueError("too long for me")
        return parse_frame_right(data)

    def text_not_bytes(data):
        fin, opcode, payload = parse_frame_right(data)
        return fin, opcode, payload.decode(errors="replace")

    def ignores_fin(data):
        _, opcode, payload = parse_frame_right(data)
        return True, opcode, payload

    result = await check_parse_frame(short_lengths_only)
    assert "200-byte text) returned the payload" in repr(result)
    assert "126 bytes instead of 200 (a length of 126 or 127 means" in repr(result)
    assert "is it still masked? XOR byte i with mask[i % 4]" in repr(await check_parse_frame(ignores_the_mask))
    result = await check_parse_frame(no_64_bit_lengths)
    assert "70,000-byte text) raised ValueError: too long for me" in repr(result)
    assert 'of your code: raise ValueError("too long for me")' in repr(result)
    assert "a payload of type str; expected bytes" in repr(await check_parse_frame(text_not_bytes))
    result = await check_parse_frame(ignores_fin)
    assert "the first fragment of a message) said fin=True" in repr(result)


async def test_check_parse_frame_says_the_mask_bit_when_the_length_keeps_it():
    """Issue 17: the lesson's solution without ``& 0x7F`` on the length byte. The server's frames are
    not masked, so it reads them right; the masked client frames have the high bit set, and the hint is
    about that bit, not about the 126/127 forms (which this parser handles)."""

    def length_keeps_the_mask_bit(data):
        fin = bool(data[0] & 0x80)
        opcode = data[0] & 0x0F
        masked = bool(data[1] & 0x80)
        length = data[1]  # the slip: data[1] & 0x7F
        offset = 2
        if length == 126:
            length, offset = int.from_bytes(data[2:4], "big"), 4
        elif length == 127:
            length, offset = int.from_bytes(data[2:10], "big"), 10
        if masked:
            mask = data[offset : offset + 4]
            offset += 4
            return fin, opcode, bytes(byte ^ mask[i % 4] for i, byte in enumerate(data[offset : offset + length]))
        return fin, opcode, data[offset : offset + length]

    result = await check_parse_frame(length_keeps_the_mask_bit)
    assert not result
    assert "a masked client frame of 216 bytes" in repr(result)
    assert "the length took in the MASK bit: the high bit of the second byte" in repr(result)
    assert "data[1] & 0x7F" in repr(result)
    assert "a length of 126 or 127" not in repr(result)


# -- 08b: a server on websockets' Sans-I/O protocol ----------------------------------------------------


def on_data_right(protocol, data):
    protocol.receive_data(data)
    for event in protocol.events_received():
        if isinstance(event, Request):
            protocol.send_response(protocol.accept(event))
        elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
            protocol.send_text(event.data)


async def test_check_sans_io_echo_accepts_an_echo_on_the_protocol():
    result = await check_sans_io_echo(on_data_right)
    assert result and "echo texts, answer a ping and the closing handshake" in repr(result)


async def test_check_sans_io_echo_explains_what_is_missing():
    def handshake_only(protocol, data):  # the lesson's starting code
        protocol.receive_data(data)
        for event in protocol.events_received():
            if isinstance(event, Request):
                protocol.send_response(protocol.accept(event))

    def never_accepts(protocol, data):
        protocol.receive_data(data)

    def rejects(protocol, data):
        protocol.receive_data(data)
        for event in protocol.events_received():
            if isinstance(event, Request):
                protocol.send_response(protocol.reject(403, "no\n"))

    def shouts(protocol, data):
        protocol.receive_data(data)
        for event in protocol.events_received():
            if isinstance(event, Request):
                protocol.send_response(protocol.accept(event))
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                protocol.send_text(event.data.upper())

    def crashes(protocol, data):
        protocol.receive_data(data)
        for event in protocol.events_received():
            if isinstance(event, Request):
                protocol.send_response(protocol.accept(event))
            else:
                protocol.send_text(event.text)  # a Frame has no .text

    result = await check_sans_io_echo(handshake_only)
    assert "your server got a text of 5 bytes ('Hello'…) and sent nothing back" in repr(result)
    assert "protocol.send_text(frame.data)" in repr(result)
    result = await check_sans_io_echo(never_accepts)
    assert "your server got the opening handshake and sent nothing back" in repr(result)
    assert "protocol.send_response(protocol.accept(request))" in repr(result)
    result = await check_sans_io_echo(rejects)
    assert "the websockets client's handshake failed" in repr(result) and "HTTP 403" in repr(result)
    assert "your server answered 'HELLO'… to a text of 5 bytes" in repr(await check_sans_io_echo(shouts))
    result = await check_sans_io_echo(crashes)
    assert "your on_data raised AttributeError" in repr(result)
    assert "of your code: protocol.send_text(event.text)" in repr(result)

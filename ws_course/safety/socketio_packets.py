"""What a Socket.IO server must never trust in a packet.

A Socket.IO packet is text a client wrote: ``42["message","hi"]`` is an event
named ``message`` with the argument ``"hi"``. python-socketio 5.18 decodes it and
acts on it, but it believes too much of it:

- **Reserved event names.** A client that emits an event named ``connect`` makes
  python-socketio run the server's ``connect`` handler again (the room hears
  ``user13 comes in``, and the sender gets a new nickname); ``disconnect`` makes
  the room hear ``user14 left`` while it is still there. Node's Socket.IO refuses
  these names (:data:`RESERVED_EVENTS`, from ``socket.io-parser``); so do we.
- **Binary attachments.** ``451-[...]`` announces one binary attachment to come
  in the next frames; a client can announce 10^9 and then send 60 KB frames for
  as long as it likes: the server keeps them all, waiting for the rest. At most
  :data:`MAX_ATTACHMENTS` (Node's limit too), and at most the server's message
  size for all of them together.
- **JSON nested 100 000 deep** (``[[[[...]]]]``, 200 KB) makes Python's ``json``
  raise :exc:`RecursionError`, which nobody expects: a traceback in the log.
  :class:`SafeJSON` turns it into :exc:`ValueError`, which means "bad input".

A packet that breaks a rule raises :exc:`MalformedPacket`;
:mod:`ws_course.safety.socketio_guard` then logs one line and disconnects its sender,
as Node's server does, and the rest of the room carries on.
"""

from __future__ import annotations

import json
from typing import Any

from socketio import packet as sio_packet

# Beyond python-socketio's documented API: Packet.decode and add_attachment overridden, its fields (see ws_course.contract).

#: Event names a client may not use: they mean something to the server itself.
RESERVED_EVENTS = frozenset({"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"})

#: At most this many binary attachments in one event (socket.io-parser's ``maxAttachments``).
MAX_ATTACHMENTS = 10


class MalformedPacket(ValueError):
    """A client sent a Socket.IO packet that breaks the protocol's rules."""


class SafeJSON:
    """The :mod:`json` module, except that ``loads`` refuses JSON nested too deep with :exc:`ValueError`.

    Give it to python-socketio as ``AsyncServer(json=SafeJSON)``. (python-socketio
    hands it to Engine.IO too, which sets it on Engine.IO's packet class for the
    whole process: harmless, since only the error's type changes.)
    """

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        return json.dumps(obj, **kwargs)

    @staticmethod
    def loads(text: str | bytes, **kwargs: Any) -> Any:
        try:
            return json.loads(text, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


class CheckedPacket(sio_packet.Packet):
    """A Socket.IO packet that refuses what :mod:`this module <ws_course.safety.socketio_packets>` describes.

    Give a subclass of it to python-socketio as ``AsyncServer(serializer=...)``
    (:func:`packet_class` makes one per server, since each has its own size limit).
    """

    json = SafeJSON
    #: All attachments of one event together, in bytes (set per server).
    max_attachment_bytes = 1_000_000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.attachment_bytes = 0
        super().__init__(*args, **kwargs)

    def decode(self, encoded_packet: str | bytes) -> int:
        if not isinstance(encoded_packet, str):
            raise MalformedPacket("a binary frame that is no event's attachment")
        try:
            attachments = super().decode(encoded_packet) or 0
        except Exception as error:  # whatever the parser tripped on, it is the client's doing
            raise MalformedPacket(f"cannot decode {encoded_packet[:20]!r}...: {error}") from None
        if attachments > MAX_ATTACHMENTS:
            raise MalformedPacket(f"{attachments} binary attachments announced; at most {MAX_ATTACHMENTS}")
        self.check_payload()
        return attachments

    def check_payload(self) -> None:
        """Check the decoded data's shape for the packet's type, as Node's ``socket.io-parser`` does."""
        kind, data = self.packet_type, self.data
        if kind in (sio_packet.EVENT, sio_packet.BINARY_EVENT):
            if not isinstance(data, list) or not data:
                raise MalformedPacket("an event must be a list that starts with its name")
            name = data[0]
            if isinstance(name, str):
                if name in RESERVED_EVENTS:
                    raise MalformedPacket(f"the event name {name!r} is reserved")
            elif isinstance(name, bool) or not isinstance(name, (int, float)):
                raise MalformedPacket(f"an event name must be a string, not {type(name).__name__}")
        elif kind in (sio_packet.ACK, sio_packet.BINARY_ACK):
            if not isinstance(data, list):
                raise MalformedPacket("an acknowledgement must carry a list")
        elif kind == sio_packet.CONNECT:
            if data is not None and not isinstance(data, dict):
                raise MalformedPacket("a connect packet's data must be an object")
        elif kind == sio_packet.DISCONNECT:
            if data is not None:
                raise MalformedPacket("a disconnect packet carries no data")
        elif kind != sio_packet.CONNECT_ERROR:
            raise MalformedPacket(f"unknown packet type {kind!r}")

    def add_attachment(self, attachment: Any) -> bool:
        if not isinstance(attachment, (bytes, bytearray)):
            raise MalformedPacket("text where a binary attachment was expected")
        if len(self.attachments) >= self.attachment_count:
            raise MalformedPacket("an attachment that no event announced")
        self.attachment_bytes += len(attachment)
        if self.attachment_bytes > self.max_attachment_bytes:
            raise MalformedPacket(f"attachments over {self.max_attachment_bytes} bytes in all")
        return super().add_attachment(attachment)


def packet_class(max_attachment_bytes: int = CheckedPacket.max_attachment_bytes) -> type[CheckedPacket]:
    """A :class:`CheckedPacket` class of its own for one server, with its attachment limit."""
    return type("CheckedPacket", (CheckedPacket,), {"max_attachment_bytes": max_attachment_bytes})

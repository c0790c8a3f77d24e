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
- **The number of arguments.** python-socketio calls an event's handler with the
  arguments the packet carries: ``42["message"]`` (none) or ``42["message","a","b"]``
  (two) make ``message(sid, text)`` raise :exc:`TypeError` in a task of its own,
  a 13-line traceback ("Task exception was never retrieved") for every such
  packet, and the sender stays connected. An event must fit its handler
  (:meth:`CheckedPacket.check_arguments`).

A packet that breaks a rule raises :exc:`MalformedPacket`;
:mod:`ws_course.safety.socketio_guard` then logs one line and disconnects its sender,
as Node's server does, and the rest of the room carries on.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

from socketio import packet as sio_packet

# Beyond python-socketio's documented API: Packet.decode and add_attachment overridden, its fields; the server's
# handlers and reserved_events, looked up in the order of its _get_event_handler (see ws_course.contract).

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
    #: The server whose event handlers an event's arguments must fit (set per server).
    server: Any = None

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
        if self.packet_type in (sio_packet.EVENT, sio_packet.BINARY_EVENT):
            self.check_arguments()
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

    def check_arguments(self) -> None:
        """An event must carry as many arguments as its handler takes (after ``sid``).

        An event no handler takes is left alone: python-socketio ignores it.
        """
        if self.server is None:
            return
        name, arguments = self.data[0], self.data[1:]
        handler, before = event_handler(self.server, name, self.namespace or "/")
        if handler is None:
            return
        least, most = self._arity(handler)
        if not least <= before + len(arguments) <= most:
            least, most = least - before, most - before
            takes = f"{least}" if least == most else f"at least {least}" if most == INFINITY else f"{least} to {most}"
            raise MalformedPacket(
                f"the event {name!r} takes {takes} argument{'' if takes == '1' else 's'}, not {len(arguments)} "
                f"(its handler: {describe(handler)})"
            )

    _arities: dict[Any, tuple[float, float]] = {}  # each handler's (set per server: they go with it)

    def _arity(self, handler: Any) -> tuple[float, float]:
        try:
            return self._arities[handler]
        except KeyError:
            found = self._arities[handler] = arity(handler)
            return found

    def add_attachment(self, attachment: Any) -> bool:
        if not isinstance(attachment, (bytes, bytearray)):
            raise MalformedPacket("text where a binary attachment was expected")
        if len(self.attachments) >= self.attachment_count:
            raise MalformedPacket("an attachment that no event announced")
        self.attachment_bytes += len(attachment)
        if self.attachment_bytes > self.max_attachment_bytes:
            raise MalformedPacket(f"attachments over {self.max_attachment_bytes} bytes in all")
        return super().add_attachment(attachment)


INFINITY = float("inf")


def event_handler(server: Any, event: Any, namespace: str) -> tuple[Any, int]:
    """The handler python-socketio calls for ``event``, and how many arguments it gets before the event's own.

    The same look-up, in the same order, as python-socketio 5.18's: the
    namespace's handler for the event, then its catch-all ``"*"`` handler (which
    also gets the event's name), then those of the catch-all namespace (which
    also get the namespace). Every handler gets ``sid`` first.
    """
    handlers, reserved = server.handlers, server.reserved_events
    for space, extra in ((namespace, 0), ("*", 1)):
        found = handlers.get(space, {})
        if event in found:
            return found[event], 1 + extra
        if event not in reserved and "*" in found:
            return found["*"], 2 + extra
    return None, 0


def arity(function: Any) -> tuple[float, float]:
    """How many positional arguments ``function`` takes: (at least, at most), at most ``inf`` with ``*args``.

    Its own signature: a wrapper's ``(*args, **kwargs)`` takes anything, whatever
    it wraps (the exercises' judge wraps a learner's handler so, to report what it raises).
    """
    try:
        parameters = inspect.signature(function, follow_wrapped=False).parameters.values()
    except (TypeError, ValueError):  # no signature to read: take anything
        return (0, INFINITY)
    least, most = 0, 0
    for parameter in parameters:
        if parameter.kind is parameter.VAR_POSITIONAL:
            most = INFINITY
        elif parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            most += 1
            if parameter.default is parameter.empty:
                least += 1
    return (least, most)


def describe(function: Any) -> str:
    """``message(sid, text)``: a handler's name and parameters, to say in a log line."""
    try:
        return f"{getattr(function, '__name__', 'handler')}{inspect.signature(function, follow_wrapped=False)}"
    except (TypeError, ValueError):
        return repr(function)


def packet_class(max_attachment_bytes: int = CheckedPacket.max_attachment_bytes, server: Any = None) -> type[CheckedPacket]:
    """A :class:`CheckedPacket` class of its own for one server, with its attachment limit and its handlers."""
    return type(
        "CheckedPacket", (CheckedPacket,), {"max_attachment_bytes": max_attachment_bytes, "server": server, "_arities": {}}
    )

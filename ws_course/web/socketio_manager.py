"""A python-socketio client manager that sends a room's message to each member in turn.

``socketio.AsyncManager.emit()`` sends an event to a room by starting an asyncio
task for each member, then waiting for them all. A task costs far more than what
it does here: it hands one packet to the member's Engine.IO queue, which never
waits (the course's queues never block: see :class:`ws_course.safety.socketio_guard.Outbox`).
Profiled under the event chat's load, creating those tasks was the largest single
item of the server's Python time (19 % of samples: ``benchmarks/node_vs_python.py
--profile event-chat``).

:class:`EmitInTurn` hands the packet to each member in a plain loop instead, and
goes on past a member that cannot take it (one that just vanished), as the tasks
did. Messages that wait for an acknowledgement (``callback=``) keep the library's
own path. Every course Socket.IO server uses it (:class:`ws_course.web.socketio_app.SocketIOServer`),
and so does the Redis manager of lesson 09, through its ``super().emit()``.
"""

from __future__ import annotations

import socketio
from engineio import packet as eio_packet
from socketio import packet

# Beyond python-socketio's documented API: AsyncManager.emit overridden, server.eio, packet_class, _get_logger (see ws_course.contract).


class EmitInTurn(socketio.AsyncManager):
    """``socketio.AsyncManager`` whose :meth:`emit` sends to a room's members in a loop, not a task each."""

    async def start(self) -> None:
        """Called before the server listens: nothing to do in one process (a room shared through Redis joins it)."""

    async def aclose(self) -> None:
        """Called when the server has stopped: nothing to do in one process (a shared room leaves Redis)."""

    async def emit(self, event, data, namespace, room=None, skip_sid=None, callback=None, to=None, **kwargs):
        if callback is not None or namespace not in self.get_namespaces():
            return await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback,
                                      to=to, **kwargs)
        # As the library does: a tuple is several arguments, anything else one.
        data = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        # Encoded once for the whole room (the library does this too).
        encoded = self.server.packet_class(packet.EVENT, namespace=namespace, data=[event, *data]).encode()
        packets = [eio_packet.Packet(eio_packet.MESSAGE, part)
                   for part in (encoded if isinstance(encoded, list) else [encoded])]
        for sid, eio_sid in list(self.get_participants(namespace, to or room)):
            if sid in skip:
                continue
            for eio_pkt in packets:
                try:
                    await self.server.eio.send_packet(eio_sid, eio_pkt)
                except Exception as error:  # a member gone mid-broadcast: the others still get it
                    self._get_logger().warning("could not send to %s: %r", sid, error)
                    break

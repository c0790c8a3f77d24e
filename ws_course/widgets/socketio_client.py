"""A member of the Socket.IO event chat (demo 5), as a widget.

:class:`EventChatClient` speaks events with python-socketio's ``AsyncClient``:
it emits ``message`` with what you type, and shows the room's ``enter`` (blue),
``mes`` and ``leave`` (red) events, as the article's Socket.IO page does. Each
received event is a message ``(event, data)``::

    member = EventChatClient(server.page_url)
    await member.opened()
    await member.next_message()        # ('enter', 'user1 comes in')

Several side by side: ``await ChatRoomView.join(server.page_url, client=EventChatClient)``.
"""

from __future__ import annotations

import html
from typing import Any

import socketio

from ..language import _
from .chat_client import TYPE_COLOURS, learn_nickname
from .client import ClientWidget, shorten

__all__ = ["EventChatClient"]

#: The events of the room, and how the widget shows them.
ROOM_EVENTS = ("enter", "mes", "leave", "refused")


class EventChatClient(ClientWidget):
    """One member of the Socket.IO chat room.

    Args:
        url: The server's address, ``http://host:port/`` (Socket.IO starts over HTTP).
        transports: ``["websocket"]``, ``["polling"]``, or None for Socket.IO's
            default: long-polling first, then an upgrade to a WebSocket.

    Attributes:
        nickname: The nickname the server gave this member (``None`` until known).
    """

    def __init__(self, url: str, *, transports: list[str] | None = None) -> None:
        self.transports = transports
        self.nickname: str | None = None
        # handle_sigint=False: the client must not take over the kernel's Ctrl-C.
        # reconnection=False: a widget that reconnected would come back as a new member.
        self._sio = socketio.AsyncClient(handle_sigint=False, reconnection=False)
        for event in ROOM_EVENTS:
            self._sio.on(event, self._receiver(event))
        self._sio.on("disconnect", self._on_disconnect)
        super().__init__(url, title=_("(joining)"))
        self.text.width = "12em"

    def _receiver(self, event: str):
        async def receive(data: Any) -> None:
            self._record("message", (event, data))

        return receive

    async def _run(self) -> None:
        try:
            await self._sio.connect(self.url, transports=self.transports, wait_timeout=10)
        except socketio.exceptions.ConnectionError as exc:
            self._record("error", _("cannot connect to {url}: {error}").format(url=self.url, error=exc))
            self._ended(_("connect failed"))
            return
        self._set_state("OPEN")
        self._record("open", None)

    async def _on_disconnect(self, reason: str = "") -> None:
        self._ended(reason)

    async def _transmit(self, message: Any) -> None:
        await self._sio.emit("message", message)

    def close(self) -> None:
        """Disconnect, like the page's ``socket.disconnect()``."""
        if self.ready_state in ("CLOSING", "CLOSED"):
            return
        self._set_state("CLOSING")
        self._spawn(self._sio.disconnect())

    def text_of(self, message: tuple[str, Any]) -> str:
        """What an event from the room says, as a person reads it: its data."""
        return str(message[1])

    def _record(self, kind: str, data: Any) -> None:
        if kind == "message" and data[0] == "enter":
            learn_nickname(self, str(data[1]))
        super()._record(kind, data)

    def render(self, kind: str, data: Any) -> str:
        if kind == "close":
            # Socket.IO's own reason (client disconnect, io server disconnect...) as it gives it, as the page does
            said = _("disconnected ({reason})").format(reason=data)
            return f"<div style='color: #888'>{html.escape(said)}</div>"
        if kind == "error":
            return super().render(kind, data)
        if kind != "message":
            return ""  # like the page: what the room says, not this client's own actions
        event, payload = data
        colour = {**TYPE_COLOURS, "refused": "#c00"}.get(event, "inherit")
        # html.escape: whatever a member typed is shown as text, never run as HTML.
        return f"<div style='color: {colour}'>{html.escape(shorten(str(payload)))}</div>"

    def __repr__(self) -> str:
        return f"EventChatClient({self.url!r}, nickname={self.nickname!r})"

"""The clients a learner clicks in a notebook: ipywidgets that talk to the servers.

- :class:`WebSocketClient` (:mod:`~ws_course.widgets.client`): the browser's
  WebSocket API as a widget, with a text box, Send and Close;
- :class:`ChatClient` and :class:`ChatRoomView` (:mod:`~ws_course.widgets.chat_client`):
  a chat member, and several side by side;
- :class:`EventChatClient` (:mod:`~ws_course.widgets.socketio_client`): a member
  of the Socket.IO event chat;
- :class:`~ws_course.widgets.message_box.MessageBox`: their text box and Send
  button, whose browser side sends the text with Enter or Send (nothing typed is lost).

``from ws_course.widgets import WebSocketClient`` finds each of them; the
Socket.IO client is imported only when it is asked for.
"""

from __future__ import annotations

from typing import Any

from .chat_client import ChatClient, ChatRoomView
from .client import WebSocketClient, open_clients

__all__ = ["ChatClient", "ChatRoomView", "EventChatClient", "WebSocketClient", "open_clients"]


def __getattr__(name: str) -> Any:
    if name == "EventChatClient":  # python-socketio is imported only by the lessons that use it
        from .socketio_client import EventChatClient

        return EventChatClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

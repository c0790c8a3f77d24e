"""Chat room members as widgets: the chat pages of demos 3 and 4, inside a notebook.

:class:`ChatClient` is one member: a :class:`~ws_course.widgets.client.WebSocketClient`
whose log shows what the room says, one line per message, as the chat page does
(with ``json=True``, it reads demo 4's JSON and shows ``enter`` in blue and
``leave`` in red). :class:`ChatRoomView` puts several members side by side, so you
can type as any of them and watch each message reach everyone::

    room = await ChatRoomView.join(server.ws_url, users=3)
    room
    room.users[0].send("hello")
    await room.users[2].next_message()      # 'hello'
"""

from __future__ import annotations

import functools
import html
import json
import re
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from ..language import _
from .client import WebSocketClient, shorten

__all__ = ["ChatClient", "ChatRoomView"]

#: Colours of the JSON chat's message types, as in the article's page.
TYPE_COLOURS = {"enter": "blue", "leave": "red"}


def learn_nickname(member: Any, text: str) -> None:
    """If ``text`` is an arrival, ``userN comes in``, and ``member`` has no nickname yet, it is its own.

    A new member's first message is always its own arrival: the server adds it to
    the room, then tells everyone in the room, the newcomer included.
    """
    joined = re.fullmatch(r"(\S+) comes in", text)
    if member.nickname is None and joined:
        member.nickname = joined[1]
        member.title.value = f"<b>{html.escape(member.nickname)}</b>"


class ChatClient(WebSocketClient):
    """One member of a chat room, as a widget.

    Args:
        url: The chat server's address.
        json: True for the JSON chat room (demo 4), whose messages are JSON objects.
        headers: More HTTP headers for the opening handshake (see
            :class:`~ws_course.widgets.client.WebSocketClient`).

    Attributes:
        nickname: The nickname the server gave this member (``None`` until known).
            A new member's first message is always its own ``userN comes in``.
    """

    def __init__(self, url: str, *, json: bool = False, headers: dict[str, str] | None = None) -> None:
        self.json = json
        self.nickname: str | None = None
        super().__init__(url, title=_("(joining)"), headers=headers)
        self.text.width = "12em"

    def text_of(self, message: str) -> str:
        """What a message from the room says, as a person reads it (the JSON's ``data``)."""
        return self.line(message)[0]

    def line(self, message: str) -> tuple[str, str]:
        """``(text, type)`` of a message from the room: the JSON's data and type, or the text itself."""
        if not self.json:
            return message, "message"
        try:
            parsed = json.loads(message)
            return str(parsed["data"]), str(parsed["type"])
        except (ValueError, KeyError, TypeError):
            return _("(not the room's JSON) {message}").format(message=message), "error"

    def _record(self, kind: str, data: Any) -> None:
        if kind == "message" and isinstance(data, str):
            learn_nickname(self, self.line(data)[0])
        super()._record(kind, data)

    def render(self, kind: str, data: Any) -> str:
        if kind in ("error", "close"):
            return super().render(kind, data)
        if kind != "message":
            return ""  # like the chat page: what the room says, not this client's own actions
        text, type_ = self.line(data) if isinstance(data, str) else (repr(data), "message")
        colour = TYPE_COLOURS.get(type_, "inherit")
        # html.escape: whatever a member typed is shown as text, never run as HTML.
        return f"<div style='color: {colour}'>{html.escape(shorten(text))}</div>"

    def __repr__(self) -> str:
        return f"ChatClient({self.url!r}, nickname={self.nickname!r})"


class ChatRoomView:
    """Several members of one chat room, side by side, each with its own connection.

    Create it with :meth:`join`, which connects the members one after the other, so
    that they get their nicknames in order (``user1`` first).
    """

    def __init__(self, users: list[Any]) -> None:
        self.users = users
        for user in users:  # side by side, each in a box of its own
            user.view.layout = widgets.Layout(flex="1 1 0", border="1px solid #ddd", padding="4px", margin="2px")
        self.view = widgets.HBox([user.view for user in users])

    @classmethod
    async def join(
        cls, url: str | list[str], users: int = 3, *, json: bool = False, client: Callable[[str], Any] | None = None
    ) -> ChatRoomView:
        """Connect ``users`` members to the chat room at ``url``, one after the other.

        ``url`` may also be a list of addresses, one member each: a room shared by
        several servers (lesson 09), ``join([first.ws_url, second.ws_url])``.
        Members are :class:`ChatClient` widgets (reading JSON with ``json=True``), or
        whatever ``client(url)`` makes: ``client=EventChatClient`` for Socket.IO.
        """
        make = client or functools.partial(ChatClient, json=json)
        members: list[Any] = []
        for member_url in [url] * users if isinstance(url, str) else url:
            member = make(member_url)
            await member.opened()
            # A newcomer's first message is always its own arrival: it tells its nickname.
            await member.next_message()
            # Wait until everyone already here has heard it. Wait for *that* arrival,
            # not for "the next message": someone else may be in the room too (a
            # browser tab, say) and say things in between.
            arrival = f"{member.nickname} comes in"
            for earlier in members:
                await earlier.wait_for_message(lambda message, earlier=earlier: earlier.text_of(message) == arrival)
            members.append(member)
        return cls(members)

    def close(self) -> None:
        """Every member leaves the room."""
        for user in self.users:
            user.close()

    async def closed(self) -> None:
        """Wait until every member has left."""
        for user in self.users:
            await user.closed()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.view._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        return f"ChatRoomView({[user.nickname for user in self.users]})"

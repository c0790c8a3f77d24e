"""A chat room the teacher moderates: :class:`Moderated`, a mixin for :class:`~ws_course.chat.ChatRoom`.

The demo rooms (:mod:`ws_course.chat`, :mod:`ws_course.json_chat`) stay as the
lessons show them. Moderation comes from outside, by subclassing: ``Moderated``
goes *before* the room class, and its ``arrive``, ``receive``, ``depart`` and
``tell_everyone`` consult a :class:`~ws_course.classroom.roster.Roster` and then
call the room's own::

    class ModeratedChatRoom(Moderated, ChatRoom): ...        # ws-course serve chat
    class ModeratedJSONChatRoom(Moderated, JSONChatRoom): ...  # ws-course serve json-chat
    class HubChatRoom(Moderated, JSONChatRoom):                # the hub's class room (ws_course.hub.room)
        def arrive(self, websocket, nickname):                  # not user3: the hub user name
            super().arrive(websocket, websocket.hub_identity.name)
        def ban_identifiers(self, connection): return (connection.hub_identity.name,)

What it changes:

- a member may have several connections (on the hub: a page and a widget). The
  room says ``alice comes in`` for the first and ``alice left`` after the last; the
  others come and go silently (each hears its own ``alice comes in``, to itself only:
  a widget learns its name so);
- a message from a muted member, or beyond the rate limit, is not passed on, and
  the sender alone is told why, in the room's own format (:meth:`Moderated.notice`:
  plain text in ``chat``, ``{"type":"notice","data":"..."}`` in ``json-chat``);
- :meth:`Moderated.kick` closes a member's connections with 1008 ("removed by the
  teacher") and bans them; :meth:`Moderated.refusal`, called from the server's
  ``process_request``, answers a banned newcomer's handshake with HTTP 403;
- everything the room says to everyone is kept in the roster's history (for the
  big screen), and every message is one line in the log (who said what).

The hooks a subclass may change: :meth:`~Moderated.member_key`,
:meth:`~Moderated.connection_kind`, :meth:`~Moderated.address`,
:meth:`~Moderated.ban_identifiers`. ``receive`` must stay a plain ``def`` in the
room below (``ChatRoom``'s is).
"""

from __future__ import annotations

import asyncio
import http
import json
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.frames import CloseCode
from websockets.http11 import Request, Response
from websockets.protocol import State

from ..broadcast import broadcast
from ..chat import ChatRoom
from ..json_chat import JSONChatRoom, to_json
from .roster import Ban, Roster

__all__ = ["KICKED", "Moderated", "ModeratedChatRoom", "ModeratedJSONChatRoom", "kept_out"]

#: The close reason a kicked member's connections get (with code 1008, policy violation).
KICKED = "removed by the teacher"


class Moderated:
    """Mixin: moderation for a :class:`~ws_course.chat.ChatRoom` (see the module's documentation).

    Args:
        roster: The room's :class:`~ws_course.classroom.roster.Roster` (a new one by default).
    """

    roster: Roster

    def __init__(self, *args: Any, roster: Roster | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.roster = roster if roster is not None else Roster()
        self.speaking: tuple[str, str] | None = None  # what tell_everyone() is saying now: (kind, member key)
        self.announced: dict[str, str] = {}  # member key -> the nickname their "comes in" was said with

    # -- hooks: who is it? -------------------------------------------------------------

    def member_key(self, websocket: ServerConnection, nickname: str) -> str:
        """The member a new connection belongs to: here its nickname (``user3``), one member per connection."""
        return nickname

    def connection_kind(self, websocket: ServerConnection) -> str:
        """``"page"`` (a browser: it sends ``Origin``) or ``"program"``; the hub's room also knows ``"widget"``.

        A program can send any headers it likes: this is what the teacher sees, not a proof.
        """
        request = websocket.request
        return "page" if request is not None and request.headers.get("Origin") is not None else "program"

    def address(self, connection: ServerConnection) -> str:
        """Where a connection comes from, as the teacher sees it: its IP address."""
        remote = connection.remote_address
        return str(remote[0]) if remote else "?"

    def ban_identifiers(self, connection: ServerConnection) -> tuple[str, ...]:
        """What a kick bans besides the member key, and what a handshake is checked against.

        Here the IP address: a reload gets a new nickname, not a new address. (It is
        called on the handshake's connection too, before there is a member.)
        """
        return (self.address(connection),)

    # -- what the room does, moderated --------------------------------------------------

    def arrive(self, websocket: ServerConnection, nickname: str) -> None:
        key = self.member_key(websocket, nickname)
        member = self.roster.join(
            key, websocket, kind=self.connection_kind(websocket), address=self.address(websocket),
            identifiers=self.ban_identifiers(websocket),
        )
        if len(member.connections) > 1:  # one more tab or widget of someone here: no "comes in" for the room
            self.members[websocket] = nickname
            websocket.logger.info("%s: one more connection of %s", nickname, key)
            # ... but the newcomer itself hears it, as every newcomer does first: a widget learns its
            # name from it (otherwise one opened after the room's page would stay "joining" for good).
            broadcast([websocket], self.entered(self.announced.get(key, nickname)))
            return
        self.announced[key] = nickname
        self.speaking = ("enter", key)
        try:
            super().arrive(websocket, nickname)
        finally:
            self.speaking = None

    def depart(self, websocket: ServerConnection) -> None:
        member = self.roster.leave(websocket)
        if member is not None and member.connections:  # they still have another connection: silently
            nickname = self.members.pop(websocket)
            websocket.logger.info("%s: one connection of %s closed: code %s", nickname, member.key,
                                  websocket.close_code)
            return
        key = member.key if member is not None else self.members[websocket]
        if key in self.announced:  # "left" with the nickname "comes in" was said with
            self.members[websocket] = self.announced.pop(key)
        self.speaking = ("leave", key)
        try:
            super().depart(websocket)
        finally:
            self.speaking = None

    def receive(self, websocket: ServerConnection, text: str) -> Any:
        if websocket.state is not State.OPEN:
            # Kicked (or closing): what it sent before it heard the close is still handed
            # to receive(), as lesson 06c explains. None of it is passed on.
            return None
        verdict = self.roster.admit(websocket, text)
        if verdict.notice is not None:
            broadcast([websocket], self.notice(verdict.notice))  # to the sender only; never waits
        if not verdict.passed:
            return None
        member = self.roster.member(websocket)
        self.speaking = ("message", member.key if member else self.members[websocket])
        try:
            return super().receive(websocket, text)
        finally:
            self.speaking = None

    def tell_everyone(self, message: str) -> None:
        super().tell_everyone(message)
        if self.speaking is not None:
            kind, key = self.speaking
            self.roster.heard(kind, key, self.heard_text(message))

    # -- the room's format ---------------------------------------------------------------

    def is_json(self) -> bool:
        return isinstance(self, JSONChatRoom)

    def notice(self, text: str) -> str:
        """A notice to one member, as this room writes messages: text, or ``{"type":"notice","data":...}``."""
        return to_json("notice", text) if self.is_json() else text

    def heard_text(self, message: str) -> str:
        """What members read of ``message``: the message itself, or a JSON message's ``data``."""
        if self.is_json():
            try:
                data = json.loads(message).get("data")
            except (ValueError, AttributeError):
                return message
            return data if isinstance(data, str) else message
        return message

    # -- the teacher's commands ----------------------------------------------------------

    def refusal(self, connection: ServerConnection, request: Request) -> Response | None:
        """HTTP 403 for a banned member's request (a ``process_request`` step); None lets it in."""
        ban = self.roster.banned(*self.ban_identifiers(connection))
        if ban is None:
            return None
        connection.logger.info("refused %s %s: %s is banned (%d s left)", request.method, request.path,
                               ban.key, ban.seconds_left())
        return connection.respond(http.HTTPStatus.FORBIDDEN, f"Forbidden: {kept_out(ban)}\n")

    async def kick(self, key: str, *, seconds: float | None = None) -> int:
        """Ban member ``key`` and close their connections with 1008, "removed by the teacher"; return how many."""
        connections = self.roster.kick(key, seconds=seconds)
        await asyncio.gather(*(websocket.close(CloseCode.POLICY_VIOLATION, KICKED) for websocket in connections))
        return len(connections)

    def mute(self, key: str) -> bool:
        """Mute member ``key`` and tell them; False if there is no such member."""
        member = self.roster.mute(key)
        if member is not None:
            broadcast([c.handle for c in member.connections], self.notice("the teacher has muted you"))
        return member is not None

    def unmute(self, key: str) -> bool:
        """Unmute member ``key`` and tell them; False if there is no such member."""
        member = self.roster.unmute(key)
        if member is not None:
            broadcast([c.handle for c in member.connections],
                      self.notice("the teacher has unmuted you: your messages are sent again"))
        return member is not None


def kept_out(ban: Ban) -> str:
    """What a banned member is told when they try to come back: by whom, and for how long."""
    minutes = max(1, round(ban.seconds_left() / 60))
    return (f"the teacher removed you from this room. You may come back in {minutes} "
            f"minute{'s' if minutes != 1 else ''}, or as soon as the teacher lets you in.")


class ModeratedChatRoom(Moderated, ChatRoom):
    """Demo 3's chat room, moderated: what ``ws-course serve chat`` runs."""


class ModeratedJSONChatRoom(Moderated, JSONChatRoom):
    """Demo 4's JSON chat room, moderated: what ``ws-course serve json-chat`` runs."""

"""Demo 4: the JSON chat room.

The same room as demo 3 (:mod:`ws_course.chat`), but everything it says is a JSON
object with a ``type``, so a page can tell the kinds apart (and colour them)::

    {"type":"enter","data":"user1 comes in"}
    {"type":"message","data":"user1 says: hi"}
    {"type":"leave","data":"user1 left"}

The text is byte for byte what the article's ``JSON.stringify(mes)`` writes.
"""

import json

from websockets.asyncio.server import serve as websockets_serve

from .chat import MAX_MESSAGE_BYTES, ChatRoom
from .web.pages import page


def to_json(kind: str, data: str) -> str:
    """One message of the room's protocol, written as JavaScript's ``JSON.stringify`` would.

    ``JSON.stringify`` leaves non-ASCII characters as they are and puts no spaces
    after ``,`` and ``:``; ``json.dumps`` needs to be told both.
    """
    return json.dumps({"type": kind, "data": data}, ensure_ascii=False, separators=(",", ":"))


class JSONChatRoom(ChatRoom):
    """A chat room that says everything as JSON: only the wording changes."""

    def entered(self, nickname: str) -> str:
        return to_json("enter", f"{nickname} comes in")

    def said(self, nickname: str, text: str) -> str:
        return to_json("message", f"{nickname} says: {text}")

    def left(self, nickname: str) -> str:
        return to_json("leave", f"{nickname} left")


def serve(host: str = "127.0.0.1", port: int = 8001, *, redis: str | None = None, **options):
    """Create a JSON chat server (with a room of its own), its page at ``http://host:port/``.

    With ``redis="redis://HOST:PORT/DB"``, its room is the same as that of every
    JSON chat server on that Redis (lesson 09, :mod:`ws_course.scaleout.redis_room`).
    """
    options = dict(process_request=page("json-chat.html"), max_size=MAX_MESSAGE_BYTES, **options)
    if redis is not None:
        from .scaleout.redis_room import serve_shared

        return serve_shared(JSONChatRoom, "json_chat", redis, websockets_serve, host, port, **options)
    room = JSONChatRoom()
    return websockets_serve(room.handler, host, port, **options)

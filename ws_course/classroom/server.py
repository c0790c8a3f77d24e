"""``ws-course serve chat`` in a classroom: the chat rooms, moderated, with the teacher's view and a big screen.

One port serves it all::

    http://HOST:PORT/                   the room's page (chat.html or json-chat.html), and its socket
    http://HOST:PORT/teacher?key=KEY    the teacher's view, and its socket (the key is the secret)
    http://HOST:PORT/screen             the big screen, and its socket (no key: it shows no addresses)

:func:`moderated_demo` makes the :class:`~ws_course.runtime.server.Demo` record
that the command line starts, through the same runtime as every other demo (so the
classroom guard applies too)::

    demo = moderated_demo("chat", teacher_key=secrets.token_urlsafe(16))
    server = await listen(demo, "0.0.0.0", 8001, guard=Guard())

In a notebook, ``ws_course.start("chat")`` stays the article's plain room.
"""

from __future__ import annotations

import functools
from typing import Any

from websockets.asyncio.server import serve as websockets_serve

from ..chat import MAX_MESSAGE_BYTES
from ..runtime.server import Demo
from ..web.pages import page
from .desk import Desk, key_check
from .moderated import ModeratedChatRoom, ModeratedJSONChatRoom
from .roster import RATE_LIMIT, Roster

__all__ = ["ROOMS", "moderated_demo", "serve"]

#: The demos that can be moderated: their room class and their page.
ROOMS: dict[str, tuple[type, str]] = {
    "chat": (ModeratedChatRoom, "chat.html"),
    "json_chat": (ModeratedJSONChatRoom, "json-chat.html"),
}


def serve(
    room_class: type,
    page_name: str,
    host: str = "127.0.0.1",
    port: int = 8001,
    *,
    teacher_key: str,
    rate_limit: int | None = RATE_LIMIT,
    **options: Any,
):
    """Create a moderated room's server (``await`` it): the room, its page, the teacher's view, the big screen."""
    room = room_class(roster=Roster(rate_limit=rate_limit))
    desk = Desk(room)
    hook = desk.process_request(page(page_name), key_check(teacher_key))
    options = dict(max_size=MAX_MESSAGE_BYTES, **options)
    return websockets_serve(desk.handler(room.handler), host, port, process_request=hook, **options)


def moderated_demo(name: str, *, teacher_key: str, rate_limit: int | None = RATE_LIMIT) -> Demo:
    """The :class:`~ws_course.runtime.server.Demo` record of demo ``name`` (``chat``, ``json_chat``), moderated."""
    name = name.replace("-", "_")
    if name not in ROOMS:
        raise ValueError(f"only {', '.join(ROOMS)} can be moderated, not {name!r}")
    if not teacher_key:
        raise ValueError("the teacher's key must not be empty")
    room_class, page_name = ROOMS[name]
    return Demo(
        name, functools.partial(serve, room_class, page_name, teacher_key=teacher_key, rate_limit=rate_limit),
        page=page_name,
    )

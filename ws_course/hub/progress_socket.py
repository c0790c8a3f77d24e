"""The class room's progress address: students' kernels report their verdicts and "stuck" flags.

At ``/services/class-chat/progress``, below the room's page and chat socket, a
kernel opens a WebSocket with its ``$JUPYTERHUB_API_TOKEN`` (the protocol, and the
kernel's side, are in :mod:`ws_course.classroom.progress`)::

    {"exercise": "check_rate_limit", "passed": true}   ->  {"ok": true}
    {"stuck": true, "note": "which close code?"}        ->  {"ok": true}
    {"exercise": "check_nothing", "passed": true}      ->  {"ok": false, "error": "no exercise is called ..."}
    not JSON, or bytes                                  ->  close 1008

Each message goes into the room's :class:`~ws_course.classroom.progress.Board`
under the hub user name the token belongs to (never a name the message gives),
and the teacher's view shows the board, live.
"""

from __future__ import annotations

import http
import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.http11 import Request, Response

from ..safety.upgrade import wants_websocket
from .identity import WIDGET

__all__ = ["PROGRESS_PATH", "refusal", "serve_progress"]

#: Where the progress address is, below the service's prefix.
PROGRESS_PATH = "/progress"


#: What :func:`decoded` returns for a frame that is not JSON text.
GARBAGE = object()


def decoded(frame: str | bytes) -> Any:
    """The JSON value in a text frame, or :data:`GARBAGE` (bytes, not JSON, nested too deep)."""
    if not isinstance(frame, str):
        return GARBAGE
    try:
        return json.loads(frame)
    except (ValueError, RecursionError):
        return GARBAGE


def refusal(connection: ServerConnection, request: Request) -> Response | None:
    """Refuse what is not a kernel's WebSocket with a token (a ``process_request`` step); None lets it in.

    A kicked student is not refused here: the teacher kept them out of the chat,
    and still sees their exercises.
    """
    if not wants_websocket(request):
        return connection.respond(http.HTTPStatus.NOT_FOUND, "The progress address is a WebSocket\n")
    if connection.hub_identity.kind != WIDGET:
        return connection.respond(
            http.HTTPStatus.FORBIDDEN, "The progress address takes a kernel's hub token (Authorization: token ...)\n"
        )
    return None


async def serve_progress(websocket: ServerConnection, board: Any, changed: Callable[[], None]) -> None:
    """Put each message of ``websocket`` on ``board``, answer it, and call ``changed()`` when it counted.

    ``board`` is a :class:`~ws_course.classroom.progress.Board`; the user is the
    connection's hub user (``websocket.hub_identity``).
    """
    user = websocket.hub_identity.name
    try:
        async for frame in websocket:
            message = decoded(frame)
            if message is GARBAGE:  # not a mistake: whoever sends it is no kernel of ours
                websocket.logger.info("%s sent progress that is not JSON text: closing", user)
                await websocket.close(CloseCode.POLICY_VIOLATION, "progress messages are JSON text")
                return
            error = board.record(user, message)
            if error is None:
                websocket.logger.info("%s: %s", user, frame)
                changed()
            await websocket.send(json.dumps({"ok": True} if error is None else {"ok": False, "error": error}))
    except ConnectionClosed:
        pass

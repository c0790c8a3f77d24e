"""The class room's own log: a bounded file of who came, who said what, from where.

The hub captures a service's stderr into its own log, so a room that logged every
arrival and message there would drown the hub's (1 400 lines after a short trial).
:func:`log_to_file` sends everything to a file of the room's own, rotated so that
it stays bounded, and only start, stop and warnings to the hub's log. Each line a
connection logs says which hub user it is and where it came from (:func:`who`).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path
from typing import Any

from ..safety.logs import BatchedStreamHandler, ClockFormatter, OneLineTracebacks, QuietRepeats, ShortLines

__all__ = ["FOR_THE_HUB", "LOG_BACKUPS", "LOG_BYTES", "default_log_file", "log_to_file", "who"]

logger = logging.getLogger("ws_course.hub.room")


#: The room's own log: rotated at this size...
LOG_BYTES = 1_000_000

#: ...keeping this many older files (``class-chat.log.1`` ... ``.3``): 4 MB at most in all.
LOG_BACKUPS = 3

#: ``logger.info(..., extra=FOR_THE_HUB)``: this line goes to the hub's log too (start, stop).
FOR_THE_HUB = {"for_the_hub": True}


def who(websocket: Any) -> str:
    """``alice 203.0.113.5 via 127.0.0.1``: a connection's hub user, where from, and through what.

    Behind the hub's proxy the connection comes from the proxy; configurable-http-proxy
    adds the address it saw to ``X-Forwarded-For``, as the list's last entry. (Earlier
    entries are whatever the client sent: not trusted, not shown.)
    """
    identity = getattr(websocket, "hub_identity", None)
    user = identity.name if identity is not None else "(not logged in)"
    peer = websocket.remote_address[0] if websocket.remote_address else "?"
    request = websocket.request
    forwarded = request.headers.get("X-Forwarded-For", "") if request is not None else ""
    client = forwarded.split(",")[-1].strip()
    return f"{user} {client} via {peer}" if client else f"{user} {peer}"


class Who(logging.Filter):
    """Put :func:`who` in front of each line a connection logs (``websocket.logger.info(...)``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        websocket = getattr(record, "websocket", None)  # websockets' LoggerAdapter puts it there
        record.who = f"[{who(websocket)}] " if websocket is not None else ""
        return True


class DecideOnce(logging.Filter):
    """Ask ``decide`` once per record, however many handlers write it: one count of repeats, not one per output."""

    def __init__(self, decide: logging.Filter) -> None:
        super().__init__()
        self.decide = decide

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "decided"):
            record.decided = self.decide.filter(record)
        return record.decided


class ForTheHub(logging.Filter):
    """Only what a hub's administrator needs in the hub's log: warnings, errors, and :data:`FOR_THE_HUB` lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or getattr(record, "for_the_hub", False)


def default_log_file() -> Path:
    """``$WS_COURSE_ROOM_LOG``, else ``NAME.log`` in the working folder (the hub's: next to its database)."""
    name = os.environ.get("JUPYTERHUB_SERVICE_NAME", "class-chat")
    return Path(os.environ.get("WS_COURSE_ROOM_LOG") or f"{name}.log").absolute()


def log_to_file(path: Path) -> QuietRepeats:
    """The room's logging: everything to ``path`` (bounded), and only :class:`ForTheHub` lines to stderr.

    The hub captures a service's stderr into its own log, so a room that logged
    every arrival there would drown the hub's. Lines to the file say who (hub user,
    address) for each connection's record; both outputs collapse storms of one
    warning and cut long lines (:mod:`ws_course.safety.logs`). A file that cannot be
    written leaves everything on stderr, saying why.

    Returns the :class:`~ws_course.safety.logs.QuietRepeats` filter, to flush at the end.
    """
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    stderr = BatchedStreamHandler()
    stderr.setFormatter(ClockFormatter("[%(levelname)1.1s %(asctime)s %(name)s] %(message)s", datefmt="%H:%M:%S"))
    handlers: list[logging.Handler] = [stderr]
    problem = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.handlers.RotatingFileHandler(path, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8")
    except OSError as error:
        problem = error
    else:
        to_file.setFormatter(ClockFormatter("%(asctime)s %(levelname)s %(who)s%(message)s", datefmt="%Y-%m-%d %H:%M:%S"))
        to_file.addFilter(Who())
        stderr.addFilter(ForTheHub())
        handlers.append(to_file)
    repeats = QuietRepeats()
    once = DecideOnce(repeats)
    for handler in handlers:
        for each in (OneLineTracebacks(), ShortLines(), once):
            handler.addFilter(each)
    logging.basicConfig(level=logging.INFO, handlers=handlers, force=True)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # JupyterHub's database tools, imported with HubOAuth
    if problem is not None:
        logger.warning("cannot write the room's log to %s (%s): it goes to the hub's log instead", path, problem)
    return repeats

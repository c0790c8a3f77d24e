"""Where the course's browser pages are: ``ws_course/static/``, package data.

The pages travel inside the package, so an installed wheel serves them as a
checkout does (``static/`` at the top of the repository is a link to the same
folder). So does the official Socket.IO client for browsers,
``static/socket.io.js``: a copy of ``socket.io-client``'s ``dist/socket.io.js``
at the version ``package-lock.json`` pins (a test checks that they are the same
bytes), served by the Socket.IO demos, so that a classroom without internet
still works: no CDN.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["SHARED", "SOCKETIO_CLIENT", "STATIC"]

#: The folder with the course's browser pages.
STATIC = Path(__file__).resolve().parent.parent / "static"

#: Files every page may load, next to it.
SHARED = {"/course.js": STATIC / "course.js"}

#: The official Socket.IO client for browsers (see package.json).
SOCKETIO_CLIENT = STATIC / "socket.io.js"

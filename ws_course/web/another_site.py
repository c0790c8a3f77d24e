"""Another web site on this machine, for lesson 06a: a page that tries to join a chat room.

The origin check (:mod:`ws_course.safety.origins`) refuses pages from any other origin
than the chat server's own. To see it at work we need such a page: one served
from another scheme, host or *port*. :class:`AnotherSite` is the smallest web
server that does it: Python's own :mod:`http.server`, on a port of its own,
serving two pages. It knows nothing of WebSockets or of the course: it stands for
any site a student might visit. Each page reads the chat room's address from its
own (``?room=ws://...``) and tries to join:

- ``static/another-site.html``, at ``/``, opens the WebSocket itself: its handshake
  carries the site's origin;
- ``static/another-site-sandboxed.html``, at ``/sandboxed``, opens it from a frame
  sandboxed with ``allow-scripts`` only, whose origin is opaque: its handshake says
  ``Origin: null``, what a page opened from disk says. Any site can do this::

    >>> site = another_site.start()
    >>> site.origin                            # another port: another origin
    'http://127.0.0.1:40123'
    >>> site.page_url("ws://127.0.0.1:43117/")
    'http://127.0.0.1:40123/?room=ws://127.0.0.1:43117/'
    >>> site.page_url("ws://127.0.0.1:43117/", sandboxed=True)
    'http://127.0.0.1:40123/sandboxed?room=ws://127.0.0.1:43117/'
    >>> site.stop()

For a Socket.IO room, give the address of its WebSocket,
``ws://HOST:PORT/socket.io/?EIO=4&transport=websocket``: the pages then speak
Socket.IO's wire format by hand (lesson 05).

:func:`start` replaces a site started before, as :func:`ws_course.start` does
with servers, so a notebook cell can run again.
"""

from __future__ import annotations

import http
import http.server
import threading
from urllib.parse import quote

from ..runtime.registry import RUNNING, StopsOnExit
from ..language.pages import page_file
from .static import STATIC

#: The pages the site serves, by path: at ``/`` the page that opens the WebSocket itself,
#: at ``/sandboxed`` the one that opens it from a sandboxed frame (``Origin: null``).
PAGES = {"/": STATIC / "another-site.html", "/sandboxed": STATIC / "another-site-sandboxed.html"}

#: The page at ``/``.
PAGE = PAGES["/"]

#: Its kind in the registry (:mod:`ws_course.runtime.registry`): one site at a time.
KIND, NAME = "site", "another-site"


class _PageHandler(http.server.BaseHTTPRequestHandler):
    """Answer ``GET /`` and ``GET /sandboxed`` (whatever the query) with their page, anything else with 404."""

    def do_GET(self) -> None:
        page = PAGES.get(self.path.partition("?")[0])
        if page is None:
            self.send_error(http.HTTPStatus.NOT_FOUND)
            return
        body = page_file(page, self.path)  # in the language its address asks for (?lang=zh)
        self.send_response(http.HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # http.server prints each request to stderr: into whichever notebook cell is running


class AnotherSite(StopsOnExit):
    """A plain HTTP server in a daemon thread, serving ``static/another-site.html``.

    Don't create it directly: call :func:`start`.

    Attributes:
        host: The address it listens on (``127.0.0.1``: this machine only).
        port: Its port, a free one.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = http.server.ThreadingHTTPServer((host, port), _PageHandler)
        self._server.daemon_threads = True
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, name="ws-course-another-site", daemon=True)
        self._thread.start()

    @property
    def origin(self) -> str:
        """Its pages' origin: scheme, host and port. Not the chat server's, whose port differs."""
        return f"http://{self.host}:{self.port}"

    def page_url(self, room: str, *, sandboxed: bool = False) -> str:
        """The page's address, telling it to join the chat room whose socket is at ``room``.

        With ``sandboxed=True``, the page that tries from a sandboxed frame (``Origin: null``).
        """
        return f"{self.origin}/{'sandboxed' if sandboxed else ''}?room={quote(room, safe=':/')}"

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop serving and free the port (calling it again does nothing)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()
        RUNNING.forget(KIND, NAME, self)

    def __repr__(self) -> str:
        return f"<another site, {'running' if self.running else 'stopped'}: {self.origin}/>"


def start(host: str = "127.0.0.1", port: int = 0) -> AnotherSite:
    """Start another site (stopping the one started before, if any) and return it."""
    return RUNNING.replace(KIND, NAME, lambda: AnotherSite(host, port))


def stop_all() -> None:
    """Stop the other site, if it runs."""
    RUNNING.stop_all(KIND)

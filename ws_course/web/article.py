"""The article's own chat pages, served in a sandbox, so that a lesson can show their bug safely.

The article's chat pages (demos 3 and 4, kept verbatim in ``static/article/``) show
each message with ``div.innerHTML = str``. Any member who sends
``<img src=x onerror="...">`` runs script in everyone else's page. Lesson 03 lets
you watch that happen, in a page that cannot harm anything:

- The chat servers serve the article's page at ``/article.html``, next to ours
  (``/``). The only change to the page is its server address, which the article
  left as ``ws://xxx.xxx.xxx.xxx:8001/``; it becomes "the server this page came
  from".
- The response carries a Content Security Policy, :data:`POLICY`. ``sandbox
  allow-scripts`` makes the browser give the page an origin of its own that
  matches nothing (a *unique opaque origin*): its script cannot read the
  notebook, JupyterLab, or their cookies. ``default-src 'none'`` forbids every
  load (images, frames, fonts, other pages); only the page's own inline script
  runs, and it may connect to its own server (``connect-src 'self'``) and nowhere
  else.

So the payload runs, and the page visibly changes, but it cannot reach anything
beyond itself. (A sandboxed page sends ``Origin: null`` with its WebSocket
handshake, as a page opened from disk does.)
"""

from __future__ import annotations

import http

from websockets.datastructures import Headers
from websockets.http11 import Response

from .static import STATIC

#: The article's pages, by the course's page they stand beside.
PAGES = {"chat.html": STATIC / "article" / "demo3-chat.html", "json-chat.html": STATIC / "article" / "demo4-json-chat.html"}

#: Where the course serves the article's page, next to its own.
PATH = "/article.html"

#: The address the article's pages connect to (the article left it for readers to fill in).
ARTICLE_ADDRESS = '"ws://xxx.xxx.xxx.xxx:8001/"'

#: What replaces it: the WebSocket of the server that served the page, behind a proxy too.
OUR_ADDRESS = 'new URL(".", location.href).href.replace(/^http/, "ws")'

#: What the browser lets the page do: run its own inline script and talk to its own server.
POLICY = "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'"


def article_page(course_page: str) -> bytes | None:
    """The article's page that stands beside ``course_page`` (e.g. ``"chat.html"``), its address ours."""
    path = PAGES.get(course_page)
    if path is None:
        return None
    source = path.read_text()
    if ARTICLE_ADDRESS not in source:
        raise ValueError(f"{path} no longer has the article's address {ARTICLE_ADDRESS}")
    return source.replace(ARTICLE_ADDRESS, OUR_ADDRESS).encode()


def sandboxed_response(body: bytes) -> Response:
    """An HTTP 200 response with the article's page, under :data:`POLICY`."""
    headers = Headers(
        [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Content-Security-Policy", POLICY),
            ("Cache-Control", "no-store"),
            ("Connection", "close"),
        ]
    )
    return Response(http.HTTPStatus.OK, "OK", headers, body)

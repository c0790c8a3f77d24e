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
beyond itself.

A sandboxed page sends ``Origin: null`` with its WebSocket handshake, as a page
opened from disk does, and as any site's page does from a sandboxed frame of its
own. The course's servers refuse ``null`` (:mod:`ws_course.safety.origins`), except
with their *page key*: a random string each server makes when it starts. The
article's page, as the server sends it, connects to ``ws://.../?page=KEY``. Another
site cannot read the page (its response carries no CORS header), so it cannot learn
the key; and the server answers only to its own names (the host check), so a page
that rebinds a name of its own to this machine cannot read it either.
"""

from __future__ import annotations

import http

from websockets.datastructures import Headers
from websockets.http11 import Response

from ..safety.origins import PAGE_KEY_PARAMETER
from .static import STATIC

#: The article's pages, by the course's page they stand beside.
PAGES = {"chat.html": STATIC / "article" / "demo3-chat.html", "json-chat.html": STATIC / "article" / "demo4-json-chat.html"}

#: Where the course serves the article's page, next to its own.
PATH = "/article.html"

#: The address the article's pages connect to (the article left it for readers to fill in).
ARTICLE_ADDRESS = '"ws://xxx.xxx.xxx.xxx:8001/"'

#: What replaces it: the WebSocket of the server that served the page, behind a proxy too.
OUR_ADDRESS = 'new URL(".", location.href).href.replace(/^http/, "ws")'

#: What follows it when the server has a page key: ``ws://.../?page=KEY``.
KEY_SUFFIX = ' + "?{parameter}={key}"'

#: What the browser lets the page do: run its own inline script and talk to its own server.
POLICY = "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'"


def article_page(course_page: str, key: str | None = None) -> bytes | None:
    """The article's page that stands beside ``course_page`` (e.g. ``"chat.html"``), its address ours.

    ``key``: the server's page key, which the page's WebSocket address then carries
    (a server without the course's guard has none, and needs none).
    """
    path = PAGES.get(course_page)
    if path is None:
        return None
    source = path.read_text()
    if ARTICLE_ADDRESS not in source:
        raise ValueError(f"{path} no longer has the article's address {ARTICLE_ADDRESS}")
    address = OUR_ADDRESS
    if key is not None:
        if not key.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"a page key is URL-safe text: {key!r}")
        address += KEY_SUFFIX.format(parameter=PAGE_KEY_PARAMETER, key=key)
    return source.replace(ARTICLE_ADDRESS, address).encode()


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

"""Serve a demo's browser page on the same port as its WebSocket.

A browser asks for ``http://host:port/`` and gets the page; the page then opens
``ws://host:port/`` on the same origin. Both requests reach the same server:
websockets calls ``process_request`` with every HTTP request before the
handshake, and we answer plain requests with the page and let WebSocket
upgrade requests through (by returning ``None``).

HTTP details a browser or a script may test: ``HEAD`` gets the headers of ``GET``
and no body; methods other than ``GET`` and ``HEAD`` get 405.
"""

from __future__ import annotations

import dataclasses
import http
import mimetypes
from pathlib import Path

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from ..language.pages import page_file
from ..safety.upgrade import wants_websocket
from .article import PATH as ARTICLE_PATH
from .article import article_page, sandboxed_response
from .static import SHARED, STATIC


def page(filename: str):
    """Return a ``process_request`` hook that serves ``static/<filename>`` at ``/``.

    The chat rooms also serve the article's own page at ``/article.html``, in a
    sandbox (see :mod:`ws_course.web.article`), with the server's page key when the
    server has the course's guard (its connections then have a ``page_key``).
    """
    routes = {"/": STATIC / filename, **SHARED}
    for path in routes.values():
        if not path.is_file():
            raise FileNotFoundError(f"no file {path}: the course's pages are missing from its package")

    has_article = article_page(filename) is not None  # the article's own page, for lesson 03's XSS demo

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        if wants_websocket(request):
            return None  # a WebSocket handshake: let websockets carry on
        if request.method not in ("GET", "HEAD"):
            response = connection.respond(http.HTTPStatus.METHOD_NOT_ALLOWED, "Method not allowed\n")
            response.headers["Allow"] = "GET, HEAD"
            return response
        path = routes.get(request.path.partition("?")[0])
        if has_article and request.path.partition("?")[0] == ARTICLE_PATH:
            response = sandboxed_response(article_page(filename, getattr(connection, "page_key", None)))
        elif path is None:
            response = connection.respond(http.HTTPStatus.NOT_FOUND, "Not found\n")
        else:
            response = file_response(path, request.path)
        if request.method == "HEAD":
            # The headers of GET (Content-Length included), and no body.
            response = dataclasses.replace(response, body=b"")
        return response

    return process_request


def file_response(path: Path, target: str = "/") -> Response:
    """An HTTP 200 response carrying the file at ``path``, read afresh for every request.

    A page (``.html``) comes in the language the request's address ``target`` asks
    for (``/?lang=zh``: see :mod:`ws_course.language.pages`); as it is on disk without.
    """
    body = page_file(path, target) if path.suffix == ".html" else path.read_bytes()
    content_type, _ = mimetypes.guess_type(path.name)
    if content_type in ("text/html", "text/javascript", "text/css"):
        content_type += "; charset=utf-8"
    headers = Headers(
        [
            ("Content-Type", content_type or "application/octet-stream"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),  # edit a page, reload, see the change
            ("Connection", "close"),  # one request per TCP connection, as websockets expects
        ]
    )
    return Response(http.HTTPStatus.OK, "OK", headers, body)

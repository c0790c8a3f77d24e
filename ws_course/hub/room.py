"""One chat room for the whole class, as a JupyterHub service.

On a JupyterHub every student has a server of their own, so the chat rooms the
lessons start are rooms of one. A teacher who wants the class to meet in one room
runs this module as a hub *service*: the hub starts it, routes
``/services/class-chat/`` to it through the hub's proxy, and lets only logged-in
hub users in. It is lesson 04's JSON chat room (:class:`~ws_course.json_chat.JSONChatRoom`,
subclassed, not copied), where a member's nickname is their hub user name instead of
``user1``, ``user2``: nobody can speak under a name that is not their own.

For the teacher: add this at the end of ``jupyterhub_config.py`` (the hub's Python
needs ``ws_course`` installed, and the students' servers need it too)::

    # ws-course's class room, a hub service at /services/class-chat/. It adds to the services,
    # roles and token scopes configured so far, and replaces none of them: keep these lines after them.
    from ws_course.hub.config import add_class_room

    add_class_room(c, "http://127.0.0.1:10101")  # a free port on the hub's machine

:mod:`ws_course.hub.config` says what that adds, and writes out the lines for The
Littlest JupyterHub and Zero to JupyterHub (``jupyterhub_config(flavour=...)``).
The room keeps a log of its own (who came in, from where, and said what):
``class-chat.log`` in the hub's working folder, 1 MB and three older files at most
(:func:`main` says how to put it elsewhere). The hub's own log only hears when the
room starts and stops, and its warnings.

Students then open ``/services/class-chat/`` on the hub, or, in a notebook::

    from ws_course.hub.class_chat import show_class_chat, join_class_chat
    show_class_chat()            # a link to the room's page, and the page itself
    member = join_class_chat()   # a widget in the room, under the student's name
    member

How a request gets in (see :class:`HubLogin`):

- A browser has no token: its first visit is sent to the hub's OAuth page, which
  (for a logged-in user) sends it straight back to ``oauth_callback`` with a code;
  the service trades the code for a token and keeps it in a cookie for this path
  only. The page's WebSocket handshake then carries that cookie, and the service
  also checks the handshake's ``Origin``: a page of another site cannot use it.
- A program, a notebook's widget, sends ``Authorization: token ...``: the kernel's
  ``$JUPYTERHUB_API_TOKEN``, which the hub identifies as that student's.
- Anything else gets 403 (a WebSocket) or a redirect to the hub's login (a page).

Classroom limits (connection limit, per-member buffer cap, origin check) that the
course's chat rooms get also apply here where they live in
:class:`~ws_course.chat.ChatRoom` or :func:`ws_course.web.pages.page`: the room is
the same class, and the page comes through the same ``page()`` hook.

Without subdomains (``c.JupyterHub.subdomain_host``) every page of a hub, including
pages that other users serve from their notebooks, shares one origin; JupyterHub's
own documentation explains why a hub for many users should use subdomains.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import http
import inspect
import logging
import os
import re
import secrets
import signal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tornado.httputil import url_concat
from tornado.web import create_signed_value, decode_signed_value
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as websockets_serve
from websockets.http11 import Request, Response

from ..chat import MAX_MESSAGE_BYTES
from ..classroom.desk import TEACHER_PATH, Desk
from ..classroom.moderated import Moderated
from ..classroom.progress import Board
from ..json_chat import JSONChatRoom
from ..runtime.server import Demo, listen
from ..safety import limits
from ..safety.guard import Guard
from ..safety.upgrade import wants_websocket
from ..web.pages import page
from . import progress_socket
from .identity import PAGE, WIDGET, HubIdentity, IdentityWatch, may_use, token_key
from .progress_socket import PROGRESS_PATH
from .room_log import FOR_THE_HUB, default_log_file, log_to_file
from .config import jupyterhub_config

# HubLogin sets hub_identity on websockets' connections: a name websockets must not take (see ws_course.contract).

__all__ = ["HubChatRoom", "HubLogin", "jupyterhub_config", "main", "serve"]

logger = logging.getLogger("ws_course.hub.room")


class HubChatRoom(Moderated, JSONChatRoom):
    """The JSON chat room, moderated, where each member is a hub user, called by their hub user name.

    :class:`~ws_course.chat.ChatRoom` makes each connection a member named
    ``user1``, ``user2``... Here the nickname is the connection's hub user name,
    and :class:`~ws_course.classroom.moderated.Moderated` makes one member of all
    the connections with one name: a student with the room's page open and two
    widgets in a notebook is one member. The room hears ``alice comes in`` when
    her first connection opens and ``alice left`` when her last one closes. A kick
    bans the hub user name, whatever page or token they come back with.
    (:class:`HubLogin` has put who each connection is on it, as
    ``connection.hub_identity``, before the handshake was accepted.)
    """

    def arrive(self, websocket: ServerConnection, nickname: str) -> None:
        super().arrive(websocket, websocket.hub_identity.name)  # not user3: alice

    def connection_kind(self, websocket: ServerConnection) -> str:
        """``"page"`` (it logged in with the service's cookie) or ``"widget"`` (a token header)."""
        return websocket.hub_identity.kind

    def address(self, connection: ServerConnection) -> str:
        """The address the hub's proxy saw (it adds it to ``X-Forwarded-For``), for the teacher to read."""
        forwarded = connection.request.headers.get("X-Forwarded-For") if connection.request else None
        if forwarded:
            return forwarded.split(",")[-1].strip()
        return super().address(connection)

    def ban_identifiers(self, connection: ServerConnection) -> tuple[str, ...]:
        """A kick bans the hub user name: every page and token of theirs."""
        return (connection.hub_identity.name,)


class HubLogin:
    """Let in only the hub's users: a ``process_request`` hook for websockets.

    Args:
        auth: A :class:`jupyterhub.services.auth.HubOAuth`, which knows the hub's
            API and OAuth addresses and this service's client id and token (from the
            ``JUPYTERHUB_*`` variables the hub sets for a service).
        prefix: Where the service lives on the hub, ``/services/class-chat/``.
        serve_page: The ``process_request`` hook that serves the pages; it sees
            paths with ``prefix`` cut off (``/``, ``/teacher``, ``/course.js``).
        revoked: Digests of tokens the hub no longer accepts
            (:attr:`~ws_course.hub.identity.IdentityWatch.revoked`): refused at once.
    """

    def __init__(self, auth: Any, prefix: str, serve_page: Any, revoked: set[str] | None = None) -> None:
        self.auth = auth
        self.prefix = prefix
        self.serve_page = serve_page
        self.revoked = revoked if revoked is not None else set()
        # Signs the cookies this service sets; a new one at each start just means a new login.
        self.secret = secrets.token_bytes(32)

    async def __call__(self, connection: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if path == self.prefix.rstrip("/"):
            return redirect(connection, self.prefix)
        if not path.startswith(self.prefix):
            return connection.respond(http.HTTPStatus.NOT_FOUND, "Not found\n")
        if path == self.prefix + "oauth_callback":
            return await self.oauth_callback(connection, request)
        websocket = wants_websocket(request)
        identity = await self.identify(request, websocket)
        if identity is None:
            if websocket:
                return connection.respond(http.HTTPStatus.FORBIDDEN, "Log in to the hub first\n")
            return self.login(connection, request)
        connection.hub_identity = identity
        # The pages (and the handshakes) as the room serves them, at "/", "/teacher"...
        response = self.serve_page(connection, dataclasses.replace(request, path=request.path[len(self.prefix) - 1 :]))
        return await response if inspect.isawaitable(response) else response

    # -- who is it? -------------------------------------------------------------------

    async def identify(self, request: Request, websocket: bool) -> HubIdentity | None:
        """Who made ``request``, or None: by token (programs, widgets), or by cookie (browser pages)."""
        kind, token = WIDGET, self.header_token(request)
        if token is None:
            kind, token = PAGE, self.cookie_token(request)
            if token is not None and websocket and not (self.auth.allow_websocket_cookie_auth and same_origin(request)):
                token = None
        if token is None:
            return None
        if token_key(token) in self.revoked:  # the hub stopped accepting it: no need to ask again
            return None
        user = await self.auth.user_for_token(token, sync=False)
        if not may_use(self.auth, user):
            if user and user.get("kind", "user") == "user":
                logger.info("%s may not use this service (no %s)", user["name"], " or ".join(self.auth.access_scopes))
            return None
        # The hub's "who am I" answer always carries "admin", whatever the token's scopes
        # (jupyterhub's /api/user adds read:users:name!user, which includes it).
        return HubIdentity(user["name"], token, kind, admin=bool(user.get("admin")))

    def header_token(self, request: Request) -> str | None:
        found = re.fullmatch(r"(?:token|bearer)\s+(\S+)", request.headers.get("Authorization", ""), re.IGNORECASE)
        return found[1] if found else None

    def cookie_token(self, request: Request) -> str | None:
        value = cookies(request).get(self.auth.cookie_name)
        token = value and decode_signed_value(self.secret, self.auth.cookie_name, value)
        return token.decode("ascii", "replace") if token else None

    # -- hub OAuth, for browsers ------------------------------------------------------

    def login(self, connection: ServerConnection, request: Request) -> Response:
        """Send the browser to the hub, which sends it back to ``oauth_callback`` with a code."""
        extra: dict[str, str] = {}
        params: dict[str, str] = {}
        if self.auth.pkce_enabled:
            verifier, params["code_challenge"], params["code_challenge_method"] = self.auth.generate_pkce_code_challenge()
            extra["code_verifier"] = verifier
        state = self.auth.generate_state(next_url=request.path, **extra)
        params["state"] = state
        response = redirect(connection, url_concat(self.auth.login_url, params))
        self.set_cookie(request, response, self.auth.state_cookie_name, state, max_age=600)
        return response

    async def oauth_callback(self, connection: ServerConnection, request: Request) -> Response:
        """The hub sent the browser back with a code: trade it for a token, keep that in a cookie."""
        query = {name: values[0] for name, values in parse_qs(urlsplit(request.path).query).items()}
        if "error" in query or "code" not in query or "state" not in query:
            return connection.respond(http.HTTPStatus.BAD_REQUEST, f"OAuth failed: {query.get('error', 'no code')}\n")
        state = query["state"]
        cookie = cookies(request).get(self.auth.state_cookie_name)
        signed_state = cookie and decode_signed_value(self.secret, self.auth.state_cookie_name, cookie, max_age_days=1)
        if not signed_state or signed_state.decode("ascii", "replace") != state:
            return connection.respond(http.HTTPStatus.FORBIDDEN, "OAuth state does not match: log in again\n")
        next_url = self.auth.get_next_url(state)
        verifier = self.auth.get_code_verifier(state)
        self.auth.clear_oauth_state(state)
        token = await self.auth.token_for_code(query["code"], code_verifier=verifier, sync=False)
        if not next_url.startswith(self.prefix):  # only ever back into this service
            next_url = self.prefix
        response = redirect(connection, next_url)
        self.set_cookie(request, response, self.auth.cookie_name, token)
        self.set_cookie(request, response, self.auth.state_cookie_name, "", max_age=0)
        return response

    def set_cookie(self, request: Request, response: Response, name: str, value: str, max_age: int | None = None) -> None:
        signed = create_signed_value(self.secret, name, value).decode() if value else ""
        path = "/" if name.startswith("__Host-") else self.prefix
        attributes = [f"{name}={signed}", f"Path={path}", "HttpOnly", "SameSite=Lax"]
        if max_age is not None:
            attributes.append(f"Max-Age={max_age}")
        if name.startswith("__Host-") or forwarded_scheme(request) == "https":
            attributes.append("Secure")
        response.headers["Set-Cookie"] = "; ".join(attributes)


def admins_only(connection: ServerConnection, request: Request) -> str | None:
    """Why this request may not open the teacher's view (it is not a hub admin's), or None."""
    if connection.hub_identity.admin:
        return None
    return "the teacher's view is for the hub's admins only"


def redirect(connection: ServerConnection, location: str) -> Response:
    response = connection.respond(http.HTTPStatus.FOUND, "")
    response.headers["Location"] = location
    return response


def cookies(request: Request) -> dict[str, str]:
    """The request's cookies, by name (a tolerant parser: browsers send what others set too)."""
    found: dict[str, str] = {}
    for header in request.headers.get_all("Cookie"):
        for pair in header.split(";"):
            name, _, value = pair.strip().partition("=")
            found.setdefault(name, value.strip('"'))
    return found


def forwarded_scheme(request: Request) -> str:
    """``http`` or ``https``: as the browser sees it, behind the hub's proxy."""
    scheme = request.headers.get("X-Forwarded-Proto", "http").split(",")[0].strip().lower()
    return {"ws": "http", "wss": "https"}.get(scheme, scheme)


def same_origin(request: Request) -> bool:
    """Did a page of this very site open this WebSocket?

    A browser always sends ``Origin`` with a WebSocket handshake, and a page
    cannot change it. Behind the hub's proxy the ``Host`` header is still the one
    the browser used (configurable-http-proxy keeps it; ``X-Forwarded-Host``, when
    a proxy in front sets it, wins). Only the host and port are compared, not the
    scheme: a TLS proxy in front of the hub may not say ``https`` in
    ``X-Forwarded-Proto``, and a page on this very host is this site either way.
    """
    origin = request.headers.get("Origin")
    host = request.headers.get("X-Forwarded-Host") or request.headers.get("Host")
    if not origin or not host:
        return False
    return urlsplit(origin).netloc.lower() == host.split(",")[0].strip().lower()


def serve(host: str = "127.0.0.1", port: int = 10101, *, auth: Any = None, prefix: str | None = None, **options):
    """Create the class room's server (``await`` it), everything below ``prefix``:

    - ``prefix``: the room's page and its WebSocket (:class:`HubChatRoom`), for any hub user;
    - ``prefix + "teacher"``: the teacher's view, page and WebSocket, for the hub's admins only
      (:class:`~ws_course.classroom.desk.Desk`);
    - ``prefix + "screen"``: the big screen, page and WebSocket, for any hub user;
    - ``prefix + "progress"``: the WebSocket where students' kernels report their
      exercises and sticky notes (:mod:`~ws_course.hub.progress_socket`).

    Every connection's hub token is checked again while it stays open
    (:class:`~ws_course.hub.identity.IdentityWatch`).

    ``auth`` (a ``HubOAuth``) and ``prefix`` default to what the hub tells a
    service through its environment (``JUPYTERHUB_SERVICE_PREFIX`` and friends).
    """
    if auth is None:
        from jupyterhub.services.auth import (
            HubOAuth,  # only the service needs JupyterHub itself
        )

        auth = HubOAuth(cache_max_age=60)
    prefix = prefix or os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/class-chat/")
    room = HubChatRoom()
    board = Board()
    desk = Desk(room, progress=board, prefix=prefix)
    watch = IdentityWatch(auth)
    room_hook = desk.process_request(page("json-chat.html"), admins_only)

    async def route(connection: ServerConnection, request: Request) -> Response | None:
        """The progress address, or else the desk's pages and sockets, and the room's (paths below the prefix)."""
        if urlsplit(request.path).path == PROGRESS_PATH:
            return progress_socket.refusal(connection, request)
        return await room_hook(connection, request)

    login = HubLogin(auth, prefix, route, revoked=watch.revoked)
    serve_room = desk.handler(room.handler)

    async def handler(websocket: ServerConnection) -> None:
        path = urlsplit(websocket.request.path[len(prefix) - 1 :]).path
        # Re-checked with the hub while it stays open (the teacher's view: as an admin's too).
        watch.add(websocket, websocket.hub_identity, admin=path == TEACHER_PATH)
        try:
            if path == PROGRESS_PATH:
                await progress_socket.serve_progress(websocket, board, desk.changed)
            else:
                await serve_room(websocket)
        finally:
            watch.discard(websocket)

    return websockets_serve(handler, host, port, process_request=login, max_size=MAX_MESSAGE_BYTES, **options)


#: Seconds the room gives its connections to close when it is told to stop.
STOP_SECONDS = 5


async def run(host: str, port: int) -> None:
    """Serve until SIGTERM (the hub stops its services so) or Ctrl-C."""
    # The hub's proxy is in front: browsers name the hub, by whatever name it has (the host check).
    server = await listen(Demo("hub.room", serve, page="json-chat.html"), host, port, guard=Guard(behind_proxy=True))
    logger.info("The class room is listening on %s:%s, at %s", host, server.port,
                os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/class-chat/"), extra=FOR_THE_HUB)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        try:
            # The hub waits 10 s for a service to end after its SIGINT, then sends SIGTERM and
            # SIGKILL: whatever still waits then (a handshake asking the hub, which is itself
            # shutting down, who a token is) must not hold the room, nor the hub, that long.
            async with asyncio.timeout(STOP_SECONDS):
                await server.aclose()
        except TimeoutError:
            logger.warning("The class room stopped after %d s, without waiting any longer for what was "
                           "still open", STOP_SECONDS, extra=FOR_THE_HUB)
        else:
            logger.info("The class room has stopped", extra=FOR_THE_HUB)


def main(argv: list[str] | None = None) -> None:
    """Run as a hub service: listen where ``JUPYTERHUB_SERVICE_URL`` says.

    ``--listen ADDRESS``: listen there rather than on the URL's host (``0.0.0.0`` on
    Kubernetes, where the URL names the hub's Kubernetes service). ``--log-file PATH``
    (or ``$WS_COURSE_ROOM_LOG``): the room's own log, by default ``class-chat.log`` in
    the hub's working folder.
    """
    parser = argparse.ArgumentParser(prog="python -m ws_course.hub.room", description="The class room, as a JupyterHub service.")
    parser.add_argument("--listen", help="the address to listen on (default: the host of $JUPYTERHUB_SERVICE_URL)")
    parser.add_argument("--log-file", type=Path, help="the room's own log (default: $WS_COURSE_ROOM_LOG, or NAME.log here)")
    options = parser.parse_args(argv)
    log_file = options.log_file or default_log_file()
    repeats = log_to_file(log_file)
    logger.info("The class room's log: %s", log_file, extra=FOR_THE_HUB)
    # The same open-files limit as ``ws-course serve``.
    limits.raise_open_files_limit()
    address = urlsplit(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101"))
    try:
        asyncio.run(run(options.listen or address.hostname or "127.0.0.1", address.port or 10101))
    finally:
        repeats.flush(logger)


if __name__ == "__main__":
    main()

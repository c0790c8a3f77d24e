"""Which web pages may talk to a course server: the origin check.

Why it exists
-------------
A browser lets *any* page open a WebSocket to *any* server: the same-origin policy
that stops ``fetch()`` from reading another site does not apply to WebSockets. So
while a student has the class chat's page open, any other site they visit could
run ``new WebSocket("ws://192.168.1.10:8001/")`` in the background and join the
room in their name, read it, post to it. This is *cross-site WebSocket hijacking*.

What the server can check is the ``Origin`` header: browsers add it to every
WebSocket handshake, with the origin (scheme, host and port) of the page that
opened the socket, and a page cannot change it.

The rule
--------
:class:`OriginCheck` admits a request when its ``Origin`` is

- absent: not a browser (a Python client, ``curl``, a widget): the origin check
  protects browsers' users, and other clients can say anything anyway;
- ``null``: a page opened from disk (``file://``, the article's own pages) or a
  sandboxed frame;
- the page's own origin: the server's own page, ``http://`` + the ``Host`` the
  request was sent to. Behind a proxy (JupyterHub, jupyter-server-proxy) the page
  comes from the proxy's address, which the proxy names in ``X-Forwarded-Host``
  and ``X-Forwarded-Proto``; a web page cannot set those headers on a WebSocket
  handshake, so trusting them admits no other site;
- one you allowed: ``allow=["http://teacher.example:8000"]``
  (``--allow-origin`` on the command line).

Any other origin gets HTTP 403 before the handshake, and one line in the log.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

#: The ``Origin`` of a page opened from a file, or of a sandboxed frame.
NULL = "null"

#: Default ports, which an origin leaves out: ``http://example.com`` is port 80.
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def normalize(origin: str) -> str:
    """An origin written one way: lower case, no default port, no path.

    ``HTTP://Example.COM:80/`` and ``http://example.com`` are the same origin.
    Raises :exc:`ValueError` for something that is not a ``scheme://host[:port]``.
    """
    origin = origin.strip()
    if origin == NULL:
        return NULL
    parts = urlsplit(origin)
    if not parts.scheme or not parts.hostname:
        raise ValueError(f"not an origin (scheme://host[:port]): {origin!r}")
    scheme, host, port = parts.scheme.lower(), parts.hostname.lower(), parts.port  # port: ValueError if bad
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    if port is None or port == DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def own_origins(host: str | None, forwarded_host: str | None = None, forwarded_proto: str | None = None) -> set[str]:
    """The origins a page served by this server has, seen from one request.

    ``host`` is the request's ``Host`` header; ``forwarded_host`` and
    ``forwarded_proto`` are ``X-Forwarded-Host`` and ``X-Forwarded-Proto``, set by
    a proxy in front of the server (with several proxies, the first one counts:
    it is the one the browser talked to).
    """
    origins = set()
    scheme = (forwarded_proto or "http").split(",")[0].strip().lower() or "http"
    # A proxy names the scheme of the request it got: for a WebSocket handshake that is
    # ws or wss (JupyterHub's proxy does so), while the page that opened it was http(s).
    scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    for name, value in (("Host", host), ("X-Forwarded-Host", forwarded_host)):
        value = (value or "").split(",")[0].strip()
        if not value:
            continue
        for candidate in {scheme, "http"} if name == "Host" else {scheme}:
            try:
                origins.add(normalize(f"{candidate}://{value}"))
            except ValueError:
                pass  # a malformed Host admits nothing
    return origins


class OriginCheck:
    """The origin rule of one server (see the module's documentation).

    Args:
        allow: More origins to admit, e.g. ``["http://192.168.1.10:8888"]``.
            ``"*"`` admits every origin (the check is then off: don't, in a classroom).
    """

    def __init__(self, allow: Iterable[str] = ()) -> None:
        allow = list(allow)
        self.everyone = "*" in allow
        self.allowed = {normalize(origin) for origin in allow if origin != "*"}

    def allows(
        self,
        origin: str | None,
        host: str | None,
        forwarded_host: str | None = None,
        forwarded_proto: str | None = None,
    ) -> bool:
        """True when a request with these headers may go on (``None``: the header is absent)."""
        if origin is None or self.everyone:
            return True
        try:
            origin = normalize(origin)
        except ValueError:
            return False
        return origin == NULL or origin in self.allowed or origin in own_origins(host, forwarded_host, forwarded_proto)

    def refusal(self, headers) -> str | None:
        """Why a request with these headers is refused, or None if it may go on.

        ``headers`` is any mapping with ``get_all(name)`` (websockets) or
        ``getall(name, default)`` (aiohttp) for headers that may come more than once.
        """
        origins = _all(headers, "Origin")
        if len(origins) > 1:
            return "more than one Origin header"
        origin = origins[0] if origins else None
        host = ", ".join(_all(headers, "Host")) or None
        if self.allows(origin, host, _first(headers, "X-Forwarded-Host"), _first(headers, "X-Forwarded-Proto")):
            return None
        return f"origin {origin} not allowed"

    def __repr__(self) -> str:
        allowed = ["*"] if self.everyone else sorted(self.allowed)
        return f"OriginCheck(allow={allowed})"


def _all(headers, name: str) -> list[str]:
    if hasattr(headers, "get_all"):
        return list(headers.get_all(name))
    return list(headers.getall(name, []))


def _first(headers, name: str) -> str | None:
    values = _all(headers, name)
    return values[0] if values else None

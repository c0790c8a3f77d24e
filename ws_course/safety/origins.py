"""Which web pages may talk to a course server: the origin check and the host check.

Why they exist
--------------
A browser lets *any* page open a WebSocket to *any* server: the same-origin policy
that stops ``fetch()`` from reading another site does not apply to WebSockets. So
while a student has the class chat's page open, any other site they visit could
run ``new WebSocket("ws://192.168.1.10:8001/")`` in the background and join the
room in their name, read it, post to it. This is *cross-site WebSocket hijacking*.

What the server can check is the ``Origin`` header: browsers add it to every
WebSocket handshake, with the origin (scheme, host and port) of the page that
opened the socket, and a page cannot change it.

The origin rule
---------------
:class:`OriginCheck` admits a request when its ``Origin`` is

- absent: not a browser (a Python client, ``curl``, a widget): the origin check
  protects browsers' users, and other clients can say anything anyway;
- the page's own origin: the server's own page, ``http://`` + the ``Host`` the
  request was sent to. Behind a proxy (JupyterHub, jupyter-server-proxy) the page
  comes from the proxy's address, which the proxy names in ``X-Forwarded-Host``
  and ``X-Forwarded-Proto``; a web page cannot set those headers on a WebSocket
  handshake, and a page of another site that sets them on a ``fetch()`` must ask
  first (a CORS preflight, which carries its ``Origin`` and is refused), so
  trusting them admits no other site;
- one you allowed: ``allow=["http://teacher.example:8000"]``
  (``--allow-origin`` on the command line).

``Origin: null`` is refused. It is what a page opened from disk (``file://``, the
article's own pages) sends, but also what *any* site gets by running its script in
a frame sandboxed with ``allow-scripts`` only (``<iframe sandbox="allow-scripts"
srcdoc=...>``): a server cannot tell the two apart, and admitting ``null`` admits
every site. Two ways in remain, neither of which another site can take:

- the learner opts in, ``allow=["null"]`` (``--allow-origin null``), to open the
  article's pages from disk, knowing that every site's sandboxed frames get in too;
- the sandboxed page this very server served (the article's page of lesson 03,
  :mod:`ws_course.web.article`) carries the server's *page key*, a random string
  made when the server starts, in its WebSocket address (``?page=KEY``). Another
  site cannot read that page (a browser shows one site's responses to another only
  with CORS headers, which the server does not send), so it cannot learn the key.

The host rule (DNS rebinding)
-----------------------------
The origin rule compares ``Origin`` with ``Host``; both come from the browser, and
an attacker who owns a name can make them agree. Their page at
``http://rebind.example:8001/`` loads from their own server; then their DNS says
``rebind.example`` is ``127.0.0.1``. The page's requests to its own origin now
reach the course's server on this machine, with ``Origin: http://rebind.example:8001``
and ``Host: rebind.example:8001``: "its own page". (Its plain requests, a page or
a long-polling ``GET``, carry no ``Origin`` at all: a browser leaves it out of
same-origin ``GET``s.) :class:`HostCheck` refuses such requests by the name they
were sent to, as Jupyter Server does. A request's ``Host`` must be

- an IP address (``127.0.0.1``, ``[::1]``, the teacher's ``192.168.1.10``): DNS
  decides nothing there, so there is nothing to rebind;
- a name of this machine: ``localhost`` and ``*.localhost`` (browsers resolve
  those themselves, to this machine), and its own host name;
- a name you allowed: ``allow=["teacher.school.example"]`` (``--allow-host``);
- behind a proxy (a JupyterHub, a remote Jupyter server; ``behind_proxy=True``,
  which :func:`ws_course.start` sets itself in a kernel that such a server runs),
  any name on another port than this server's own. A browser that talks to this
  server directly names this server's port in ``Host`` (that is what rebinding
  needs); one that comes through the proxy names the proxy's port. The proxy lets
  only its logged-in users through, and they reach it by its names only.

What the host rule does not check: a WebSocket handshake without ``Origin``, which
no browser sends (so no page makes it). ``X-Forwarded-Host`` does not count for it:
a page may set that header on its own same-origin requests.

Any other request gets HTTP 403 before the handshake, and one line in the log
that says how to admit it, if you mean to.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import re
import secrets
import socket
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit

#: The ``Origin`` of a page opened from a file, or of a sandboxed frame.
NULL = "null"

#: Default ports, which an origin leaves out: ``http://example.com`` is port 80.
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

#: The query parameter that carries a server's page key: ``ws://host:port/?page=KEY``.
PAGE_KEY_PARAMETER = "page"

#: What a host name may be made of (letters, digits, ``-``, ``_``, dots).
_NAME = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*")


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


def new_page_key() -> str:
    """A server's page key: 128 random bits, as URL-safe text."""
    return secrets.token_urlsafe(16)


def page_key_in(query: str | None) -> str | None:
    """The page key a request's query string carries (``page=KEY``), if any."""
    values = parse_qs(query or "").get(PAGE_KEY_PARAMETER)
    return values[0] if values else None


class OriginCheck:
    """The origin rule of one server (see the module's documentation).

    Args:
        allow: More origins to admit, e.g. ``["http://192.168.1.10:8888"]``;
            ``"null"`` admits pages opened from disk, and every site's sandboxed frames.
            ``"*"`` admits every origin (the check is then off: don't, in a classroom).
        page_key: The key a sandboxed page this server served shows with ``Origin: null``.
    """

    def __init__(self, allow: Iterable[str] = (), page_key: str | None = None) -> None:
        allow = list(allow)
        self.everyone = "*" in allow
        self.allowed = {normalize(origin) for origin in allow if origin != "*"}
        self.page_key = page_key

    def allows(
        self,
        origin: str | None,
        host: str | None,
        forwarded_host: str | None = None,
        forwarded_proto: str | None = None,
        key: str | None = None,
    ) -> bool:
        """True when a request with these headers may go on (``None``: the header is absent).

        ``key``: the page key the request's address carries (:func:`page_key_in`).
        """
        if origin is None or self.everyone:
            return True
        try:
            origin = normalize(origin)
        except ValueError:
            return False
        if origin in self.allowed:
            return True
        if origin == NULL:
            return self.page_key is not None and key is not None and hmac.compare_digest(key.encode(), self.page_key.encode())
        return origin in own_origins(host, forwarded_host, forwarded_proto)

    def refusal(self, headers, query: str | None = None) -> str | None:
        """Why a request with these headers is refused, or None if it may go on.

        ``headers`` is any mapping with ``get_all(name)`` (websockets) or
        ``getall(name, default)`` (aiohttp) for headers that may come more than once;
        ``query`` is the request's query string (where a page key would be).
        """
        origins = _all(headers, "Origin")
        if len(origins) > 1:
            return "more than one Origin header"
        origin = origins[0] if origins else None
        host = ", ".join(_all(headers, "Host")) or None
        forwarded = _first(headers, "X-Forwarded-Host"), _first(headers, "X-Forwarded-Proto")
        if self.allows(origin, host, *forwarded, key=page_key_in(query)):
            return None
        if origin is not None and origin.strip() == NULL:
            return (
                "origin null not allowed: a page opened from disk sends it, and so does any site's "
                'sandboxed frame; --allow-origin null (allow_origins=["null"]) admits both'
            )
        return f"origin {origin} not allowed"

    def __repr__(self) -> str:
        allowed = ["*"] if self.everyone else sorted(self.allowed)
        return f"OriginCheck(allow={allowed})"


def split_host(host: str) -> tuple[str, int | None]:
    """A ``Host`` header's name and port: ``"Room.localhost.:8001"`` -> ``("room.localhost", 8001)``.

    IPv6 addresses lose their brackets: ``"[::1]:8001"`` -> ``("::1", 8001)``. Raises
    :exc:`ValueError` for what is neither a name nor an address, with an optional port.
    """
    found = re.fullmatch(r"(\[[^\]]*\]|[^:\[\]]*)(?::(\d{1,5}))?", host.strip())
    if found is None:
        raise ValueError(f"not a host[:port]: {host!r}")
    name, port = found[1].lower(), int(found[2]) if found[2] else None
    if name.startswith("["):
        name = name[1:-1]
        ipaddress.IPv6Address(name.partition("%")[0])  # ValueError if it is not one
    else:
        name = name.removesuffix(".")  # "localhost." is "localhost", written fully qualified
        if not (_is_address(name) or _NAME.fullmatch(name)):
            raise ValueError(f"not a host[:port]: {host!r}")
    return name, port


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name.partition("%")[0])  # an IPv6 address may name its interface: fe80::1%eth0
    except ValueError:
        return False
    return True


def is_local_name(name: str) -> bool:
    """``localhost`` and its subdomains, which browsers resolve themselves, to this machine (RFC 6761)."""
    return name == "localhost" or name.endswith(".localhost")


@functools.cache
def machine_names() -> frozenset[str]:
    """This machine's own host name, as ``socket.gethostname()`` says, and its ``.local`` (mDNS) name."""
    name = socket.gethostname().lower().removesuffix(".")
    short = name.split(".")[0]
    return frozenset(candidate for candidate in (name, short, f"{short}.local") if candidate)


def check_host_name(name: str) -> str:
    """A name for ``allow_hosts``, written one way (lower case); ``"*"`` admits every name.

    Raises :exc:`ValueError` for anything else (a URL, a name with a port).
    """
    name = name.strip().lower().removesuffix(".")
    if name != "*" and not _NAME.fullmatch(name):
        raise ValueError(f"not a host name (e.g. teacher.school.example, without scheme or port): {name!r}")
    return name


class HostCheck:
    """The host rule of one server (see the module's documentation): against DNS rebinding.

    Args:
        allow: More names to answer to, e.g. ``["teacher.school.example"]``.
            ``"*"`` admits every name (the check is then off).
        behind_proxy: A proxy (a JupyterHub's, a remote Jupyter server's) forwards
            browsers to this server: names on other ports than its own are the proxy's.
    """

    def __init__(self, allow: Iterable[str] = (), behind_proxy: bool = False) -> None:
        names = {check_host_name(name) for name in allow}
        self.everyone = "*" in names
        self.allowed = names - {"*"}
        self.behind_proxy = behind_proxy

    def allows(self, host: str, own_port: int | None = None) -> bool:
        """True when a request sent to ``host`` (its ``Host`` header) may go on.

        ``own_port`` is the port this server received the request on.
        """
        if self.everyone:
            return True
        try:
            name, port = split_host(host)
        except ValueError:
            return False
        if _is_address(name) or is_local_name(name) or name in self.allowed or name in machine_names():
            return True
        if not self.behind_proxy or own_port is None:
            return False
        # Behind a proxy: through it, the browser names the proxy's port; straight to
        # this server, this server's own.
        named = {port} if port is not None else {80, 443}  # no port: the scheme's default
        return own_port not in named

    def refusal(self, headers, own_port: int | None, websocket: bool) -> str | None:
        """Why a request with these headers is refused, or None if it may go on.

        ``websocket``: the request asks for a WebSocket. Without ``Origin``, such a
        request comes from no browser, and the rule does not apply to it.
        """
        hosts = _all(headers, "Host")
        if not hosts or (websocket and not _all(headers, "Origin")):
            return None  # no browser sends a request without Host, or a handshake without Origin
        host = ", ".join(hosts)
        if self.allows(host, own_port):
            return None
        try:
            name, _ = split_host(host)
        except ValueError:
            return f"host {host} not allowed: not a host name"
        return (
            f"host {host} not allowed: not a name of this machine, and a page at such a name may be "
            f"DNS rebinding; --allow-host {name} (allow_hosts=[{name!r}]) admits it"
        )

    def __repr__(self) -> str:
        allowed = ["*"] if self.everyone else sorted(self.allowed)
        return f"HostCheck(allow={allowed}, behind_proxy={self.behind_proxy})"


def _all(headers, name: str) -> list[str]:
    if hasattr(headers, "get_all"):
        return list(headers.get_all(name))
    return list(headers.getall(name, []))


def _first(headers, name: str) -> str | None:
    values = _all(headers, name)
    return values[0] if values else None

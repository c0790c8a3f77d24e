"""Is this request a WebSocket handshake? One answer for every server of the course.

A server that serves a page and a WebSocket on one port, the guard that caps a
room, the hub's login, Socket.IO's guard: each tells a request that asks to
become a WebSocket from a plain HTTP request. They must all agree, and agree
with the library that does the handshake: a request that one of them takes for
a page and the library then upgrades skips whatever applied only to WebSockets
(``Upgrade: websocket,`` with a trailing comma once walked past a full room's cap).
"""

from __future__ import annotations

from typing import Any

__all__ = ["wants_websocket"]


def wants_websocket(request: Any) -> bool:
    """Whether ``request`` asks to become a WebSocket: ``websocket``, in any case, among its ``Upgrade`` protocols.

    ``request`` is a websockets :class:`~websockets.http11.Request` or an aiohttp
    ``web.Request``. Every ``Upgrade`` header counts (a request may repeat one),
    and each lists protocols separated by commas: ``websocket``, ``WebSocket``,
    ``websocket,`` and ``h2c, websocket`` all ask. So whatever websockets or aiohttp
    would upgrade gets a yes here; whether the handshake is right, they check next.
    """
    headers = request.headers
    if hasattr(headers, "get_all"):  # websockets' Headers
        values = headers.get_all("Upgrade")
    else:  # aiohttp's multidict
        values = headers.getall("Upgrade", [])
    return any(protocol.strip().lower() == "websocket" for value in values for protocol in value.split(","))

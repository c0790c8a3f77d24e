"""What a demo server sees of a browser that reaches it through a proxy: the request headers.

An origin check in a demo server compares a request's ``Origin`` (the page that
opened the socket) with the address the browser used (``Host``, or
``X-Forwarded-Host`` and ``X-Forwarded-Proto`` where a proxy sets them). Behind
jupyter-server-proxy, and behind JupyterHub's proxy in front of it, which headers
arrive is a fact about those proxies, so the tests pin it down here.

:class:`HeaderRecorder` is a small aiohttp server on a free loopback port that
records the headers of every request: its page (``/``) opens a WebSocket (``ws``)
and then POSTs (``poll``), as a Socket.IO page's long-polling does.
"""

from __future__ import annotations

import asyncio
import threading
import time

from aiohttp import web
from playwright.sync_api import expect

PAGE = """<!DOCTYPE html>
<html><body><p id="state">loading</p><script>
    var state = document.getElementById("state");
    var socket = new WebSocket(new URL("ws", location.href.replace(/^http/, "ws")));
    socket.onopen = function () {
        state.textContent = "socket open";
        fetch("poll", {method: "POST", body: "2probe"}).then(function (response) {
            state.textContent = "posted " + response.status;
        });
    };
    socket.onerror = function () { state.textContent = "socket error"; };
</script></body></html>
"""


class HeaderRecorder:
    """Records the headers of each request, by kind: ``page``, ``websocket``, ``poll``."""

    def __init__(self) -> None:
        self.headers: dict[str, dict[str, str]] = {}
        self._ready = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True)
        self._thread.start()
        self._ready.wait(10)

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._page)
        app.router.add_get("/ws", self._websocket)
        app.router.add_post("/poll", self._poll)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = runner.addresses[0][1]
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    def _record(self, kind: str, request: web.Request) -> None:
        self.headers[kind] = dict(request.headers)

    async def _page(self, request: web.Request) -> web.Response:
        self._record("page", request)
        return web.Response(text=PAGE, content_type="text/html")

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        self._record("websocket", request)
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.close()
        return socket

    async def _poll(self, request: web.Request) -> web.Response:
        self._record("poll", request)
        return web.Response(text="ok")

    def visit(self, page, url: str) -> None:
        """Open the recorder's page at ``url`` (through a proxy) and wait for its three requests."""
        page.goto(url)
        expect(page.locator("#state")).to_have_text("posted 200")
        # jupyter-server-proxy accepts the browser's WebSocket before it opens its own to
        # the server: the page can be done before the server has seen that request.
        deadline = time.monotonic() + 10
        while set(self.headers) != {"page", "websocket", "poll"} and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def origin_matches_host(headers: dict[str, str]) -> bool:
    """The comparison an origin check makes: ``Origin`` against the forwarded or plain host and scheme."""
    host = headers.get("X-Forwarded-Host") or headers["Host"]
    scheme = {"ws": "http", "wss": "https"}.get(headers.get("X-Forwarded-Proto", "http"), headers.get("X-Forwarded-Proto", "http"))
    return headers.get("Origin") == f"{scheme}://{host}"

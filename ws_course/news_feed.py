"""The news feed of lessons 07a and 07b, served four ways: short polling, long-polling, Server-Sent Events, WebSocket.

The feed publishes an item every ``period`` seconds. A client can follow it in
four ways, all on one port:

=========================  =================================================================
``GET /poll?after=N``      short polling: the items after item N, at once (often none: ``[]``)
``GET /long-poll?after=N`` long-polling: the same, but the server holds the request until
                           there is an item to send
``GET /events``            Server-Sent Events: one response that never ends, an event per item
``GET /`` with Upgrade     WebSocket: a message per item
``GET /``                  the page that follows the feed the four ways, side by side
=========================  =================================================================

Without ``?after=N``, a client first gets the latest item, then every new one.
Every item travels as the same JSON text, whichever way it goes::

    {"id":3,"text":"news item 3","at":1767225600123456}

``at`` is the moment it was published, in microseconds since 1970, so that a
client on the same machine can tell how long the item took to reach it.

One server, one event loop and one library (aiohttp) serve all four, so that
they are compared fairly: aiohttp can hold a request open (long-polling) and
stream a response (events), which polling's successors need. Its WebSocket is
the same protocol, byte for byte, as the ``websockets`` library's. Nothing is
compressed, so that every way sends the same item bytes.

It is an instrument to measure, not a room a class shares: it has none of the
classroom protections of the demo servers (origin check, member and buffer caps,
:mod:`ws_course.safety.guard`); nobody sends it anything but requests for news.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import time
from collections import Counter

from aiohttp import web

from .language.pages import page_file
from .safety.upgrade import wants_websocket
from .web.aiohttp_app import AppServer
from .web.static import SHARED, STATIC

#: Seconds a long-poll is held when there is no news: then it gets ``[]`` and asks
#: again. (Proxies and browsers give up on a request that stays silent much longer.)
HOLD = 25


class Feed:
    """The news: an item every ``period`` seconds, and how many requests asked for it.

    With ``at_random=True``, each item comes at a random moment within its period
    instead of on the clock's tick, as real news does: a poller then meets each item
    at a different point of its own cycle (the measurements of lesson 07b need that,
    or every item would wait exactly as long as the one before).

    Attributes:
        items: Every item so far, as the JSON text clients get; item N is ``items[N - 1]``.
        requests: HTTP requests received, by way of following: ``"poll"``,
            ``"long-poll"``, ``"events"`` and ``"websocket"`` (the last two make
            one request per connection).
    """

    def __init__(self, period: float = 1.0, *, at_random: bool = False) -> None:
        self.period = period
        self.at_random = at_random
        self.items: list[str] = []
        self.requests: Counter[str] = Counter()
        self.closed = False
        self._news = asyncio.Event()

    def publish(self, text: str) -> None:
        """Add an item, stamped with the moment it is published, and wake whoever waits for news."""
        at = time.time_ns() // 1000  # microseconds: 16 digits, every item the same length
        item = {"id": len(self.items) + 1, "text": text, "at": at}
        self.items.append(json.dumps(item, separators=(",", ":")))
        self._news.set()  # wake everyone waiting for news...
        self._news = asyncio.Event()  # ...and the next ones wait for the next item

    async def after(self, seen: int) -> list[str]:
        """The items after the first ``seen``, as soon as there is one (or the feed closes)."""
        while len(self.items) <= seen and not self.closed:
            await self._news.wait()
        return self.items[seen:]

    def latest(self) -> int:
        """How many items a newcomer has "seen": all but the latest, which it gets first."""
        return max(len(self.items) - 1, 0)

    async def publish_every_period(self) -> None:
        """Publish item after item on the clock, at start + period, start + 2 × period, ...

        (Sleeping ``period`` after each item instead would let the delays add up.)
        At random, item N comes at a moment drawn between start + (N - 1) × period
        and start + N × period: on average still one item a period.
        """
        loop = asyncio.get_running_loop()
        start = loop.time()
        for tick in itertools.count(1):
            phase = random.random() if self.at_random else 1.0
            await asyncio.sleep(start + (tick - 1 + phase) * self.period - loop.time())
            self.publish(f"news item {len(self.items) + 1}")

    def open(self) -> None:
        """Get ready to serve on the running event loop (a feed can be served again)."""
        self.closed = False
        self._news = asyncio.Event()

    def close(self) -> None:
        """Stop serving: whoever waits for news gets what there is, now."""
        self.closed = True
        self._news.set()


FEED = web.AppKey("feed", Feed)
WEBSOCKETS = web.AppKey("websockets", set)


def seen_by(request: web.Request, given: str | None) -> int:
    """How many items the client has: ``given`` (``?after=N``), or the newcomer's count."""
    feed = request.app[FEED]
    if given is None:
        return feed.latest()
    if not (given.isascii() and given.isdigit() and len(given) < 10):
        raise web.HTTPBadRequest(text=f"after= must be an item's number, like after=12; got {given!r}\n")
    return int(given)


def items_response(items: list[str]) -> web.Response:
    return web.Response(text=f"[{','.join(items)}]", content_type="application/json")


async def poll(request: web.Request) -> web.Response:
    """Short polling: answer at once with the items after ``?after=N``, often none at all."""
    feed = request.app[FEED]
    feed.requests["poll"] += 1
    return items_response(feed.items[seen_by(request, request.query.get("after")):])


async def long_poll(request: web.Request) -> web.Response:
    """Long-polling: hold the request until there is an item after ``?after=N``, then answer."""
    feed = request.app[FEED]
    feed.requests["long-poll"] += 1
    seen = seen_by(request, request.query.get("after"))
    try:
        async with asyncio.timeout(HOLD):
            items = await feed.after(seen)
    except TimeoutError:
        items = []  # no news for a long while: "nothing", and the client asks again
    return items_response(items)


async def events(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: one response that never ends, an ``id:`` and a ``data:`` line per item."""
    feed = request.app[FEED]
    feed.requests["events"] += 1
    # A browser that lost the stream reconnects by itself, saying the last id it got.
    seen = seen_by(request, request.headers.get("Last-Event-ID"))
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
    await response.prepare(request)  # sends the status line and headers: the body follows, forever
    try:
        while not feed.closed:
            for item in await feed.after(seen):
                seen += 1
                await response.write(f"id: {seen}\ndata: {item}\n\n".encode())
    except ConnectionError:
        pass  # the client left
    return response


async def page_or_websocket(request: web.Request) -> web.StreamResponse:
    """``/``: the page for a browser, or a WebSocket that sends every item as a message."""
    if not wants_websocket(request):
        return web.Response(body=page_file(STATIC / "feeds.html", str(request.rel_url)), content_type="text/html",
                            charset="utf-8", headers={"Cache-Control": "no-store"})
    feed = request.app[FEED]
    feed.requests["websocket"] += 1
    # timeout: seconds to wait for the client's answer when we close.
    websocket = web.WebSocketResponse(compress=False, timeout=1)
    await websocket.prepare(request)  # the opening handshake
    request.app[WEBSOCKETS].add(websocket)
    sending = asyncio.create_task(send_news(websocket, feed))
    try:
        async for _message in websocket:
            pass  # the feed only talks; reading is how we notice the client closing
    finally:
        sending.cancel()
        request.app[WEBSOCKETS].discard(websocket)
    return websocket


async def send_news(websocket: web.WebSocketResponse, feed: Feed) -> None:
    seen = feed.latest()
    try:
        while not feed.closed:
            for item in await feed.after(seen):
                seen += 1
                await websocket.send_str(item)
    except ConnectionError:
        pass  # the client left


async def course_js(request: web.Request) -> web.FileResponse:
    return web.FileResponse(SHARED["/course.js"], headers={"Cache-Control": "no-store"})


async def publishing(app: web.Application):
    """While the server runs, the feed publishes."""
    feed = app[FEED]
    feed.open()
    publisher = asyncio.create_task(feed.publish_every_period())
    yield
    publisher.cancel()


async def goodbye(app: web.Application) -> None:
    """When the server stops: held requests and event streams end, WebSockets close with 1001."""
    app[FEED].close()
    await asyncio.gather(*(websocket.close(code=1001, message=b"going away") for websocket in app[WEBSOCKETS]))


def make_app(feed: Feed) -> web.Application:
    app = web.Application()
    app[FEED] = feed
    app[WEBSOCKETS] = set()
    app.router.add_get("/", page_or_websocket)
    app.router.add_get("/poll", poll)
    app.router.add_get("/long-poll", long_poll)
    app.router.add_get("/events", events)
    app.router.add_get("/course.js", course_js)
    app.cleanup_ctx.append(publishing)
    app.on_shutdown.append(goodbye)
    return app


async def serve(
    host: str = "127.0.0.1",
    port: int = 8001,
    *,
    period: float = 1.0,
    feed: Feed | None = None,
    logger: logging.Logger | None = None,
    close_timeout: float = 10,
) -> AppServer:
    """Start the feed's server, publishing an item every ``period`` seconds.

    Pass your own ``feed`` (a :class:`Feed`, which has its own ``period``) to read
    its ``items`` and ``requests`` while it is served.
    """
    feed = feed or Feed(period)
    server = await AppServer(make_app(feed), host, port, close_timeout=close_timeout)
    (logger or logging.getLogger(__name__)).info("publishing an item every %g s", feed.period)
    return server

"""Four ways to follow the news feed of lessons 07a and 07b (:mod:`ws_course.news_feed`) from Python.

Each ``follow_...`` coroutine follows the feed whose page is at ``url``
(``http://host:port/``) until it is cancelled, and calls ``on_item(item)`` for
every item as it arrives: a dict, ``{"id": 3, "text": "news item 3", "at": ...}``.
The first item is the latest one already published; then comes every new one,
in order. These are the same four ways as the feed's page (``static/feeds.html``).

Each client is one user: it has an HTTP session of its own, which keeps its
connection open between requests, as a browser does. Nothing here sends more
headers than it must, so a browser's requests (with its cookies) cost more.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp
from websockets.asyncio.client import connect

OnItem = Callable[[dict[str, Any]], Any]


async def follow_short_poll(url: str, on_item: OnItem, interval: float = 1.0) -> None:
    """Ask "anything new?" every ``interval`` seconds; the answer comes at once, often ``[]``."""
    async with aiohttp.ClientSession() as session:
        seen = None  # no ?after= at first: the server sends its latest item
        while True:
            params = {} if seen is None else {"after": seen}
            async with session.get(url + "poll", params=params) as response:
                response.raise_for_status()
                for item in await response.json():
                    on_item(item)
                    seen = item["id"]
            await asyncio.sleep(interval)


async def follow_long_poll(url: str, on_item: OnItem) -> None:
    """Ask, and let the server hold the question until there is news; then ask again at once."""
    async with aiohttp.ClientSession() as session:
        seen = None
        while True:
            params = {} if seen is None else {"after": seen}
            async with session.get(url + "long-poll", params=params) as response:
                response.raise_for_status()
                for item in await response.json():
                    on_item(item)
                    seen = item["id"]


async def follow_events(url: str, on_item: OnItem) -> None:
    """Make one request whose response never ends: Server-Sent Events, an event per item.

    An event is ``field: value`` lines ended by an empty line; the item is in its
    ``data:`` lines. (A browser's ``EventSource`` also reconnects when the stream
    breaks, sending ``Last-Event-ID``; this client does not.)
    """
    async with aiohttp.ClientSession() as session:
        async with session.get(url + "events", headers={"Accept": "text/event-stream"}) as response:
            response.raise_for_status()
            data: list[bytes] = []
            async for line in response.content:  # one line at a time, as it arrives
                line = line.rstrip(b"\r\n")
                if line.startswith(b"data:"):
                    data.append(line[5:].removeprefix(b" "))
                elif not line and data:  # an empty line ends the event
                    on_item(json.loads(b"\n".join(data)))
                    data = []


async def follow_websocket(url: str, on_item: OnItem) -> None:
    """Open a WebSocket: after the handshake, the server sends each item as a message."""
    async with connect("ws" + url.removeprefix("http"), proxy=None) as websocket:
        async for message in websocket:
            on_item(json.loads(message))


#: The four ways, by the name the lesson gives them.
WAYS = {
    "short polling": follow_short_poll,
    "long-polling": follow_long_poll,
    "Server-Sent Events": follow_events,
    "WebSocket": follow_websocket,
}

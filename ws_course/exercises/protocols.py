"""The check of lesson 07: a long-poll client. (Lesson 08's checks are in :mod:`~ws_course.exercises.frames`.)"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from ..demos import start
from . import judging
from .judging import (
    Crashes,
    NotYet,
    Result,
    describe,
    judge,
)

#: Items lesson 07's check waits for, and how often its feed publishes one (seconds).
FEED_ITEMS, FEED_PERIOD = 5, 0.2


async def check_long_poll(follow_long_poll: Callable[..., Awaitable[None]]) -> Result:
    """Lesson 07: ``await follow_long_poll(url, on_item)`` follows the news feed by long-polling.

    The check runs your client on a feed of its own, beside the course's
    Server-Sent Events client, and compares: the same items, each once, in order.
    The feed's server counts the requests your client made, and where it made them.
    """
    from ..measure.feed_clients import follow_events
    from ..news_feed import Feed

    async def conversation(crashes: Crashes) -> str:
        feed = Feed(period=FEED_PERIOD)
        yours: list[Any] = []
        theirs: list[dict[str, Any]] = []
        with start("news_feed", name="check-feed", feed=feed) as server:
            try:
                following = follow_long_poll(server.page_url, yours.append)
            except Exception as error:
                raise NotYet(f"follow_long_poll(url, on_item) raised {describe(error)}") from None
            if not inspect.isawaitable(following):
                raise NotYet(f"follow_long_poll(url, on_item) returned {following!r} at once: is it an 'async def'?")
            tasks = [asyncio.ensure_future(following), asyncio.ensure_future(follow_events(server.page_url, theirs.append))]
            try:
                while len(yours) <= FEED_ITEMS and not tasks[0].done():
                    await asyncio.sleep(0.02)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        if not tasks[0].cancelled() and tasks[0].exception():
            raise NotYet(f"follow_long_poll raised {describe(tasks[0].exception())}")
        if len(yours) <= FEED_ITEMS:
            raise NotYet(
                f"follow_long_poll returned after {len(yours)} items: it should follow the feed until it is "
                "cancelled (ask again, in a loop, after every answer)"
            )
        if feed.requests["poll"]:
            raise NotYet(
                "your client asked /poll, again and again: that is short polling. Ask /long-poll, which the "
                "server holds until there is news"
            )
        wrong = next((item for item in yours if not isinstance(item, dict)), None)
        if wrong is not None:
            raise NotYet(f"on_item got {wrong!r}: give it each item as a dict (what response.json() returns)")
        ids = [item.get("id") for item in yours]
        if ids != list(range(ids[0], ids[0] + len(ids))):
            raise NotYet(f"your client got the items {ids}: expected each item once, in order (did you send ?after=?)")
        requests = feed.requests["long-poll"]
        if requests > len(yours) + 1:
            raise NotYet(f"your client made {requests} requests for {len(yours)} items: a long-poll gets an answer "
                         "only when there is news, so about one request an item")
        same = {item["id"]: item for item in theirs}
        for item in yours:
            if item["id"] in same and item != same[item["id"]]:
                raise NotYet(f"your client got {item!r}; the Server-Sent Events client got {same[item['id']]!r}")
        return ("your client follows the feed by long-polling, a request per answer, and got the same items "
                "as the Server-Sent Events client.")

    return await judge(conversation, f"your client got fewer than {FEED_ITEMS + 1} items within {judging.TIMEOUT} s")


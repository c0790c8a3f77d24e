"""Measure the four ways of following the news feed: requests, bytes, latency (lesson 07b).

:func:`measure` follows a feed server (:mod:`ws_course.news_feed`) one way, with
N clients at once (:mod:`ws_course.measure.feed_clients`), and returns a :class:`Run`.
Three observers count, each where it sees best:

- the server counts the requests it received (:attr:`Feed.requests <ws_course.news_feed.Feed.requests>`);
- a :class:`~ws_course.measure.meter.Meter` between the clients and the server counts the
  bytes, both ways, at the socket;
- each client notes the moment every item reached it, and the item says when it
  was published.

A run has two parts. First the clients connect and get the latest item: that is
what it costs to *start* following. Then the *window*, until every client has
``items`` items that were published after the start: requests and bytes counted
in the window, divided by the items delivered in it, are what following costs
per item. The feed publishes each item at a random moment of its period, and
each polling client starts at a random moment of its interval: every item meets
a poller at a different point of its cycle, so the latencies spread between the
best case and the worst, as they do for real news.

Lesson 07b measures in a process of its own, ``python -m ws_course.measure.polling``
(:func:`measure_in_a_process`): a hundred clients, their sessions and buffers are
that process's memory, given back when it ends, not the kernel's. It prints the
runs as JSON; :func:`plot` draws in a process of its own too (matplotlib stays out
of the kernel, and the process speaks the notebook's language). :func:`table` and
:func:`conclusions` show a list of runs, in the notebook's language: they are
:mod:`~ws_course.measure.polling_report`'s, imported here.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from IPython.display import Image

from ..language import ENVIRONMENT_VARIABLE, language
from ..news_feed import Feed
from .feed_clients import WAYS
from .meter import Meter

# What lesson 07b shows of the runs, in the notebook's language (it imports them from here).
from .polling_report import conclusions, draw_png, measured, one_poll, table, times_as_much, went  # noqa: F401

#: What the server calls the requests of each way (the keys of ``Feed.requests``).
REQUEST_KINDS = {
    "short polling": "poll",
    "long-polling": "long-poll",
    "Server-Sent Events": "events",
    "WebSocket": "websocket",
}


@dataclass
class Run:
    """One way of following the feed, measured with ``clients`` clients at once.

    Counts are for all clients together. ``up`` is what the clients sent, ``down``
    what the server sent; ``connect_up`` and ``connect_down`` are the bytes before
    the window (connecting, and the first item); the rest is in the window.
    """

    way: str
    clients: int
    interval: float | None  # short polling's pause between two requests, in seconds
    seconds: float  # the window's length
    requests: int
    up: int
    down: int
    connect_up: int
    connect_down: int
    deliveries: int  # items that reached a client in the window, all clients together
    latencies: list[float] = field(repr=False)  # seconds from publication to receipt, each delivery
    complete: bool = True  # every client got every item from its first on, once each, in order

    @property
    def label(self) -> str:
        """The way, and short polling's interval: ``"short polling, every 100 ms"``, the same in every language."""
        if self.interval is None:
            return self.way
        return f"{self.way}, every {self.interval * 1000:g} ms"

    @property
    def requests_per_item(self) -> float:
        return self.requests / self.deliveries

    @property
    def up_per_item(self) -> float:
        return self.up / self.deliveries

    @property
    def down_per_item(self) -> float:
        return self.down / self.deliveries

    @property
    def bytes_per_second(self) -> float:
        """The traffic, both ways, all clients together, while following."""
        return (self.up + self.down) / self.seconds

    @property
    def median(self) -> float:
        return statistics.median(self.latencies)

    @property
    def worst(self) -> float:
        return max(self.latencies)


async def measure(
    url: str, feed: Feed, way: str, clients: int = 1, *, items: int = 3, interval: float = 0.1, timeout: float = 10
) -> Run:
    """Follow the feed served at ``url`` (whose :class:`Feed` is ``feed``) one way; return the :class:`Run`.

    ``way`` is a key of :data:`~ws_course.measure.feed_clients.WAYS`; ``interval`` is
    short polling's, in seconds. ``timeout``: seconds to wait, past the items'
    own schedule, before saying that the clients did not get them.
    """
    options = {"interval": interval} if way == "short polling" else {}

    async def follow(url: str, on_item: Callable[[dict[str, Any]], None], **options: Any) -> None:
        if options:  # a poller starts at a random moment of its interval, as users arrive when they like
            await asyncio.sleep(random.uniform(0, interval))
        await WAYS[way](url, on_item, **options)

    received: list[list[tuple[dict[str, Any], float]]] = [[] for _ in range(clients)]
    news = asyncio.Event()

    def receiver(client: int) -> Callable[[dict[str, Any]], None]:
        def on_item(item: dict[str, Any]) -> None:
            received[client].append((item, time.time()))
            news.set()

        return on_item

    address = urlsplit(url)
    async with Meter(address.hostname, address.port) as meter:
        tasks = [asyncio.create_task(follow(meter.url, receiver(client), **options)) for client in range(clients)]
        for task in tasks:
            task.add_done_callback(lambda _task: news.set())

        async def until(condition: Callable[[], bool], seconds: float, what: str) -> None:
            try:
                async with asyncio.timeout(seconds):
                    while not condition():
                        for task in tasks:
                            if task.done() and task.exception():
                                raise RuntimeError(f"a {way} client failed: {task.exception()!r}")
                        news.clear()
                        await news.wait()
            except TimeoutError:
                raise TimeoutError(f"{way}, {clients} clients: {what} within {seconds:g} s") from None

        try:
            await until(lambda: all(received), timeout + feed.period, "not every client got its first item")
            started, requests, up, down = time.time(), feed.requests[REQUEST_KINDS[way]], meter.up, meter.down
            target = len(feed.items) + items  # the window ends when every client has this item
            await until(
                lambda: all(got[-1][0]["id"] >= target for got in received),
                timeout + items * feed.period + (interval if options else 0),
                f"not every client got item {target}",
            )
            ended = time.time()
            run = Run(
                way, clients, options.get("interval"), ended - started,
                requests=feed.requests[REQUEST_KINDS[way]] - requests,
                up=meter.up - up, down=meter.down - down, connect_up=up, connect_down=down,
                deliveries=0, latencies=[],
            )
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    for got in received:
        ids = [item["id"] for item, _ in got]
        run.complete &= ids == list(range(ids[0], ids[0] + len(ids)))
        in_window = [(item, moment) for item, moment in got if started <= moment <= ended]
        run.deliveries += len(in_window)
        run.latencies += [moment - item["at"] / 1e6 for item, moment in in_window]
    return run


#: How many clients lesson 07b measures each way with. The test that runs every notebook
#: twice sets ``WS_COURSE_FEED_CLIENTS=1,10`` to stay short (nbval runs 1, 10 and 100).
CLIENT_COUNTS = tuple(int(count) for count in os.environ.get("WS_COURSE_FEED_CLIENTS", "1,10,100").split(","))

#: Short polling's intervals (seconds); the feed's period (seconds).
INTERVALS, PERIOD = (0.1, 0.5), 0.15
#: The items each run waits for (the tests' kernels set ``WS_COURSE_FEED_ITEMS=2`` to stay short).
ITEMS = int(os.environ.get("WS_COURSE_FEED_ITEMS", "4"))


def settings(
    clients: Iterable[int] = CLIENT_COUNTS, intervals: Iterable[float] = INTERVALS, ways: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """Every way (or those of ``ways``) with every number of ``clients``, short polling at each of the ``intervals``."""
    chosen = list(WAYS) if ways is None else list(ways)
    pairs = [("short polling", interval) for interval in intervals if "short polling" in chosen]
    pairs += [(way, None) for way in chosen if way != "short polling"]
    return [
        {"way": way, "clients": count, **({"interval": interval} if interval else {})}
        for count in clients
        for way, interval in pairs
    ]


async def measure_all(url: str, feed: Feed, *, items: int = ITEMS, **kwargs: Any) -> list[Run]:
    """:func:`measure` every one of :func:`settings` (``kwargs`` go to it), one after the other."""
    return [await measure(url, feed, items=items, **setting) for setting in settings(**kwargs)]


def _numbers(text: str) -> list[float]:
    return [float(number) for number in text.split(",") if number]


def _command_line(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ws_course.measure.polling", description=__doc__.split("\n")[0])
    parser.add_argument("what", nargs="?", choices=["measure", "plot"], default="measure",
                        help="measure: print the runs as JSON; plot: read runs as JSON, write a PNG")
    parser.add_argument("--clients", default=",".join(map(str, CLIENT_COUNTS)), help="numbers of clients, 1,10,100")
    parser.add_argument("--intervals", default=",".join(map(str, INTERVALS)), help="short polling's, in seconds")
    parser.add_argument("--ways", default=",".join(WAYS), help="which ways, by name, comma-separated")
    parser.add_argument("--period", type=float, default=PERIOD, help="seconds between items, on average")
    parser.add_argument("--items", type=int, default=ITEMS, help="items each run waits for")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """``python -m ws_course.measure.polling``: start a feed, measure, print the runs as JSON."""
    from .. import start

    arguments = _command_line(argv)
    if arguments.what == "plot":
        runs = [Run(**run) for run in json.load(sys.stdin)]
        sys.stdout.buffer.write(draw_png(runs))
        return
    feed = Feed(arguments.period, at_random=True)
    with start("news_feed", name="feed-lab", feed=feed) as server:
        runs = asyncio.run(measure_all(
            server.page_url, feed, items=arguments.items, clients=[int(n) for n in _numbers(arguments.clients)],
            intervals=_numbers(arguments.intervals), ways=arguments.ways.split(","),
        ))
    json.dump([dataclasses.asdict(run) for run in runs], sys.stdout)


def _in_a_process(*arguments: str, given: bytes = b"") -> bytes:
    """Run ``python -m ws_course.measure.polling`` with ``arguments``, speaking the notebook's language; its output."""
    speaking = {**os.environ, ENVIRONMENT_VARIABLE: language()}  # the plot's words are chosen in that process
    process = subprocess.run([sys.executable, "-m", __name__, *arguments], input=given, capture_output=True,
                             env=speaking)
    if process.returncode:
        raise RuntimeError(f"python -m {__name__} {' '.join(arguments)} failed:\n{process.stderr.decode()}")
    return process.stdout


async def measure_in_a_process(
    clients: Iterable[int] = CLIENT_COUNTS, intervals: Iterable[float] = INTERVALS, ways: Iterable[str] | None = None,
    *, period: float = PERIOD, items: int = ITEMS,
) -> list[Run]:
    """Measure in another process (a feed of its own, publishing at random every ``period`` s on average).

    The same as :func:`measure_all`, but the server, the meter and the clients are
    another process's: its memory goes back to the system when it ends, and a
    kernel that awaits this stays free to run everything else meanwhile.
    """
    arguments = ["measure", "--clients", ",".join(map(str, clients)), "--intervals", ",".join(map(str, intervals)),
                 "--ways", ",".join(WAYS if ways is None else ways), "--period", str(period), "--items", str(items)]
    output = await asyncio.to_thread(_in_a_process, *arguments)
    return [Run(**run) for run in json.loads(output)]


# -- showing runs ---------------------------------------------------------------------------

def plot(runs: list[Run]) -> Image:
    """Three plots: bytes per item, traffic as the clients grow, latency as the clients grow.

    Drawn by ``python -m ws_course.measure.polling plot``, in a process of its own:
    matplotlib and its fonts never load into the kernel.
    """
    given = json.dumps([dataclasses.asdict(run) for run in runs]).encode()
    return Image(data=_in_a_process("plot", given=given), format="png")


if __name__ == "__main__":
    main()

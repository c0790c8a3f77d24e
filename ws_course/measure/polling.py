"""Measure the four ways of following the news feed: requests, bytes, latency (lesson 07).

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
per item.

:func:`plot`, :func:`table` and :func:`conclusions` show a list of runs.
"""

from __future__ import annotations

import asyncio
import html
import io
import os
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from IPython.display import HTML, Image

from ..news_feed import Feed
from .feed_clients import WAYS
from .meter import Meter

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
    follow = WAYS[way]
    options = {"interval": interval} if way == "short polling" else {}
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


#: How many clients lesson 07 measures each way with. The test that runs every notebook
#: twice sets ``WS_COURSE_FEED_CLIENTS=1,10`` to stay short (nbval runs 1, 10 and 100).
CLIENT_COUNTS = tuple(int(count) for count in os.environ.get("WS_COURSE_FEED_CLIENTS", "1,10,100").split(","))


def settings(clients: Iterable[int] = CLIENT_COUNTS, intervals: Iterable[float] = (0.1, 1.0)) -> list[dict[str, Any]]:
    """Every way with every number of ``clients``, short polling at each of the ``intervals``."""
    ways = [("short polling", interval) for interval in intervals]
    ways += [(way, None) for way in ("long-polling", "Server-Sent Events", "WebSocket")]
    return [
        {"way": way, "clients": count, **({"interval": interval} if interval else {})}
        for count in clients
        for way, interval in ways
    ]


async def measure_all(url: str, feed: Feed, *, items: int = 3, **kwargs: Any) -> list[Run]:
    """:func:`measure` every one of :func:`settings` (``kwargs`` go to it), one after the other."""
    return [await measure(url, feed, items=items, **setting) for setting in settings(**kwargs)]


# -- showing runs ---------------------------------------------------------------------------

#: A colour for each way (short polling's intervals share one, in two shades).
COLOURS = {"long-polling": "#e69f00", "Server-Sent Events": "#009e73", "WebSocket": "#0072b2"}
POLLING_SHADES = ["#cc79a7", "#882255", "#d55e00"]


def _colour(label: str, labels: list[str]) -> str:
    if label in COLOURS:
        return COLOURS[label]
    polling = [other for other in labels if other not in COLOURS]
    return POLLING_SHADES[polling.index(label) % len(POLLING_SHADES)]


def _short(label: str) -> str:
    return label.replace(", ", ",\n").replace("Server-Sent Events", "Server-Sent\nEvents")


def plot(runs: list[Run]) -> Image:
    """Three plots: bytes per item, traffic as the clients grow, latency as the clients grow."""
    from matplotlib.figure import (
        Figure,  # no pyplot: nothing global, nothing shown twice
    )

    labels = list(dict.fromkeys(run.label for run in runs))
    counts = sorted({run.clients for run in runs})
    middle = counts[len(counts) // 2]
    figure = Figure(figsize=(14, 4.2), layout="constrained")
    per_item, traffic, latency = figure.subplots(1, 3)

    at_middle = {run.label: run for run in runs if run.clients == middle}
    positions = range(len(labels))
    highest = max(max(run.up_per_item, run.down_per_item) for run in at_middle.values())
    for offset, direction, hatch in ((-0.2, "up", "//"), (0.2, "down", "")):
        values = [getattr(at_middle[label], f"{direction}_per_item") for label in labels]
        bars = per_item.bar([p + offset for p in positions], values, width=0.4, hatch=hatch,
                            color=[_colour(label, labels) for label in labels], edgecolor="black")
        per_item.bar_label(bars, labels=[f"{value:.0f}" for value in values], fontsize=7)
    per_item.set_yscale("symlog", linthresh=10)  # logarithmic, but 0 stays 0
    per_item.set_ylim(0, highest * 2)  # room for the labels
    per_item.set_xticks(list(positions), [_short(label) for label in labels], fontsize=7)
    per_item.set_title(f"Bytes per item, {middle} clients (hatched: up)")
    per_item.set_ylabel("bytes")

    for label in labels:
        mine = sorted((run for run in runs if run.label == label), key=lambda run: run.clients)
        x = [run.clients for run in mine]
        colour = _colour(label, labels)
        traffic.plot(x, [run.bytes_per_second for run in mine], "o-", color=colour, label=label)
        latency.plot(x, [run.median * 1000 for run in mine], "o-", color=colour)
        latency.plot(x, [run.worst * 1000 for run in mine], "v--", color=colour, alpha=0.6)
    for axes in (traffic, latency):
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xticks(counts, [str(count) for count in counts])
        axes.set_xlabel("clients")
    traffic.set_title("Traffic while following, both ways")
    traffic.set_ylabel("bytes per second")
    traffic.legend(fontsize=7, loc="lower right")
    latency.set_title("Latency (solid: median, dashed: worst)")
    latency.set_ylabel("milliseconds from publication to receipt")

    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=80)
    return Image(data=png.getvalue(), format="png")


def measured(value: str) -> str:
    """A measured value in HTML: marked, so that comparisons of stored outputs can mask it."""
    return f'<span class="measured">{html.escape(value)}</span>'


def table(runs: list[Run]) -> HTML:
    """Every run's numbers, one row each."""
    head = ("way", "clients", "requests per item", "bytes up per item", "bytes down per item",
            "bytes to connect, per client", "latency median", "latency worst")
    rows = []
    for run in runs:
        cells = [
            html.escape(run.label), str(run.clients),
            measured(f"{run.requests_per_item:.2f}"), measured(f"{run.up_per_item:,.0f}"),
            measured(f"{run.down_per_item:,.0f}"),
            measured(f"{(run.connect_up + run.connect_down) / run.clients:,.0f}"),
            measured(f"{run.median * 1000:.1f} ms"), measured(f"{run.worst * 1000:.1f} ms"),
        ]
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    header = "<tr>" + "".join(f"<th>{name}</th>" for name in head) + "</tr>"
    return HTML(f"<table><thead>{header}</thead><tbody>{''.join(rows)}</tbody></table>")


def conclusions(runs: list[Run]) -> HTML:
    """What these runs show, in sentences whose numbers are the measured ones."""
    at = {(run.label, run.clients): run for run in runs}
    counts = sorted({run.clients for run in runs})
    middle, most = counts[len(counts) // 2], counts[-1]
    polling = [label for label in dict.fromkeys(run.label for run in runs) if label.startswith("short polling")]
    fast, slow = polling[0], polling[-1]
    poll, websocket = at[(fast, middle)], at[("WebSocket", middle)]
    events, long_poll = at[("Server-Sent Events", middle)], at[("long-polling", middle)]
    crowd, crowd_websocket = at[(fast, most)], at[("WebSocket", most)]

    asked = crowd.clients / crowd.interval  # requests a second, if every client polled on time
    keeping_up = ""  # a measured clause, marked even when empty: it depends on the machine
    if crowd.requests / crowd.seconds < 0.8 * asked:
        keeping_up = (f" (asked for {asked:,.0f}: the server, the meter and the clients, all in this "
                      "process, could not keep up, and the news waited longer)")
    keeping_up = measured(keeping_up)

    def per_item(run: Run) -> float:
        return run.up_per_item + run.down_per_item

    def ms(seconds: float) -> str:
        return measured(f"{seconds * 1000:.1f} ms")

    lines = [
        f"With {middle} clients, each item cost, for each client: {fast}, {measured(f'{per_item(poll):,.0f}')} "
        f"bytes on the wire "
        f"({measured(f'{poll.requests_per_item:.1f}')} requests, most of them answered <code>[]</code>); "
        f"a WebSocket cost {measured(f'{per_item(websocket):,.0f}')}, "
        f"{measured(f'{per_item(poll) / per_item(websocket):.0f}')} times less. "
        f"Server-Sent Events cost {measured(f'{per_item(events):,.0f}')}; long-polling "
        f"{measured(f'{per_item(long_poll):,.0f}')}, with {measured(f'{long_poll.requests_per_item:.2f}')} "
        f"requests per item.",
        f"After connecting, the WebSocket and Server-Sent Events clients sent "
        f"{measured(f'{websocket.up + events.up:,}')} bytes: the server talks, and nobody asks again.",
        f"Publication to receipt, 1 client, medians: WebSocket {ms(at[('WebSocket', 1)].median)}, "
        f"Server-Sent Events {ms(at[('Server-Sent Events', 1)].median)}, "
        f"long-polling {ms(at[('long-polling', 1)].median)}; {slow} {ms(at[(slow, 1)].median)}, "
        f"and {ms(at[(slow, 1)].worst)} at worst: polling's news waits for the next poll.",
        f"With {most} clients, {fast} made the server answer "
        f"{measured(f'{crowd.requests / crowd.seconds:,.0f}')} requests a second{keeping_up}, and moved "
        f"{measured(f'{crowd.bytes_per_second / 1000:,.0f}')} kB a second; the WebSockets moved "
        f"{measured(f'{crowd_websocket.bytes_per_second / 1000:,.1f}')} kB a second for the same news. "
        f"Short polling's median latency went from {ms(at[(fast, 1)].median)} with 1 client to "
        f"{ms(crowd.median)}; the WebSocket's from {ms(at[('WebSocket', 1)].median)} to "
        f"{ms(crowd_websocket.median)}.",
    ]
    return HTML("<ul>" + "".join(f"<li>{line}</li>" for line in lines) + "</ul>")

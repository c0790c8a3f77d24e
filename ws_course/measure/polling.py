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
of the kernel). :func:`table` and :func:`conclusions` show a list of runs.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import html
import io
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

from IPython.display import HTML, Image

from ..language import ENVIRONMENT_VARIABLE, _, language, ngettext
from ..news_feed import Feed
from .feed_clients import WAYS
from .meter import Meter

def way_name(way: str) -> str:
    """A way's name (a key of :data:`~ws_course.measure.feed_clients.WAYS`) in the current language.

    The ways' own names stay English in the runs, where code looks them up
    (``run.label == "WebSocket"``); tables, plots and sentences show this.
    """
    names = {
        "short polling": _("short polling"),
        "long-polling": _("long-polling"),
        "Server-Sent Events": _("Server-Sent Events"),
    }
    return names.get(way, way)  # WebSocket is WebSocket in every language


def every(interval: float) -> str:
    """``"every 100 ms"``: short polling's ``interval`` (seconds), in the current language."""
    return _("every {milliseconds} ms").format(milliseconds=f"{interval * 1000:g}")


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
    def shown_label(self) -> str:
        """:attr:`label` in the current language, as tables, plots and sentences show it."""
        if self.interval is None:
            return way_name(self.way)
        # Translators: a way of following the feed, and how often it polls: "short polling, every 100 ms".
        return _("{way}, {every}").format(way=way_name(self.way), every=every(self.interval))

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

    received: list[list[tuple[dict[str, Any], float]]] = [[] for _client in range(clients)]
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
        ids = [item["id"] for item, _moment in got]
        run.complete &= ids == list(range(ids[0], ids[0] + len(ids)))
        in_window = [(item, moment) for item, moment in got if started <= moment <= ended]
        run.deliveries += len(in_window)
        run.latencies += [moment - item["at"] / 1e6 for item, moment in in_window]
    return run


#: How many clients lesson 07b measures each way with. The test that runs every notebook
#: twice sets ``WS_COURSE_FEED_CLIENTS=1,10`` to stay short (nbval runs 1, 10 and 100).
CLIENT_COUNTS = tuple(int(count) for count in os.environ.get("WS_COURSE_FEED_CLIENTS", "1,10,100").split(","))

#: Short polling's intervals (seconds); the feed's period (seconds); the items each run waits for.
INTERVALS, PERIOD, ITEMS = (0.1, 0.5), 0.15, 4


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
        sys.stdout.buffer.write(_draw(runs))
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

#: A colour for each way (short polling's intervals share one, in two shades).
COLOURS = {"long-polling": "#e69f00", "Server-Sent Events": "#009e73", "WebSocket": "#0072b2"}
POLLING_SHADES = ["#cc79a7", "#882255", "#d55e00"]


def _colour(label: str, labels: list[str]) -> str:
    if label in COLOURS:
        return COLOURS[label]
    polling = [other for other in labels if other not in COLOURS]
    return POLLING_SHADES[polling.index(label) % len(POLLING_SHADES)]


def _short(label: str) -> str:
    """A label on two lines or more, to fit under a bar."""
    return label.replace(", ", ",\n").replace("（", "\n（").replace("Server-Sent Events", "Server-Sent\nEvents")


def plot(runs: list[Run]) -> Image:
    """Three plots: bytes per item, traffic as the clients grow, latency as the clients grow.

    Drawn by ``python -m ws_course.measure.polling plot``, in a process of its own:
    matplotlib and its fonts never load into the kernel.
    """
    given = json.dumps([dataclasses.asdict(run) for run in runs]).encode()
    return Image(data=_in_a_process("plot", given=given), format="png")


def _draw(runs: list[Run]) -> bytes:
    """:func:`plot`'s PNG, drawn here."""
    from matplotlib.figure import (
        Figure,  # no pyplot: nothing global, nothing shown twice
    )

    from .plots import speak_in_figures

    speak_in_figures()
    labels = list(dict.fromkeys(run.label for run in runs))
    shown = {run.label: run.shown_label for run in runs}
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
    per_item.set_xticks(list(positions), [_short(shown[label]) for label in labels], fontsize=7)
    per_item.set_title(_("Bytes per item, {clients} clients (hatched: up)").format(clients=middle))
    per_item.set_ylabel(_("bytes"))

    for label in labels:
        mine = sorted((run for run in runs if run.label == label), key=lambda run: run.clients)
        x = [run.clients for run in mine]
        colour = _colour(label, labels)
        traffic.plot(x, [run.bytes_per_second for run in mine], "o-", color=colour, label=shown[label])
        latency.plot(x, [run.median * 1000 for run in mine], "o-", color=colour)
        latency.plot(x, [run.worst * 1000 for run in mine], "v--", color=colour, alpha=0.6)
    for axes in (traffic, latency):
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xticks(counts, [str(count) for count in counts])
        axes.set_xlabel(_("clients"))
    traffic.set_title(_("Traffic while following, both ways"))
    traffic.set_ylabel(_("bytes per second"))
    traffic.legend(fontsize=7, loc="lower right")
    latency.set_title(_("Latency (solid: median, dashed: worst)"))
    latency.set_ylabel(_("milliseconds from publication to receipt"))

    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=80)
    return png.getvalue()


def measured(value: str) -> str:
    """A measured value in HTML: marked, so that comparisons of stored outputs can mask it."""
    return f'<span class="measured">{html.escape(value)}</span>'


def table(runs: list[Run]) -> HTML:
    """Every run's numbers, one row each."""
    head = (_("way"), _("clients"), _("requests per item"), _("bytes up per item"), _("bytes down per item"),
            _("bytes to connect, per client"), _("latency median"), _("latency worst"))
    rows = []
    for run in runs:
        cells = [
            html.escape(run.shown_label), str(run.clients),
            measured(f"{run.requests_per_item:.2f}"), measured(f"{run.up_per_item:,.0f}"),
            measured(f"{run.down_per_item:,.0f}"),
            measured(f"{(run.connect_up + run.connect_down) / run.clients:,.0f}"),
            measured(f"{run.median * 1000:.1f} ms"), measured(f"{run.worst * 1000:.1f} ms"),
        ]
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    header = "<tr>" + "".join(f"<th>{name}</th>" for name in head) + "</tr>"
    return HTML(f"<table><thead>{header}</thead><tbody>{''.join(rows)}</tbody></table>")


def went(before: str, after: str) -> str:
    """``"went up from 1.2 ms to 3.4 ms"``, ``"went down from ..."`` or ``"stayed at 1.2 ms"``.

    ``before`` and ``after`` are numbers as they are shown (``"1.2 ms"``), and are
    compared as shown: two values that print the same "stayed", whatever digits the
    rounding hid.
    """
    if before == after:
        return _("stayed at {value}").format(value=before)
    if _value(after) > _value(before):
        return _("went up from {before} to {after}").format(before=before, after=after)
    return _("went down from {before} to {after}").format(before=before, after=after)


def _value(shown: str) -> float:
    return float(shown.split()[0].replace(",", ""))


def times_as_much(much: float, than: float) -> str:
    """``much`` against ``than`` in words: ``"6 times less"``, ``"2.5 times more"`` or ``"about as much"``."""
    if much <= 0 or than <= 0:
        return _("nothing") if much <= 0 else _("something where the other cost nothing")
    ratio = max(much, than) / min(much, than)
    if ratio < 1.1:
        return _("about as much")
    shown = f"{ratio:.1f}" if ratio < 10 else f"{ratio:.0f}"
    if much < than:
        return _("{ratio} times less").format(ratio=shown)
    return _("{ratio} times more").format(ratio=shown)


def one_poll(up: int, down: int, answer: bytes) -> str:
    """What one poll cost, from the bytes counted at the socket, and how much of it was the answer itself."""
    share = len(answer) / (up + down)
    return _("up {up} B, down {down} B: {total} B, both ways, to learn {answer}; the answer itself is {size} B, "
             "{share} of the traffic: the rest is the request's and the response's headers.").format(
                 up=up, down=down, total=up + down, answer=answer.decode(), size=len(answer),
                 share=_("less than 1%") if share < 0.01 else f"{share:.0%}")


def conclusions(runs: list[Run]) -> HTML:
    """What these runs show, in sentences whose numbers are the measured ones.

    Every word that compares (less, more, sooner, later, up, down) is chosen from
    the numbers it compares, and is marked as measured with them: another run on
    another machine may well choose the other word.
    """
    at = {(run.label, run.clients): run for run in runs}
    counts = sorted({run.clients for run in runs})
    fewest, middle, most = counts[0], counts[len(counts) // 2], counts[-1]
    polling = [label for label in dict.fromkeys(run.label for run in runs) if label.startswith("short polling")]
    fast, slow = polling[0], polling[-1]
    poll, slow_poll, websocket = at[(fast, middle)], at[(slow, middle)], at[("WebSocket", middle)]
    events, long_poll = at[(("Server-Sent Events"), middle)], at[("long-polling", middle)]
    crowd, crowd_websocket = at[(fast, most)], at[("WebSocket", most)]

    def per_item(run: Run) -> float:
        return run.up_per_item + run.down_per_item

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.1f} ms"

    def m(text: str) -> str:
        return measured(text)

    def clients(count: int) -> str:
        return ngettext("{count} client", "{count} clients", count).format(count=count)

    empty = max(0.0, 1 - 1 / poll.requests_per_item) if poll.requests_per_item else 0.0
    sent = websocket.up + events.up
    quickest = min(at[(way, fewest)].median for way in ("WebSocket", "Server-Sent Events", "long-polling"))
    lone = at[(slow, fewest)]
    asked = crowd.clients / crowd.interval  # requests a second, if every client polled on time
    answered = crowd.requests / crowd.seconds
    keeping_up = ""  # a measured clause, marked even when empty: it depends on the machine
    if answered < 0.8 * asked:
        keeping_up = _(" (asked for {asked}: the server, the meter and the clients, all in one "
                       "process, could not keep up, and the news waited longer)").format(asked=f"{asked:,.0f}")

    lines = [
        _("With {clients} clients, each item cost each client: {polling}, {polling_bytes} bytes on the wire "
          "({requests} requests, {empty} of them answered <code>[]</code>); a WebSocket cost {websocket_bytes}, "
          "{compared}. Server-Sent Events cost {events_bytes}; long-polling {long_polling_bytes}, with "
          "{long_polling_requests} requests per item.").format(
            clients=middle, polling=poll.shown_label, polling_bytes=m(f"{per_item(poll):,.0f}"),
            requests=m(f"{poll.requests_per_item:.1f}"), empty=m(f"{empty:.0%}"),
            websocket_bytes=m(f"{per_item(websocket):,.0f}"),
            compared=m(times_as_much(per_item(websocket), per_item(poll))), events_bytes=m(f"{per_item(events):,.0f}"),
            long_polling_bytes=m(f"{per_item(long_poll):,.0f}"),
            long_polling_requests=m(f"{long_poll.requests_per_item:.2f}")),
        _("After connecting, the WebSocket and Server-Sent Events clients sent {what}.").format(
            what=m(_("nothing at all: the server talked, and nobody asked again") if sent == 0
                   else _("{bytes} bytes").format(bytes=f"{sent:,}"))),
        _("{slow} instead of {fast}: {slow_bytes} bytes per item instead of {fast_bytes} ({compared}), and a median "
          "latency of {slow_median} instead of {fast_median} ({later_or_sooner}), with {clients} clients.").format(
            slow=slow_poll.shown_label.capitalize(), fast=every(poll.interval),
            slow_bytes=m(f"{per_item(slow_poll):,.0f}"), fast_bytes=m(f"{per_item(poll):,.0f}"),
            compared=m(times_as_much(per_item(slow_poll), per_item(poll))),
            slow_median=m(ms(slow_poll.median)), fast_median=m(ms(poll.median)),
            later_or_sooner=m(_("later") if slow_poll.median > poll.median else _("sooner")), clients=middle),
        _("Publication to receipt, {clients}, medians: WebSocket {websocket}, Server-Sent Events {events}, "
          "long-polling {long_polling}; {polling}: {polling_median}, and {polling_worst} at worst: {why}.").format(
            clients=clients(fewest), websocket=m(ms(at[("WebSocket", fewest)].median)),
            events=m(ms(at[("Server-Sent Events", fewest)].median)),
            long_polling=m(ms(at[("long-polling", fewest)].median)), polling=lone.shown_label,
            polling_median=m(ms(lone.median)), polling_worst=m(ms(lone.worst)),
            why=m(_("an item waits for the next poll, longer when it just missed one") if lone.median > quickest
                  else _("on this run, polling's news came no later than the others'"))),
        _("With {most} clients, {polling} made the server answer {answered} requests a second{keeping_up}, and moved "
          "{polling_kb} kB a second; the WebSockets moved {websocket_kb} kB a second for the same news. From "
          "{fewest} to {most}, short polling's median latency {polling_went}; the WebSocket's "
          "{websocket_went}.").format(
            most=most, polling=crowd.shown_label, answered=m(f"{answered:,.0f}"), keeping_up=m(keeping_up),
            polling_kb=m(f"{crowd.bytes_per_second / 1000:,.0f}"),
            websocket_kb=m(f"{crowd_websocket.bytes_per_second / 1000:,.1f}"), fewest=clients(fewest),
            polling_went=m(went(ms(at[(fast, fewest)].median), ms(crowd.median))),
            websocket_went=m(went(ms(at[("WebSocket", fewest)].median), ms(crowd_websocket.median)))),
    ]
    return HTML("<ul>" + "".join(f"<li>{line}</li>" for line in lines) + "</ul>")


if __name__ == "__main__":
    main()

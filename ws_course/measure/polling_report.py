"""What lesson 07b shows of its runs, in the notebook's language: a table, a figure and sentences.

:mod:`ws_course.measure.polling` measures; this module shows what it measured
(``from ws_course.measure.polling import table, plot, conclusions`` finds these
too). Every word here comes through :func:`ws_course.language._`, looked up when
it is shown; the runs' own labels (``"WebSocket"``, ``"short polling, every 100 ms"``)
stay English, since code looks runs up by them, and :func:`shown_label` says
them in the notebook's language.

The figure is drawn in a process of its own (``python -m ws_course.measure.polling plot``
runs :func:`draw_png`), which speaks the notebook's language: matplotlib never loads
into the kernel.
"""

from __future__ import annotations

import html
import io
from typing import Any

from IPython.display import HTML

from ..language import _, ngettext
from .plots import speak_in_figures

#: A run as :func:`ws_course.measure.polling.measure` returns it (a ``polling.Run``). Not
#: imported: ``polling`` imports this module, to offer its functions where lesson 07b finds them.
Run = Any

__all__ = ["conclusions", "draw_png", "measured", "one_poll", "shown_label", "table", "times_as_much", "way_name",
           "went"]


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


def shown_label(run: Run) -> str:
    """A run's :attr:`~ws_course.measure.polling.Run.label` in the current language, as tables, plots and sentences show it.

    The label itself stays English (``"short polling, every 100 ms"``): code looks
    runs up by it, in both editions of the lesson.
    """
    if run.interval is None:
        return way_name(run.way)
    # Translators: a way of following the feed, and how often it polls: "short polling, every 100 ms".
    return _("{way}, {every}").format(way=way_name(run.way), every=every(run.interval))


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


def draw_png(runs: list[Run]) -> bytes:
    """The figure of :func:`ws_course.measure.polling.plot`: three plots, drawn here, as PNG bytes."""
    from matplotlib.figure import (
        Figure,  # no pyplot: nothing global, nothing shown twice
    )

    speak_in_figures()  # first: with no font for Chinese, the figure speaks English
    labels = list(dict.fromkeys(run.label for run in runs))
    shown = {run.label: shown_label(run) for run in runs}
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
            html.escape(shown_label(run)), str(run.clients),
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
            clients=middle, polling=shown_label(poll), polling_bytes=m(f"{per_item(poll):,.0f}"),
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
            slow=shown_label(slow_poll).capitalize(), fast=every(poll.interval),
            slow_bytes=m(f"{per_item(slow_poll):,.0f}"), fast_bytes=m(f"{per_item(poll):,.0f}"),
            compared=m(times_as_much(per_item(slow_poll), per_item(poll))),
            slow_median=m(ms(slow_poll.median)), fast_median=m(ms(poll.median)),
            later_or_sooner=m(_("later") if slow_poll.median > poll.median else _("sooner")), clients=middle),
        _("Publication to receipt, {clients}, medians: WebSocket {websocket}, Server-Sent Events {events}, "
          "long-polling {long_polling}; {polling}: {polling_median}, and {polling_worst} at worst: {why}.").format(
            clients=clients(fewest), websocket=m(ms(at[("WebSocket", fewest)].median)),
            events=m(ms(at[("Server-Sent Events", fewest)].median)),
            long_polling=m(ms(at[("long-polling", fewest)].median)), polling=shown_label(lone),
            polling_median=m(ms(lone.median)), polling_worst=m(ms(lone.worst)),
            why=m(_("an item waits for the next poll, longer when it just missed one") if lone.median > quickest
                  else _("on this run, polling's news came no later than the others'"))),
        _("With {most} clients, {polling} made the server answer {answered} requests a second{keeping_up}, and moved "
          "{polling_kb} kB a second; the WebSockets moved {websocket_kb} kB a second for the same news. From "
          "{fewest} to {most}, short polling's median latency {polling_went}; the WebSocket's "
          "{websocket_went}.").format(
            most=most, polling=shown_label(crowd), answered=m(f"{answered:,.0f}"), keeping_up=m(keeping_up),
            polling_kb=m(f"{crowd.bytes_per_second / 1000:,.0f}"),
            websocket_kb=m(f"{crowd_websocket.bytes_per_second / 1000:,.1f}"), fewest=clients(fewest),
            polling_went=m(went(ms(at[(fast, fewest)].median), ms(crowd.median))),
            websocket_went=m(went(ms(at[("WebSocket", fewest)].median), ms(crowd_websocket.median)))),
    ]
    return HTML("<ul>" + "".join(f"<li>{line}</li>" for line in lines) + "</ul>")
